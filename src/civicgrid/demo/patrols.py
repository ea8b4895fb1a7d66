"""A week of patrols for the demo district's grid, area and road chiefs, written fast and
idempotently.

For each chief (a holder of a ``territory.Responsibility``) and each of the last ``DAYS`` days
(today included, up to the build time) the plan is drawn from a ``random.Random`` seeded by the
seed, the username and the day, so a rebuild plans the very same patrols. Most chiefs patrol
twice (a morning and an afternoon patrol, the demo policy's two windows); some patrol once or
not at all, some cut a patrol short (coverage below the threshold), and a few tracks are
implausible (a stretch driven at 40+ km/h) and wait for review - the older ones already
reviewed. Tracks follow the assigned roads (road chiefs) or sweep the assigned grids (a
lawn-mower path over small urban grids, a perimeter-and-cross ride over the town's large
ones), with a few metres of GPS noise, one fix every 30 s.

Every track is evaluated by the product's own code (``patrols.services._apply_facts``:
distance, coverage, flags, duty credit, the simplified map line), then patrols and points are
bulk-inserted. Each patrol's ``client_id`` is ``demo:<seed>:<YYYYMMDD>:<k>``; a day is built
once (with the patrols finished by then, for today), so running the demo again the same day
changes nothing and a later day adds the days since."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from shapely.geometry import shape

from civicgrid.accounts.scope import code_range_q
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.demo import data
from civicgrid.patrols.enums import PatrolStatus, ReviewStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy, TrackPoint, local_minute
from civicgrid.patrols.policy import PolicyResolver
from civicgrid.patrols.services import _apply_facts
from civicgrid.territory.models import Duty, Responsibility

DAYS = 7
FIX_SECONDS = 30.0
BATCH = 5000
FLUSH_PATROLS = 1000
M_PER_DEG_LAT = 111_195.0
TOWN_CODE = f"{data.DISTRICT_CODE}008"
# Demo policies: the district's "twice a day, once in the morning and once in the afternoon";
# the town's grids are square kilometres of fields and villages: a lower coverage threshold.
POLICIES = [
    {
        "area_code": data.DISTRICT_CODE,
        "times_per_day": 2,
        "windows": [{"start": "", "end": "12:00"}, {"start": "12:00", "end": ""}],
        "coverage_threshold": 0.8,
    },
    {"area_code": TOWN_CODE, "times_per_day": 2, "windows": [], "coverage_threshold": 0.15},
]
SMALL_GRID_KM2 = 0.45
WALK_MS = 1.3
RIDE_MS = 4.0


@dataclass
class _Chief:
    user_id: int
    username: str
    duty: str
    area_code: str
    targets: list[Any]  # shapely shapes in lon/lat
    geometries: list[Any]  # the GeoJSON, for the evaluation


def _m_per_deg_lon(lat: float) -> float:
    return M_PER_DEG_LAT * math.cos(math.radians(lat))


def _resample(path: list[tuple[float, float]], step_m: float) -> np.ndarray:
    """Points every ``step_m`` metres along a lon/lat polyline."""
    xy = np.asarray(path, dtype=np.float64)
    kx = _m_per_deg_lon(float(xy[:, 1].mean()))
    metres = np.column_stack([xy[:, 0] * kx, xy[:, 1] * M_PER_DEG_LAT])
    seg = np.hypot(*np.diff(metres, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(cum[-1])
    at = np.arange(0.0, total + 1e-9, step_m) if total > 0 else np.zeros(1)
    return np.column_stack([np.interp(at, cum, xy[:, 0]), np.interp(at, cum, xy[:, 1])])


def _sweep(grid: Any) -> tuple[list[tuple[float, float]], float]:
    """A path over one grid and the speed to ride it: lawn-mower rows 90 m apart over a small
    grid (walking), the perimeter 30 m inside plus a cross over a large one (e-bike)."""
    minx, miny, maxx, maxy = grid.bounds
    lat = (miny + maxy) / 2
    kx = _m_per_deg_lon(lat)
    width_m, height_m = (maxx - minx) * kx, (maxy - miny) * M_PER_DEG_LAT
    if width_m * height_m / 1e6 <= SMALL_GRID_KM2:
        rows = max(1, math.ceil((height_m - 40) / 90))
        path: list[tuple[float, float]] = []
        for i in range(rows + 1):
            y = miny + min(height_m - 20, 20 + i * (height_m - 40) / max(rows, 1)) / M_PER_DEG_LAT
            a, b = (minx + 15 / kx, maxx - 15 / kx) if i % 2 == 0 else (maxx - 15 / kx, minx + 15 / kx)
            path += [(a, y), (b, y)]
        return path, WALK_MS
    dx, dy = 30 / kx, 30 / M_PER_DEG_LAT
    x0, y0, x1, y1 = minx + dx, miny + dy, maxx - dx, maxy - dy
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [*ring, (x0, cy), (x1, cy), (cx, y1), (cx, y0)], RIDE_MS


def _route(chief: _Chief, rng: random.Random, *, share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The chief's route: lon/lat fixes every FIX_SECONDS and their seconds from the start.
    Each road or grid is walked (or ridden) in turn; the way from one to the next is not
    recorded (the phone was in a pocket), only its time. ``share`` < 1 cuts the route short."""
    pieces: list[np.ndarray] = []
    speeds: list[float] = []
    targets = list(chief.targets)
    if rng.random() < 0.5:
        targets.reverse()
    last: tuple[float, float] | None = None
    for target in targets:
        if chief.duty == Duty.ROAD_CHIEF:
            coords = [(float(x), float(y)) for line in getattr(target, "geoms", [target]) for x, y in line.coords]
            if last is not None and math.dist(last, coords[-1]) < math.dist(last, coords[0]):
                coords.reverse()
            path, speed = coords, WALK_MS
        else:
            path, speed = _sweep(target)
        piece = _resample(path, speed * FIX_SECONDS)
        pieces.append(piece)
        speeds.append(speed)
        last = (float(piece[-1, 0]), float(piece[-1, 1]))
    seconds: list[np.ndarray] = []
    t = 0.0
    for i, piece in enumerate(pieces):
        if i:
            gap_m = math.dist(pieces[i - 1][-1], piece[0]) * M_PER_DEG_LAT
            t += max(FIX_SECONDS, gap_m / speeds[i] * 1.3)
        seconds.append(t + np.arange(len(piece)) * FIX_SECONDS)
        t = float(seconds[-1][-1])
    points = np.concatenate(pieces)
    times = np.concatenate(seconds)
    if share < 1.0:
        keep = max(2, int(len(points) * share))
        points, times = points[:keep], times[:keep]
    return points, times


def _noise(rng: np.random.Generator, points: np.ndarray, metres: float = 4.0) -> np.ndarray:
    lat = float(points[:, 1].mean())
    jitter = rng.normal(0.0, metres, size=points.shape)
    jitter[:, 0] /= _m_per_deg_lon(lat)
    jitter[:, 1] /= M_PER_DEG_LAT
    return points + jitter


def _chiefs() -> list[_Chief]:
    rows = (
        Responsibility.objects.filter(code_range_q("area_code", data.DISTRICT_CODE), user__is_active=True)
        .order_by("user__username", "area__code", "road_segment__code")
        .values_list(
            "user_id", "user__username", "duty", "user__area__code", "area__geometry", "road_segment__geometry"
        )
    )
    chiefs: dict[int, _Chief] = {}
    for uid, username, duty, bound, area_geometry, road_geometry in rows:
        geometry = road_geometry if duty == Duty.ROAD_CHIEF else area_geometry
        if not geometry:
            continue
        chief = chiefs.setdefault(uid, _Chief(uid, username, duty, bound or "", [], []))
        chief.targets.append(shape(geometry))
        chief.geometries.append(geometry)
    return list(chiefs.values())


@dataclass
class _Plan:
    key: str
    start: dt.datetime
    share: float
    fast: bool
    review: str  # a decision already taken on an older flagged track ("" = none)


def _plans(chief: _Chief, day: dt.date, seed: int, tz: ZoneInfo) -> list[_Plan]:
    rng = random.Random(f"civicgrid-demo:{seed}:patrols:{chief.username}:{day.isoformat()}")
    r = rng.random()
    if r < 0.04:
        count = 0
    elif r < 0.11:
        count = 1
    else:
        count = 2
    plans = []
    for k in range(count):
        hour = rng.uniform(7.5, 10.2) if k == 0 else rng.uniform(14.5, 17.5)
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(hours=hour)
        x = rng.random()
        share = rng.uniform(0.35, 0.6) if x < 0.04 else 1.0
        fast = 0.04 <= x < 0.065
        review = ""
        if fast and rng.random() < 0.5:
            review = ReviewStatus.APPROVED if rng.random() < 0.6 else ReviewStatus.REJECTED
        plans.append(_Plan(f"demo:{seed}:{day:%Y%m%d}:{k}", start, share, fast, review))
    return plans


def build_patrols(
    *,
    seed: int,
    now: dt.datetime | None = None,
    days: int = DAYS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Insert the missing demo patrols of the last ``days`` days (those finished by ``now``)."""
    now = now or timezone.now()
    tz = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(tz).date()
    for spec in POLICIES:
        PatrolPolicy.objects.get_or_create(area_code=spec["area_code"], defaults=spec)
    chiefs = _chiefs()
    if not chiefs:
        return {"created": 0, "points": 0, "existing": 0, "flagged": 0}
    first_day = today - dt.timedelta(days=days - 1)
    existing = set(
        Patrol.objects.filter(
            worker_id__in=[c.user_id for c in chiefs], day__gte=first_day, client_id__startswith=f"demo:{seed}:"
        ).values_list("worker_id", "client_id")
    )
    # A day is built once: a later run adds only the days since (so running the demo again the
    # same day changes nothing; the next day it adds that day's patrols so far).
    built_days = {int(key.split(":")[2]) for _w, key in existing}
    resolver = PolicyResolver(data.DISTRICT_CODE)
    reviewer_label = "演示数据"
    created = points_total = flagged = 0
    pending_patrols: list[Patrol] = []
    pending_tracks: list[np.ndarray] = []
    for n, chief in enumerate(chiefs, start=1):
        threshold = resolver.for_code(chief.area_code).coverage_threshold
        patrols: list[Patrol] = []
        tracks: list[np.ndarray] = []
        for offset in range(days):
            day = first_day + dt.timedelta(days=offset)
            if int(f"{day:%Y%m%d}") in built_days:
                continue
            for plan in _plans(chief, day, seed, tz):
                if (chief.user_id, plan.key) in existing:
                    continue
                rng = random.Random(plan.key + chief.username)
                route, seconds = _route(chief, rng, share=plan.share)
                gen = np.random.default_rng(rng.randrange(2**32))
                route = _noise(gen, route)
                if plan.fast:  # the middle third driven: every third fix, 3 s apart (50+ km/h)
                    a, b = len(route) // 3, 2 * len(route) // 3
                    middle = route[a:b:3]
                    route = np.concatenate([route[:a], middle, route[b:]])
                    steps = np.concatenate(
                        [np.diff(seconds[: a + 1]), np.full(len(middle), 3.0), np.diff(seconds[b - 1 :])]
                    )
                    seconds = np.concatenate([[0.0], np.cumsum(steps)])[: len(route)]
                ended = plan.start + dt.timedelta(seconds=float(seconds[-1]) + FIX_SECONDS)
                if ended > now:
                    continue  # not walked yet: a later run adds it
                patrol = Patrol(
                    worker_id=chief.user_id,
                    duty=chief.duty,
                    area_code=chief.area_code,
                    day=day,
                    client_id=plan.key,
                    started_at=plan.start,
                    start_minute=local_minute(plan.start),
                    ended_at=ended,
                    status=PatrolStatus.ENDED,
                    created_at=plan.start,
                    updated_at=ended,
                )
                moments = [plan.start + dt.timedelta(seconds=float(s)) for s in seconds]
                track = [(m, float(x), float(y)) for m, (x, y) in zip(moments, route, strict=True)]
                kind = "line" if chief.duty == Duty.ROAD_CHIEF else "area"
                if plan.review:
                    patrol.review_status = plan.review
                _apply_facts(patrol, track, kind, chief.geometries, threshold)
                if plan.review:
                    patrol.reviewed_at = ended + dt.timedelta(hours=3)
                    patrol.review_note = (
                        f"{reviewer_label}: 电话核实为骑车巡查"
                        if plan.review == ReviewStatus.APPROVED
                        else f"{reviewer_label}: 轨迹为乘车, 不予认定"
                    )
                flagged += int(patrol.review_status == ReviewStatus.PENDING)
                patrols.append(patrol)
                tracks.append(np.column_stack([seconds, route]))
        pending_patrols += patrols
        pending_tracks += tracks
        if len(pending_patrols) >= FLUSH_PATROLS or n == len(chiefs):
            points_total += _insert(pending_patrols, pending_tracks)
            created += len(pending_patrols)
            pending_patrols, pending_tracks = [], []
        if progress and (n % 20 == 0 or n == len(chiefs)):
            progress(n, len(chiefs))
    return {"created": created, "points": points_total, "existing": len(existing), "flagged": flagged}


def _insert(patrols: list[Patrol], tracks: list[np.ndarray]) -> int:
    """Insert the patrols (bulk_create) and their fixes (one executemany per batch: a week of
    fixes is half a million rows, too many for model instances)."""
    if not patrols:
        return 0
    Patrol.objects.bulk_create(patrols, batch_size=1000)
    if any(p.pk is None for p in patrols):  # a backend without RETURNING: look the ids up
        ids = {
            (w, c): pk
            for w, c, pk in Patrol.objects.filter(client_id__in={p.client_id for p in patrols}).values_list(
                "worker_id", "client_id", "pk"
            )
        }
        for p in patrols:
            p.pk = ids[(p.worker_id, p.client_id)]
    # Table and column names come from the model; the values are parameters.
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in ("patrol_id", "recorded_at", "lon", "lat", "accuracy"))
    sql = f"INSERT INTO {qn(TrackPoint._meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (p.pk, adapt(p.started_at + dt.timedelta(seconds=float(s))), round(float(x), 6), round(float(y), 6), 5.0)
        for p, t in zip(patrols, tracks, strict=True)
        for s, x, y in t
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])
    return len(rows)


def demo_patrol_counts(seed: int) -> dict[str, int]:
    qs = Patrol.objects.filter(client_id__startswith=f"demo:{seed}:")
    return {
        "patrols": qs.count(),
        "counted": qs.filter(counts_toward_duty=True).count(),
        "flagged": qs.filter(~Q(review_status="")).count(),
    }


def build_demo_patrols(*, seed: int, out: TextIO | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """The demo builder's step: the missing patrols of the last week in one transaction, one
    audit record when anything was added, and one summary line on ``out``."""
    started = time.perf_counter()
    with transaction.atomic():
        result = build_patrols(seed=seed, now=now)
        if result["created"]:
            audit_record(
                action=AuditAction.CREATE,
                object_type="demo.patrols",
                object_id=f"{seed}",
                object_repr="演示数据: 巡查 (近7天)",
                area_code=data.DISTRICT_CODE,
                changes={k: {"before": None, "after": v} for k, v in result.items()},
                message=f"civicgrid demo seed={seed}",
                actor_label="civicgrid demo",
            )
    if out is not None:
        out.write(
            f"巡查 (近{DAYS}天): 新增 {result['created']} 次, 轨迹点 {result['points']} 个, "
            f"待核查 {result['flagged']} 次 (已有 {result['existing']} 次) ({time.perf_counter() - started:.1f}s)\n"
        )
    return result
