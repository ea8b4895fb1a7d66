"""Point-in-grid location: civicgrid.territory.locate vs raw shapely STRtree.

Builds 100 000 grid polygons (a jittered lattice of quadrilaterals that tile the plane
exactly, so shared borders and corners are real) in a throw-away SQLite database, lets
``locate()`` build its index from the database as it does in production, then measures:

- single points: ``locate(lon, lat)`` (the module function: freshness check, validation,
  border tie-break, chain lookup) vs a raw loop of
  ``tree.query(shapely.Point(lon, lat), predicate="covered_by")`` on an STRtree over the same
  polygons ("polygon covers point"; the point is the query geometry, hence covered_by);
- bulk: ``locate_many(lons, lats)`` vs raw ``tree.query(shapely.points(lons, lats),
  predicate="covered_by")``.

Ratio = our throughput / raw throughput (target >= 0.8). Rounds are interleaved and the
best round of each side counts, so machine noise hits both alike. The measurement runs in
a child process so its database settings never collide with other benchmarks.

    python bench/bench_locate.py [--quick]      (or: make bench BENCH_ARGS="locate --quick")
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main(quick: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--quick"] if quick else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line, flush=True)
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench_locate child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def _grid_rows(rows: int, cols: int, seed: int = 42) -> list[tuple[str, dict[str, Any]]]:
    """Jittered lattice: vertex (i, j) moves by up to 20% of a cell; every cell is the
    quadrilateral of its four corner vertices, so neighbours share edges exactly."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x0, y0, dx, dy = 111.50, 40.70, 0.0006, 0.0005
    jx = rng.uniform(-0.2, 0.2, size=(rows + 1, cols + 1)) * dx
    jy = rng.uniform(-0.2, 0.2, size=(rows + 1, cols + 1)) * dy
    jx[[0, -1], :] = 0
    jx[:, [0, -1]] = 0
    jy[[0, -1], :] = 0
    jy[:, [0, -1]] = 0
    vx = x0 + np.arange(cols + 1)[None, :] * dx + jx
    vy = y0 + np.arange(rows + 1)[:, None] * dy + jy
    result = []
    for r in range(rows):
        for c in range(cols):
            ring = [
                (vx[r, c], vy[r, c]),
                (vx[r, c + 1], vy[r, c + 1]),
                (vx[r + 1, c + 1], vy[r + 1, c + 1]),
                (vx[r + 1, c], vy[r + 1, c]),
                (vx[r, c], vy[r, c]),
            ]
            coords = [[round(float(x), 7), round(float(y), 7)] for x, y in ring]
            result.append((f"{r * cols + c:08d}", {"type": "Polygon", "coordinates": [coords]}))
    return result


def child(quick: bool) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="civicgrid-bench-locate-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["CIVICGRID_VAR_DIR"] = tmp
    import django

    django.setup()
    import numpy as np
    import shapely
    import shapely.geometry
    from django.core.management import call_command

    from civicgrid.territory import locate
    from civicgrid.territory.models import Area, BoundaryVersion

    rows, cols = (100, 100) if quick else (250, 400)
    n_single = 20_000 if quick else 100_000
    n_bulk = 100_000 if quick else 500_000
    rounds = 3 if quick else 5

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    district = Area.objects.create(code="150104", name="玉泉区", level="district")
    street = Area.objects.create(code="150104001", name="兴隆巷街道", level="street", parent=district)
    # 1000 grids per community (3-digit grid codes), 100 communities for 100 000 grids.
    grids = _grid_rows(rows, cols)
    communities = [
        Area.objects.create(code=f"150104001{c + 1:03d}", name=f"社区{c + 1}", level="community", parent=street)
        for c in range((len(grids) + 999) // 1000)
    ]
    batch = [
        Area(
            code=f"{communities[i // 1000].code}{i % 1000:03d}",
            name=f"网格{code}",
            level="grid",
            parent=communities[i // 1000],
            geometry=geometry,
        )
        for i, (code, geometry) in enumerate(grids)
    ]
    Area.objects.bulk_create(batch, batch_size=2000)
    BoundaryVersion.bump()
    locate.mark_stale()
    build_db = time.perf_counter() - started

    started = time.perf_counter()
    index = locate.get_index()
    build_index = time.perf_counter() - started
    assert len(index) == rows * cols, len(index)

    # The raw baseline: its own shapely objects from the same rows, in the same (code) order.
    ordered = Area.objects.filter(level="grid").order_by("code").values_list("geometry", flat=True)
    raw_geoms = np.array([shapely.geometry.shape(g) for g in ordered], dtype=object)
    tree = shapely.STRtree(raw_geoms)

    minx, miny, maxx, maxy = shapely.total_bounds(raw_geoms)
    pad_x, pad_y = (maxx - minx) * 0.03, (maxy - miny) * 0.03
    rng = np.random.default_rng(7)
    lons = rng.uniform(minx - pad_x, maxx + pad_x, n_bulk)
    lats = rng.uniform(miny - pad_y, maxy + pad_y, n_bulk)
    singles = list(zip(lons[:n_single].tolist(), lats[:n_single].tolist(), strict=True))

    # Correctness first: same answers as the raw query (lowest covering index per point).
    point_idx, tree_idx = tree.query(shapely.points(lons, lats), predicate="covered_by")
    best = np.full(n_bulk, np.iinfo(np.int64).max)
    np.minimum.at(best, point_idx, tree_idx)
    expected = np.where(best == np.iinfo(np.int64).max, -1, best)
    ours = locate.locate_many(lons, lats).index
    assert np.array_equal(ours, expected), "locate_many disagrees with the raw STRtree"
    for k in range(0, n_single, 97):
        r = locate.locate(*singles[k])
        assert (r.grid.code if r.grid else None) == (
            index.result_at(expected[k]).grid.code  # type: ignore[union-attr]
            if expected[k] >= 0
            else None
        )
    inside_share = float((expected >= 0).mean())

    def raw_single() -> None:
        query = tree.query
        point = shapely.Point
        for x, y in singles:
            query(point(x, y), predicate="covered_by")

    def our_single() -> None:
        loc = locate.locate
        for x, y in singles:
            loc(x, y)

    def raw_bulk() -> None:
        tree.query(shapely.points(lons, lats), predicate="covered_by")

    def our_bulk() -> None:
        locate.locate_many(lons, lats)

    best_times: dict[str, float] = {}
    for _ in range(rounds):
        for name, fn in (
            ("raw_single", raw_single),
            ("our_single", our_single),
            ("raw_bulk", raw_bulk),
            ("our_bulk", our_bulk),
        ):
            t = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - t
            best_times[name] = min(best_times.get(name, elapsed), elapsed)

    single_ratio = best_times["raw_single"] / best_times["our_single"]
    bulk_ratio = best_times["raw_bulk"] / best_times["our_bulk"]
    figures = {
        "grids": rows * cols,
        "single_points": n_single,
        "bulk_points": n_bulk,
        "inside_share": round(inside_share, 3),
        "build_db_s": round(build_db, 2),
        "build_index_s": round(build_index, 2),
        "single_raw_per_s": round(n_single / best_times["raw_single"]),
        "single_ours_per_s": round(n_single / best_times["our_single"]),
        "single_ratio": round(single_ratio, 3),
        "bulk_raw_per_s": round(n_bulk / best_times["raw_bulk"]),
        "bulk_ours_per_s": round(n_bulk / best_times["our_bulk"]),
        "bulk_ratio": round(bulk_ratio, 3),
        "target_ratio": 0.8,
    }
    print(
        f"grids={rows * cols} index build {build_index:.2f}s (db {build_db:.1f}s), {inside_share:.0%} of points inside"
    )
    print(
        f"single: ours {figures['single_ours_per_s']:,}/s vs raw STRtree {figures['single_raw_per_s']:,}/s "
        f"-> ratio {single_ratio:.2f} (target >= 0.8)"
    )
    print(
        f"bulk:   ours {figures['bulk_ours_per_s']:,}/s vs raw STRtree {figures['bulk_raw_per_s']:,}/s "
        f"-> ratio {bulk_ratio:.2f} (target >= 0.8)"
    )
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        sys.path.insert(0, str(ROOT / "src"))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
        result = child("--quick" in sys.argv)
        print(json.dumps(result))
    else:
        print(json.dumps(main("--quick" in sys.argv), indent=2))
