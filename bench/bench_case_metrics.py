"""A year's closure metrics for the whole district on PostgreSQL, 1 000 000 cases
(``--quick``: 100 000): ``civicgrid.cases.metrics.case_metrics`` (scoped; counts and rates,
histogram medians and p90s, repeat complaints; read from the metrics aggregates after a full
refresh) vs the raw GROUP BY (``SELECT category_id, count(*), count(closed_at) ... GROUP BY
category_id``) over the same rows. Also: the same function forced to count the cases
(``metrics.raw_only``; must give the identical result), the full refresh's time, and the
histogram percentiles against PostgreSQL's exact percentile_cont.

Starts a throw-away PostgreSQL cluster (tools/run_tests.ThrowawayCluster), migrates it and
generates the cases with one INSERT ... SELECT FROM generate_series. Best of 5 rounds.
Target: under 300 ms. Runs in a child process so database settings never collide.

    python bench/bench_case_metrics.py [--quick]   (or: make bench BENCH_ARGS="case_metrics")
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


def main(quick: bool) -> dict[str, Any]:
    from pgchild import run_on_postgres

    return run_on_postgres(__file__, quick)


# Column values of the generated rows (SQL over generate_series' i and a few randoms).
EXPRESSIONS = {
    "tracking_code": "'B' || lpad(i::text, 9, '0')",
    "title": "'路灯不亮'",
    "description": "'小区门口路灯连续三晚不亮'",
    "category_id": "(%(cats)s)[1 + (i %% %(ncats)s)]",
    "priority": "'normal'",
    "channel": "'hotline'",
    "status": "CASE WHEN r1 < 0.987 THEN (CASE WHEN r3 < 0.75 THEN 'evaluated' ELSE 'closed' END) ELSE 'handling' END",
    "version": "5",
    "area_code": "(%(grids)s)[1 + (i %% %(ngrids)s)]",
    "current_tier": "'grid'",
    "in_manual_queue": "false",
    "reporter_name": "''",
    "address": "''",
    "reporter_phone_cipher": "''",
    "reporter_phone_masked": "''",
    "reporter_phone_digest": "md5(((i::bigint * 7919) %% %(callers)s)::text)",
    "outcome": "CASE WHEN r1 < 0.987 THEN 'fixed' ELSE '' END",
    "not_accepted_reason": "''",
    "satisfaction": "CASE WHEN r1 < 0.987 AND r3 < 0.75 THEN (CASE WHEN r2 < 0.95 THEN 5 ELSE 2 END) END",
    "resolved": "CASE WHEN r1 < 0.987 AND r3 < 0.75 THEN r2 < 0.96 END",
    "received_at": "t0",
    "registered_at": "t0 + interval '2 minutes'",
    "dispatched_at": "t0 + interval '5 minutes'",
    "acknowledged_at": "t0 + r2 * interval '5 hours'",
    "reported_at": "CASE WHEN r1 < 0.987 THEN t0 + interval '5 hours' + r3 * interval '100 hours' END",
    "closed_at": "CASE WHEN r1 < 0.987 THEN t0 + interval '6 hours' + r3 * interval '100 hours' END",
    "evaluated_at": "CASE WHEN r1 < 0.987 AND r3 < 0.75 THEN t0 + interval '200 hours' END",
    "reopen_count": "0",
    "rehandle_count": "CASE WHEN r4 < 0.02 THEN 1 ELSE 0 END",
    "extension_count": "0",
    "acknowledge_due": "t0 + interval '4 hours'",
    "handle_due": "t0 + interval '72 hours'",
    "close_due": "t0 + interval '120 hours'",
    "escalation_count": "0",
    "deadline_marks": "'{}'::jsonb",
    "is_hidden": "false",
    "created_at": "t0",
    "updated_at": "t0",
}


def load(n: int, start: dt.datetime, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """INSERT ``n`` cases spread over 365 days from ``start`` in one statement. ``overrides``
    replaces or adds column expressions (SQL over i, t0, r1..r4; ``%%`` for a modulo)."""
    from django.db import connection

    from civicgrid.cases.models import Case, Category
    from civicgrid.territory.enums import AreaLevel
    from civicgrid.territory.models import Area

    cats = list(Category.objects.filter(parent__isnull=False).values_list("pk", flat=True))
    grids = list(Area.objects.filter(level=AreaLevel.GRID).values_list("code", flat=True))
    params = {
        "cats": "ARRAY[" + ",".join(map(str, cats)) + "]",
        "ncats": len(cats),
        "grids": "ARRAY[" + ",".join(f"'{g}'" for g in grids) + "]",
        "ngrids": len(grids),
        "callers": n // 3,
    }
    expressions = {**EXPRESSIONS, **(overrides or {})}
    columns, values = [], []
    for f in Case._meta.concrete_fields:
        if f.primary_key:
            continue
        col = str(f.column)
        if f.name in expressions or col in expressions:
            columns.append(col)
            values.append(expressions.get(f.name) or expressions[str(col)])
        elif not f.null:
            columns.append(col)  # any other NOT NULL text column: empty
            values.append("''")
    sql = (
        f"INSERT INTO {Case._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join((v % params).replace('%', '%%') for v in values)} FROM ("
        "  SELECT i, %s::timestamptz + (i::float8 / %s) * interval '365 days' AS t0,"
        "         random() AS r1, random() AS r2, random() AS r3, random() AS r4"
        "  FROM generate_series(1, %s) AS i) AS g"
    )
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, [start, n, n])
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
    from civicgrid.testing.factories import build_sample_district, make_user

    n = 100_000 if quick else 1_000_000
    district = build_sample_district()
    leader = make_user(Role.LEADER, district.district, username="bench-leader")
    # A year of whole local days (the page and the API ask for dates).
    first_day = dt.date(2025, 1, 1)
    last_day = dt.date(2025, 12, 31)
    start = agg.day_start(first_day)
    end = agg.day_start(last_day + dt.timedelta(days=1))
    loaded = load(n, start)
    t0 = time.perf_counter()
    refresh = agg.case_aggregates_refresh(full=True)
    with connection.cursor() as cur:
        cur.execute("ANALYZE cases_casecohortaggregate")
    refresh_s = time.perf_counter() - t0

    def subject() -> Any:
        return m.case_metrics(leader, start=first_day, end=last_day)

    def raw_metrics() -> Any:
        with m.raw_only():
            return m.case_metrics(leader, start=first_day, end=last_day)

    def baseline() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT category_id, count(*), count(closed_at) FROM cases_case "
                "WHERE received_at >= %s AND received_at < %s GROUP BY category_id",
                [start, end],
            )
            return cur.fetchall()

    def exact_percentiles() -> dict[str, float]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - received_at)),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - received_at)),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at)),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at))"
                " FROM cases_case WHERE received_at >= %s AND received_at < %s AND status NOT IN ('merged',"
                " 'not_accepted')",  # percentile_cont skips the NULL durations
                [start, end],
            )
            row = cur.fetchone()
        keys = ("response_median_hours", "response_p90_hours", "handling_median_hours", "handling_p90_hours")
        return {k: round(v / 3600, 2) for k, v in zip(keys, row, strict=True)}

    best = {"subject": float("inf"), "baseline": float("inf")}
    subject()
    baseline()
    for _round in range(5):
        for name, fn in [("subject", subject), ("baseline", baseline)]:
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    result = subject()
    statements: list[tuple[float, str]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((round((time.perf_counter() - t) * 1000, 1), sql[:160]))

    with connection.execute_wrapper(timed):
        subject()
    t0 = time.perf_counter()
    raw = raw_metrics()
    raw_ms = round((time.perf_counter() - t0) * 1000, 1)
    assert raw == result, "aggregate-backed metrics differ from the raw count"
    exact = exact_percentiles()
    ms = {k: round(v * 1000, 1) for k, v in best.items()}
    figures = {
        "cases": n,
        **loaded,
        "refresh_full_seconds": round(refresh_s, 1),
        "aggregate_rows": refresh.rows,
        "received": result.received,
        "closure_rate": result.closure_rate,
        "case_metrics_ms": ms["subject"],
        "raw_group_by_ms": ms["baseline"],
        "ratio": round(best["subject"] / best["baseline"], 3),
        "raw_case_metrics_ms": raw_ms,
        "equal_to_raw_count": True,
        "statements": [{"ms": ms_, "sql": sql} for ms_, sql in statements],
        "percentiles_histogram": {k: getattr(result, k) for k in exact},
        "percentiles_exact": exact,
        "target_ms": 300,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"case metrics ({n} cases, one year, whole district, PostgreSQL): case_metrics {ms['subject']} ms "
        f"vs raw GROUP BY {ms['baseline']} ms: ratio {figures['ratio']}x (target < 300 ms); "
        f"raw case_metrics {raw_ms} ms; full refresh {figures['refresh_full_seconds']} s, {refresh.rows} rows",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
