"""Coverage of a day's patrols for a whole street: ``patrols.services.evaluate_patrols`` (the
set-based re-evaluation: one query for the patrols, one for all their fixes, one for the
workers' roads and grids and one for the policies, then shapely per track - distance, coverage,
speed and out-of-area flags, the simplified map line - and one bulk update) vs raw shapely on
the same geometries already in memory (per track: a line, its buffer, the intersection with the
union of the worker's roads or grids, the length or area share).

The street: 40 workers - 20 road chiefs with two ~800 m road segments each and 20 grid chiefs
with two ~300 m x 300 m grids each - with two patrols each (80 tracks), a fix every 5 s
(``--quick``: 10 s) along the roads or sweeping the grids (the demo's route generator), in a
throw-away SQLite database. Best of 5 rounds. Target: under 1 s.

    python bench/bench_patrol_coverage.py [--quick]   (or: make bench BENCH_ARGS="patrol_coverage")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0


def main(quick: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--quick"] if quick else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line, flush=True)
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench_patrol_coverage child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def child(quick: bool) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="civicgrid-bench-coverage-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["CIVICGRID_VAR_DIR"] = tmp
    import django

    django.setup()
    import random

    import numpy as np
    import shapely
    from django.core.management import call_command
    from django.utils import timezone
    from shapely.geometry import shape

    from civicgrid.accounts.enums import Role
    from civicgrid.accounts.models import User
    from civicgrid.demo import patrols as demo
    from civicgrid.patrols import geometry, services
    from civicgrid.patrols.enums import PatrolStatus
    from civicgrid.patrols.models import Patrol, TrackPoint
    from civicgrid.territory.models import Area, Duty, Responsibility, RoadSegment

    call_command("migrate", verbosity=0)
    fix_s = 10.0 if quick else 5.0
    demo.FIX_SECONDS = fix_s
    district = Area.objects.create(code="150104", name="玉泉区", level="district")
    street = Area.objects.create(code="150104001", name="兴隆巷街道", level="street", parent=district)
    community = Area.objects.create(code="150104001001", name="清泉街社区", level="community", parent=street)
    x0, y0 = 111.60, 40.76
    dx, dy = 300 / 84300, 300 / 111195  # 300 m
    grids = []
    for i in range(40):
        gx, gy = x0 + (i % 10) * dx, y0 + (i // 10) * dy
        ring = [[gx, gy], [gx + dx, gy], [gx + dx, gy + dy], [gx, gy + dy], [gx, gy]]
        grids.append(
            Area.objects.create(
                code=f"{community.code}{i + 1:02d}",
                name=f"网格{i + 1}",
                level="grid",
                parent=community,
                geometry={"type": "Polygon", "coordinates": [ring]},
            )
        )
    roads = []
    for i in range(40):
        ry = y0 + (i % 20) * dy / 2
        rx = x0 + (i // 20) * 800 / 84300
        roads.append(
            RoadSegment.objects.create(
                street=street,
                area_code=street.code,
                code=f"R{i:03d}",
                name=f"路段{i}",
                geometry={"type": "LineString", "coordinates": [[rx, ry], [rx + 800 / 84300, ry + 0.0003]]},
                length_m=800,
            )
        )
    now = timezone.now()
    workers: list[tuple[User, str, list[Any]]] = []
    for i in range(20):
        road_chief = User.objects.create(
            username=f"lz{i}", role=Role.ROAD_CHIEF, area=street, password_changed_at=now, password="!"
        )
        grid_chief = User.objects.create(
            username=f"wgz{i}", role=Role.GRID_CHIEF, area=community, password_changed_at=now, password="!"
        )
        for road in roads[2 * i : 2 * i + 2]:
            Responsibility.objects.create(user=road_chief, duty=Duty.ROAD_CHIEF, road_segment=road)
        for grid in grids[2 * i : 2 * i + 2]:
            Responsibility.objects.create(user=grid_chief, duty=Duty.GRID_CHIEF, area=grid)
        workers.append((road_chief, Duty.ROAD_CHIEF, [r.geometry for r in roads[2 * i : 2 * i + 2]]))
        workers.append((grid_chief, Duty.GRID_CHIEF, [g.geometry for g in grids[2 * i : 2 * i + 2]]))

    day_start = timezone.make_aware(dt.datetime.combine(timezone.localdate() - dt.timedelta(days=1), dt.time(8)))
    memory: list[tuple[str, np.ndarray, list[Any]]] = []  # kind, lon/lat array, targets (for the baseline)
    patrol_ids = []
    total_points = 0
    for k, (user, duty, geometries) in enumerate(workers):
        chief = demo._Chief(user.pk, user.username, duty, user.area.code, [shape(g) for g in geometries], geometries)  # type: ignore[union-attr]
        for n in range(2):
            rng = random.Random(f"{k}:{n}")
            route, seconds = demo._route(chief, rng)
            route = demo._noise(np.random.default_rng(k * 2 + n), route)
            start = day_start + dt.timedelta(hours=7 * n, minutes=k)
            patrol = Patrol.objects.create(
                worker=user,
                duty=duty,
                area_code=user.area.code,  # type: ignore[union-attr]
                day=timezone.localdate(start),
                started_at=start,
                ended_at=start + dt.timedelta(seconds=float(seconds[-1])),
                status=PatrolStatus.ENDED,
            )
            TrackPoint.objects.bulk_create(
                [
                    TrackPoint(patrol=patrol, recorded_at=start + dt.timedelta(seconds=float(s)), lon=x, lat=y)
                    for s, (x, y) in zip(seconds, route, strict=True)
                ]
            )
            patrol_ids.append(patrol.pk)
            memory.append(("line" if duty == Duty.ROAD_CHIEF else "area", route, geometries))
            total_points += len(route)

    def subject() -> list[Patrol]:
        return services.evaluate_patrols(patrol_ids)

    def baseline() -> list[float]:
        out = []
        for kind, route, geometries in memory:
            plane = geometry.LocalPlane(float(route[:, 1].mean()))
            track = shapely.linestrings(plane.xy(route))
            target = shapely.union_all([plane.shape(g) for g in geometries])
            swath = shapely.buffer(track, 30 if kind == "line" else 50)
            inter = shapely.intersection(target, swath)
            out.append(inter.length / target.length if kind == "line" else inter.area / target.area)
        return out

    subject()
    baseline()
    best = {"subject": float("inf"), "baseline": float("inf")}
    for _round in range(5):
        for name, fn in (("subject", subject), ("baseline", baseline)):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    evaluated = subject()
    raw = baseline()
    by_id = {p.pk: p for p in evaluated}
    max_diff = max(abs(by_id[pid].coverage - round(min(c, 1.0), 4)) for pid, c in zip(patrol_ids, raw, strict=True))
    counted = sum(1 for p in evaluated if p.counts_toward_duty)
    ms = {k: round(v * 1000, 1) for k, v in best.items()}
    figures = {
        "workers": len(workers),
        "patrols": len(patrol_ids),
        "points": total_points,
        "fix_seconds": fix_s,
        "evaluate_patrols_ms": ms["subject"],
        "raw_shapely_ms": ms["baseline"],
        "ratio": round(best["subject"] / best["baseline"], 2),
        "target_ms": TARGET_S * 1000,
        "meets_target": best["subject"] < TARGET_S,
        "counted": counted,
        "max_coverage_difference": round(max_diff, 4),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"patrol coverage (a street's day: {len(workers)} workers, {len(patrol_ids)} tracks, {total_points} fixes): "
        f"evaluate_patrols {ms['subject']} ms vs raw shapely {ms['baseline']} ms: ratio {figures['ratio']}x "
        f"(target < {TARGET_S * 1000:.0f} ms); {counted} counted; coverage equal to raw within {max_diff:.4f}",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
