"""The wall screen's data and the yearly ranking with 10 000 000 cases on PostgreSQL
(``--quick``: 1 000 000), read from the metrics aggregates, vs the raw GROUP BY over the
cases table measured in the same run.

Data: a district shaped like Yuquan (8 streets x 8 communities x 8 grids = 512 grids), 12
departments, the seeded leaf categories (each routed to a department, as routing does), the
channels in a realistic mix (hotline 55%, patrol 20%, camera 10%, resident web 10%, walk-in
5%), spread evenly over two years (2024-2025): the measured year, 2025, holds half of the
cases. Generated with one INSERT ... SELECT FROM generate_series, then a full aggregate
refresh (timed).

Measured (best of 5, after one warm-up), as the leader of the district:
- district_year: ``case_metrics`` for 2025 (the wall screen's headline figures);
- ranking_by_street: ``case_metrics_grouped(group_by="area")`` for 2025 (the yearly ranking);
- screen_by_week / screen_by_category / screen_by_channel: the wall screen's breakdowns;
- raw_group_by: ``SELECT category_id, count(*), count(closed_at) FROM cases_case WHERE
  received_at in 2025 GROUP BY category_id`` (the floor of any raw approach).
Each aggregate-backed answer is checked against the same function counting the cases
(``metrics.raw_only``) once. Target: each < 500 ms and >= 10x faster than the raw GROUP BY.

    python bench/bench_dashboard_scale.py [--quick]   (or: make bench BENCH_ARGS="dashboard_scale")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LEVEL_NAMES = {0: "fine", 1: "coarse", 2: "month", 3: "day"}
CHANNEL_MIX = [("hotline", 0.55), ("patrol", 0.75), ("camera", 0.85), ("resident_web", 0.95), ("walk_in", 1.01)]


def main(quick: bool) -> dict[str, Any]:
    from pgchild import run_on_postgres

    return run_on_postgres(__file__, quick)


def build_territory() -> tuple[Any, list[str], list[int]]:
    from civicgrid.accounts.enums import DepartmentKind
    from civicgrid.accounts.models import Department
    from civicgrid.territory.enums import AreaLevel
    from civicgrid.territory.models import Area

    district = Area.objects.create(code="150104", name="玉泉区", level=AreaLevel.DISTRICT)
    grids: list[str] = []
    for s in range(1, 9):
        street = Area.objects.create(code=f"150104{s:03d}", name=f"街道{s}", level=AreaLevel.STREET, parent=district)
        for c in range(1, 9):
            community = Area.objects.create(
                code=f"{street.code}{c:03d}", name=f"社区{s}-{c}", level=AreaLevel.COMMUNITY, parent=street
            )
            new = [
                Area(code=f"{community.code}{g:02d}", name=f"网格{s}-{c}-{g}", level=AreaLevel.GRID, parent=community)
                for g in range(1, 9)
            ]
            Area.objects.bulk_create(new)
            grids += [a.code for a in new]
    depts = [
        Department.objects.create(code=f"d{i}", name=f"部门{i}", kind=DepartmentKind.OTHER, area=district).pk
        for i in range(12)
    ]
    return district, grids, depts


def load(n: int, start: dt.datetime, days: int, grids: list[str], depts: list[int]) -> dict[str, Any]:
    from bench_case_metrics import EXPRESSIONS  # type: ignore[import-not-found]
    from django.db import connection

    from civicgrid.cases.models import Case, Category

    cats = list(Category.objects.filter(parent__isnull=False).order_by("pk").values_list("pk", flat=True))
    cat_depts = [depts[i % len(depts)] for i in range(len(cats))]
    channel = "CASE " + " ".join(f"WHEN r5 < {p} THEN '{c}'" for c, p in CHANNEL_MIX) + " END"
    expressions = {
        **EXPRESSIONS,
        "tracking_code": "'S' || lpad(i::text, 9, '0')",
        "category_id": "(%(cats)s)[1 + (i %% %(ncats)s)]",
        "current_department_id": "(%(cat_depts)s)[1 + (i %% %(ncats)s)]",
        "channel": channel,
        "area_code": "(%(grids)s)[1 + ((i::bigint * 7919) %% %(ngrids)s)]",
    }
    params = {
        "cats": "ARRAY[" + ",".join(map(str, cats)) + "]",
        "cat_depts": "ARRAY[" + ",".join(map(str, cat_depts)) + "]",
        "ncats": len(cats),
        "grids": "ARRAY[" + ",".join(f"'{g}'" for g in grids) + "]",
        "ngrids": len(grids),
        "callers": n // 3,
    }
    columns, values = [], []
    for f in Case._meta.concrete_fields:
        if f.primary_key:
            continue
        col = str(f.column)
        if f.name in expressions or col in expressions:
            columns.append(col)
            values.append(expressions.get(col) or expressions[f.name])
        elif not f.null:
            columns.append(col)
            values.append("''")
    body = ", ".join((v % params).replace("%", "%%") for v in values)
    t0 = time.perf_counter()
    batch = 1_000_000
    with connection.cursor() as cur:
        for lo in range(1, n + 1, batch):
            hi = min(n, lo + batch - 1)
            cur.execute(
                f"INSERT INTO {Case._meta.db_table} ({', '.join(columns)}) SELECT {body} FROM ("
                "  SELECT i, %s::timestamptz + (i::float8 / %s) * (%s * interval '1 day') AS t0,"
                "         random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5"
                "  FROM generate_series(%s, %s) AS i) AS g",
                [start, n, days, lo, hi],
            )
            print(f"  loaded {hi} cases ({time.perf_counter() - t0:.0f} s)", flush=True)
        cur.execute(f"VACUUM ANALYZE {Case._meta.db_table}")
    return {"load_seconds": round(time.perf_counter() - t0, 1)}


def child(quick: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from civicgrid.accounts.enums import Role
    from civicgrid.cases import aggregates as agg
    from civicgrid.cases import metrics as m
    from civicgrid.testing.factories import make_user

    n = 1_000_000 if quick else 10_000_000
    district, grids, depts = build_territory()
    leader = make_user(Role.LEADER, district, username="bench-leader")
    loaded = load(n, agg.day_start(dt.date(2024, 1, 1)), 731, grids, depts)
    first_day, last_day = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    start, end = agg.day_start(first_day), agg.day_start(last_day + dt.timedelta(days=1))
    t0 = time.perf_counter()
    refresh = agg.case_aggregates_refresh(full=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE cases_casecohortaggregate")
        cur.execute(
            "SELECT level, count(*) FROM cases_casecohortaggregate WHERE day BETWEEN %s AND %s GROUP BY level",
            [first_day, last_day],
        )
        rows_in_year = {LEVEL_NAMES[lvl]: cnt for lvl, cnt in cur.fetchall()}
    refresh_s = time.perf_counter() - t0
    period = {"start": first_day, "end": last_day}

    subjects = {
        "district_year": lambda: m.case_metrics(leader, **period),
        "ranking_by_street": lambda: m.case_metrics_grouped(leader, group_by="area", **period),
        "screen_by_week": lambda: m.case_metrics_grouped(leader, group_by="week", **period),
        "screen_by_category": lambda: m.case_metrics_grouped(leader, group_by="category", **period),
        "screen_by_channel": lambda: m.case_metrics_grouped(leader, group_by="channel", **period),
    }

    def baseline() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT category_id, count(*), count(closed_at) FROM cases_case "
                "WHERE received_at >= %s AND received_at < %s GROUP BY category_id",
                [start, end],
            )
            return cur.fetchall()

    checks: dict[str, bool] = {}
    raw_ms: dict[str, float] = {}
    for name, fn in subjects.items():
        got = fn()
        t0 = time.perf_counter()
        with m.raw_only():
            want = fn()
        raw_ms[name] = round((time.perf_counter() - t0) * 1000, 1)
        checks[name] = got == want
        assert checks[name], f"{name}: aggregate-backed answer differs from the raw count"
    best = {name: float("inf") for name in [*subjects, "raw_group_by"]}
    baseline()
    for _round in range(5):
        for name, fn in [*subjects.items(), ("raw_group_by", baseline)]:
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    ms = {k: round(v * 1000, 1) for k, v in best.items()}
    speedup = {k: round(best["raw_group_by"] / best[k], 1) for k in subjects}
    year = subjects["district_year"]()
    figures = {
        "cases": n,
        "cases_in_year": year.received,
        **loaded,
        "refresh_full_seconds": round(refresh_s, 1),
        "aggregate_rows": refresh.rows,
        "aggregate_rows_in_year": rows_in_year,
        "ms": ms,
        "times_faster_than_raw_group_by": speedup,
        "raw_only_ms": raw_ms,
        "equal_to_raw_count": checks,
        "target_ms": 500,
        "target_times_faster": 10,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"dashboard scale ({n} cases, {year.received} in 2025, PostgreSQL): "
        + ", ".join(f"{k} {ms[k]} ms ({speedup[k]}x)" for k in subjects)
        + f"; raw GROUP BY {ms['raw_group_by']} ms (targets < 500 ms, >= 10x)",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
