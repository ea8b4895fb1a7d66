"""Cameras for the demo district: "探头 in all 58 communities" (the report), a demo video
platform (signing source), and the default alert rules.

Each community gets 3-6 cameras at random points inside its grids (deterministic from the
seed), named after a plausible place (小区东门, 农贸市场, 学校门口 ...): mostly bullet and
dome cameras, some AI video analytics cameras and a few IoT sensors. Most are online with a
fresh heartbeat; about 8% are offline (their last heartbeat hours ago) and 2% disabled.
Which cameras are "broken" is a function of the code (``demo_camera_alive``), so the demo
platform's stand-in (``simulate_heartbeats``, a periodic job of the embedded server) keeps
the same cameras online across restarts and lets the others go offline, as a real platform's
would.

Idempotent: cameras are keyed by code, rules by event type, the source by name; a second
run creates nothing. One audit record for the step (when it created something)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any, TextIO

import shapely
from django.db import transaction
from django.utils import timezone
from shapely.geometry import shape

from civicgrid.accounts.scope import code_range_q
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cameras import conf as camera_conf
from civicgrid.cameras.enums import CameraKind, CameraStatus
from civicgrid.cameras.models import AlertRule, Camera
from civicgrid.cameras.services import camera_heartbeat
from civicgrid.cases.models import Category, WebhookSource
from civicgrid.cases.webhooks import webhook_source_create
from civicgrid.demo import data
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

SOURCE_NAME = "yuquan-video"
SOURCE_LABEL = "玉泉区视频监控联网平台(演示)"
PER_COMMUNITY = (3, 6)
OFFLINE_SHARE = 0.08
DISABLED_SHARE = 0.02
PLACES = (
    "小区东门",
    "小区西门",
    "小区南门",
    "主干道路口",
    "农贸市场",
    "学校门口",
    "社区广场",
    "公交站",
    "停车场",
    "背街小巷",
    "商业街",
    "垃圾收集点",
    "公园入口",
    "社区服务中心",
    "消防通道",
)
KIND_WEIGHTS: list[tuple[str, float]] = [
    (CameraKind.BULLET, 0.45),
    (CameraKind.DOME, 0.30),
    (CameraKind.PANORAMIC, 0.05),
    (CameraKind.AI_VIDEO, 0.15),
    (CameraKind.IOT, 0.05),
]


@dataclass(frozen=True)
class RuleSpec:
    event_type: str
    label: str
    category: str  # "" for a rule that makes no case
    priority: str
    window: int


# Default alert rules (rules for all sources): event type -> seeded category (cases/seed.py).
RULES: tuple[RuleSpec, ...] = (
    RuleSpec("road_occupation", "占道经营", "SJ0502", "", 30),
    RuleSpec("clutter", "乱堆乱放", "SJ0102", "", 60),
    RuleSpec("fire_smoke", "火情烟雾", "ZA02", "urgent", 10),
    RuleSpec("crowd", "人员聚集", "ZA01", "high", 15),
    RuleSpec("illegal_parking", "车辆违停", "SJ0503", "", 30),
    RuleSpec("nonmotor_parking", "非机动车乱停放", "SJ0504", "low", 60),
    RuleSpec("open_burning", "露天烧烤", "SJ0505", "", 30),
    RuleSpec("waterlogging", "道路积水", "SJ0406", "high", 60),
    RuleSpec("motion", "移动侦测", "", "", 0),
    RuleSpec("video_loss", "视频信号丢失", "", "", 0),
)


def _weighted(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _w in items], weights=[w for _v, w in items], k=1)[0]


def _point_in(rng: random.Random, geom: Any) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            return round(x, 6), round(y, 6)
    c = geom.representative_point()
    return round(c.x, 6), round(c.y, 6)


def demo_camera_alive(code: str) -> bool:
    """Whether the demo platform reports this camera as alive (about 1 - OFFLINE_SHARE of
    them), decided by the code alone so it never changes between runs."""
    bucket = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16) % 10_000
    return bucket >= OFFLINE_SHARE * 10_000


def simulate_heartbeats() -> int:
    """The demo video platform's heartbeats: every alive demo camera reports in (through the
    same service as the signed endpoint). Does nothing without the demo platform."""
    source = WebhookSource.objects.filter(name=SOURCE_NAME, is_active=True).first()
    if source is None:
        return 0
    codes = [
        c
        for c in Camera.objects.filter(source=source).values_list("code", flat=True).order_by("code")
        if demo_camera_alive(c)
    ]
    size = camera_conf.heartbeat_max_batch()
    for start in range(0, len(codes), size):
        camera_heartbeat(source=source, codes=codes[start : start + size])
    return len(codes)


def ensure_rules() -> int:
    """The default rules, for all sources (existing event types are left as edited)."""
    have = set(AlertRule.objects.filter(source__isnull=True).values_list("event_type", flat=True))
    categories = {c.code: c for c in Category.objects.filter(code__in=[r.category for r in RULES if r.category])}
    new = [
        AlertRule(
            event_type=r.event_type,
            label=r.label,
            makes_case=bool(r.category),
            category=categories.get(r.category),
            priority=r.priority,
            suppression_minutes=r.window,
        )
        for r in RULES
        if r.event_type not in have and (not r.category or r.category in categories)
    ]
    AlertRule.objects.bulk_create(new)
    return len(new)


def ensure_source() -> tuple[WebhookSource, bool]:
    found = WebhookSource.objects.filter(name=SOURCE_NAME).first()
    if found is not None:
        return found, False
    # The secret is not printed: an administrator sets a known one in the admin (告警接入源).
    source, _secret = webhook_source_create(name=SOURCE_NAME, label=SOURCE_LABEL)
    return source, True


def build_cameras(*, seed: int, out: TextIO | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Cameras in every community of the demo district, the demo source and the rules."""
    now = now or timezone.now()
    rng = random.Random(f"cameras:{seed}")
    with transaction.atomic():
        source, source_created = ensure_source()
        rules = ensure_rules()
        areas = list(
            Area.objects.filter(code_range_q("code", data.DISTRICT_CODE), level=AreaLevel.GRID)
            .select_related("parent")
            .only("pk", "code", "name", "geometry", "parent__code", "parent__name")
            .order_by("code")
        )
        grids_of: dict[str, list[Area]] = {}
        for grid in areas:
            if grid.parent is not None and grid.geometry:
                grids_of.setdefault(grid.parent.code, []).append(grid)
        existing = set(Camera.objects.filter(code__startswith="YQ-").values_list("code", flat=True))
        new: list[Camera] = []
        total = 0
        for community_code in sorted(grids_of):
            grids = grids_of[community_code]
            community_name = grids[0].parent.name if grids[0].parent else ""
            count = rng.randint(*PER_COMMUNITY)
            places = rng.sample(PLACES, count)
            for n in range(1, count + 1):
                total += 1
                grid = rng.choice(grids)
                lon, lat = _point_in(rng, shape(grid.geometry))
                kind = _weighted(rng, KIND_WEIGHTS)
                code = f"YQ-{community_code[6:]}-{n:02d}"
                roll = rng.random()
                if roll < DISABLED_SHARE:
                    status, beat = CameraStatus.DISABLED, now - dt.timedelta(days=rng.randint(3, 40))
                elif not demo_camera_alive(code):
                    status, beat = CameraStatus.OFFLINE, now - dt.timedelta(minutes=rng.randint(30, 72 * 60))
                else:
                    status, beat = CameraStatus.ONLINE, now - dt.timedelta(seconds=rng.randint(0, 120))
                if code in existing:
                    continue
                place = places[n - 1]
                new.append(
                    Camera(
                        code=code,
                        name=f"{community_name}{place}",
                        kind=kind,
                        lon=lon,
                        lat=lat,
                        address=f"{community_name}{grid.name}{place}",
                        grid=grid,
                        area_code=grid.code,
                        source=source,
                        status=status,
                        status_changed_at=beat if status != CameraStatus.ONLINE else now - dt.timedelta(days=1),
                        last_heartbeat_at=beat,
                    )
                )
        Camera.objects.bulk_create(new, batch_size=1000)
        result = {
            "cameras": total,
            "created": len(new),
            "communities": len(grids_of),
            "rules": rules,
            "source": int(source_created),
        }
        if new or rules or source_created:
            audit_record(
                action=AuditAction.CREATE,
                object_type="demo.cameras",
                object_id=str(seed),
                object_repr="演示数据: 视频探头与告警规则",
                area_code=data.DISTRICT_CODE,
                changes=result,
                message=f"civicgrid demo seed={seed}",
                actor_label="civicgrid demo",
            )
    if out is not None:
        out.write(f"视频探头: {len(grids_of)} 个社区共 {total} 个 (新增 {len(new)}), 告警规则新增 {rules} 条\n")
    return result
