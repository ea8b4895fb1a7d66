"""The "mine" inbox page and the case page with 1 000 000 cases on PostgreSQL (``--quick``:
100 000), server time measured in-process through Django's test client (the whole stack:
middleware, session, view, selectors, template), vs the bare SQL for the same rows:

- inbox: ``GET /cases/?box=mine`` (the view also counts every tab the user sees) vs
  ``SELECT * FROM cases_case WHERE current_handler_id = %s AND status IN (...) ORDER BY
  received_at DESC, id DESC LIMIT 25``; the selector alone (``list(selectors.inbox(user,
  "mine")[:25])``) is timed too;
- case page: ``GET /cases/<id>/`` vs ``SELECT * FROM cases_case WHERE id = %s`` plus
  ``SELECT * FROM cases_caseevent WHERE case_id = %s ORDER BY occurred_at, id``.

Data: a district of 10 streets x 10 communities x 10 grids (1000 grids, each with its grid
chief), cases generated with one INSERT ... SELECT FROM generate_series over the last year,
spread evenly over the 1000 chiefs (about 10% open, of which some overdue); the measured case
is made through the real services (intake, routing to the chief, sign-for, report-back and
failed verifications), so it has a real timeline. Rounds are interleaved; the median counts.
Target: under 50 ms server time. Runs in a child process so database settings never collide.

    python bench/bench_case_inbox.py [--quick]   (or: make bench BENCH_ARGS="case_inbox")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0
SIDE = 10  # streets per district, communities per street, grids per community


def main(quick: bool) -> dict[str, Any]:
    from pgchild import run_on_postgres

    return run_on_postgres(__file__, quick)


def _square(x0: float, y0: float, size: float) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [[[round(a, 6), round(b, 6)] for a, b in ring]]}


def build_territory() -> tuple[Any, list[Any]]:
    """District 150104: 10 streets x 10 communities x 10 grids on a lattice of 0.001° cells."""
    from civicgrid.territory import locate
    from civicgrid.territory.enums import AreaLevel
    from civicgrid.territory.models import Area, BoundaryVersion

    cell, x0, y0 = 0.001, 111.60, 40.70
    span = cell * SIDE**2  # the district: a square around the 100 x 10 grid cells
    district = Area.objects.create(
        code="150104", name="玉泉区", level=AreaLevel.DISTRICT, geometry=_square(x0, y0, span)
    )
    grids: list[Area] = []
    for s in range(SIDE):
        street = Area.objects.create(
            code=f"150104{s + 1:03d}",
            name=f"街道{s + 1}",
            level=AreaLevel.STREET,
            street_kind="street",
            parent=district,
        )
        for c in range(SIDE):
            community = Area.objects.create(
                code=f"{street.code}{c + 1:03d}", name=f"社区{s + 1}-{c + 1}", level=AreaLevel.COMMUNITY, parent=street
            )
            # Street s is column block s, community c is row c of it; its grids go along x.
            batch = [
                Area(
                    code=f"{community.code}{g + 1:02d}",
                    name=f"{community.name}第{g + 1}网格",
                    level=AreaLevel.GRID,
                    parent=community,
                    geometry=_square(x0 + (s * SIDE + g) * cell, y0 + c * cell, cell),
                    population=100,
                )
                for g in range(SIDE)
            ]
            grids.extend(Area.objects.bulk_create(batch))
    BoundaryVersion.bump()
    locate.mark_stale()
    return district, grids


def build_staff(district: Any, grids: list[Any]) -> tuple[list[Any], Any]:
    """A grid chief per grid (bulk-created, unusable passwords: the client logs in with
    force_login) and a command-centre operator."""
    from django.utils import timezone

    from civicgrid.accounts.enums import Role
    from civicgrid.accounts.models import User
    from civicgrid.territory.models import Duty, Responsibility

    now = timezone.now()
    chiefs = User.objects.bulk_create(
        [
            User(
                username=f"chief{k:04d}",
                display_name=f"网格长{k}",
                role=Role.GRID_CHIEF,
                area=grid,
                password="!",
                password_changed_at=now,
                is_active=True,
            )
            for k, grid in enumerate(grids)
        ]
    )
    Responsibility.objects.bulk_create(
        [Responsibility(user=u, duty=Duty.GRID_CHIEF, area=g) for u, g in zip(chiefs, grids, strict=True)]
    )
    operator = User.objects.create(
        username="operator",
        display_name="坐席",
        role=Role.COMMAND_OPERATOR,
        area=district,
        password="!",
        password_changed_at=now,
    )
    return chiefs, operator


# Column values of the generated rows (SQL over generate_series' i and randoms r1..r3).
# Status: 3% dispatched, 4% handling, 2% reported, 1% registered (manual queue), the rest
# closed or evaluated. Case i belongs to grid / chief (i mod 1000); received_at spreads the
# cases over the year before ``t_end`` (small i = recent).
_OPEN = "r1 < 0.10"
EXPRESSIONS = {
    "tracking_code": "'B' || lpad(i::text, 9, '0')",
    "title": "'小区门口路灯不亮'",
    "description": "'清泉街小区3号楼门口路灯连续三晚不亮, 老人夜里出行不便'",
    "category_id": "(%(cats)s)[1 + (i %% %(ncats)s)]",
    "priority": "'normal'",
    "channel": "'hotline'",
    "status": (
        "CASE WHEN r1 < 0.03 THEN 'dispatched' WHEN r1 < 0.07 THEN 'handling' WHEN r1 < 0.09 THEN 'reported' "
        "WHEN r1 < 0.10 THEN 'registered' WHEN r1 < 0.75 THEN 'evaluated' ELSE 'closed' END"
    ),
    "version": "5",
    "grid_id": "(%(grid_ids)s)[1 + (i %% %(n)s)]",
    "area_code": "(%(grid_codes)s)[1 + (i %% %(n)s)]",
    "current_tier": "'grid'",
    "current_handler_id": "CASE WHEN r1 >= 0.09 AND r1 < 0.10 THEN NULL ELSE (%(chiefs)s)[1 + (i %% %(n)s)] END",
    "current_unit_id": "(%(grid_ids)s)[1 + (i %% %(n)s)]",
    "in_manual_queue": "r1 >= 0.09 AND r1 < 0.10",
    "reporter_name": "'王先生'",
    "address": "''",
    "reporter_phone_cipher": "''",
    "reporter_phone_masked": "'138****8000'",
    "reporter_phone_digest": "md5(((i::bigint * 7919) %% 300000)::text)",
    "outcome": "CASE WHEN r1 >= 0.10 THEN 'fixed' ELSE '' END",
    "not_accepted_reason": "''",
    "satisfaction": "CASE WHEN r1 >= 0.10 AND r1 < 0.75 THEN 5 END",
    "resolved": "CASE WHEN r1 >= 0.10 AND r1 < 0.75 THEN true END",
    "received_at": "t0",
    "registered_at": "t0 + interval '2 minutes'",
    "dispatched_at": "CASE WHEN r1 >= 0.09 AND r1 < 0.10 THEN NULL ELSE t0 + interval '5 minutes' END",
    "acknowledged_at": "CASE WHEN r1 >= 0.03 AND NOT (r1 >= 0.09 AND r1 < 0.10) THEN t0 + r2 * interval '4 hours' END",
    "reported_at": "CASE WHEN r1 >= 0.07 AND NOT (r1 >= 0.09 AND r1 < 0.10) THEN t0 + interval '30 hours' END",
    "closed_at": "CASE WHEN r1 >= 0.10 THEN t0 + interval '40 hours' END",
    "evaluated_at": "CASE WHEN r1 >= 0.10 AND r1 < 0.75 THEN t0 + interval '60 hours' END",
    "overdue_at": f"CASE WHEN {_OPEN} AND r3 < 0.3 THEN t0 + interval '72 hours' END",
    "reopen_count": "0",
    "rehandle_count": "0",
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


def load_cases(n: int, grids: list[Any], chiefs: list[Any], t_end: dt.datetime) -> float:
    from django.db import connection

    from civicgrid.cases.models import Case, Category

    cats = list(Category.objects.filter(parent__isnull=False).values_list("pk", flat=True))
    params = {
        "cats": "ARRAY[" + ",".join(map(str, cats)) + "]",
        "ncats": len(cats),
        "grid_ids": "ARRAY[" + ",".join(str(g.pk) for g in grids) + "]::bigint[]",
        "grid_codes": "ARRAY[" + ",".join(f"'{g.code}'" for g in grids) + "]",
        "chiefs": "ARRAY[" + ",".join(str(u.pk) for u in chiefs) + "]::bigint[]",
        "n": len(grids),
    }
    columns, values = [], []
    for f in Case._meta.concrete_fields:
        if f.primary_key:
            continue
        col = str(f.column)
        expr = EXPRESSIONS.get(f.name) or EXPRESSIONS.get(col)
        if expr is not None:
            columns.append(col)
            values.append(expr)
        elif not f.null:
            columns.append(col)  # any other NOT NULL text column: empty
            values.append("''")
    sql = (
        f"INSERT INTO {Case._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join((v % params).replace('%', '%%') for v in values)} FROM ("
        "  SELECT i, %s::timestamptz - (i::float8 / %s) * interval '365 days' AS t0,"
        "         random() AS r1, random() AS r2, random() AS r3"
        "  FROM generate_series(1, %s) AS i) AS g"
    )
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, [t_end, n, n])
        cur.execute(f"VACUUM ANALYZE {Case._meta.db_table}")
        cur.execute("ANALYZE")  # the bulk-created users, areas and responsibilities too
    return time.perf_counter() - t0


def make_timeline_case(operator: Any, chief: Any, grid: Any) -> Any:
    """A case made through the real services: intake (routed to ``chief``), sign-for, an
    extension, then report-back / failed verification three times: a dozen events."""
    from civicgrid.cases import services
    from civicgrid.cases.enums import CaseAction as A

    ring = grid.geometry["coordinates"][0]
    lon = sum(p[0] for p in ring[:-1]) / 4
    lat = sum(p[1] for p in ring[:-1]) / 4
    case = services.case_intake(
        actor=operator,
        channel="hotline",
        data={
            "title": "楼道堆放杂物影响通行",
            "description": "3号楼2单元楼道长期堆放纸箱和旧家具, 存在消防隐患, 居民多次反映。",
            "category": "MD01",
            "lon": lon,
            "lat": lat,
            "reporter_name": "李女士",
            "reporter_phone": "13900139000",
        },
        register=True,
    )
    assert case.current_handler_id == chief.pk, (case.current_handler_id, chief.pk, case.status)
    steps: list[tuple[Any, str, dict[str, Any]]] = [
        (chief, A.ACKNOWLEDGE, {}),
        (chief, A.REQUEST_EXTENSION, {"note": "需协调物业清运", "hours": 24}),
    ]
    for k in range(3):
        steps += [
            (chief, A.REPORT_BACK, {"note": f"已第{k + 1}次清理楼道"}),
            (operator, A.VERIFY_FAIL, {"note": f"第{k + 1}次核查: 仍有杂物"}),
        ]
    for actor, action, payload in steps:
        case = services.case_transition(actor=actor, case=case, action=action, expected_version=case.version, **payload)
    return case


def child(quick: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from civicgrid.accounts.permissions import has_capability
    from civicgrid.cases import selectors, workflow
    from civicgrid.cases.enums import CaseStatus
    from civicgrid.cases.models import Case, CaseEvent
    from civicgrid.cases.views import INBOX_TABS, PAGE_SIZE

    load_before = [round(x, 2) for x in os.getloadavg()]
    call_command("migrate", verbosity=0)
    n = 100_000 if quick else 1_000_000
    rounds = 15 if quick else 40
    district, grids = build_territory()
    chiefs, operator = build_staff(district, grids)
    load_s = load_cases(n, grids, chiefs, timezone.now() - dt.timedelta(hours=1))
    user = chiefs[0]
    case = make_timeline_case(operator, user, grids[0])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    events = CaseEvent.objects.filter(case=case).count()
    mine_total = selectors.inbox(user, "mine").count()

    client = Client()
    client.force_login(user)
    inbox_url, case_url = "/cases/?box=mine", f"/cases/{case.pk}/"
    statuses = [CaseStatus.DISPATCHED, CaseStatus.HANDLING, CaseStatus.REPORTED]

    def page(url: str, must_contain: str) -> Callable[[], None]:
        def get() -> None:
            resp = client.get(url)
            assert resp.status_code == 200, (url, resp.status_code)
            assert must_contain.encode() in resp.content, (url, must_contain)

        return get

    def sql_inbox() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT * FROM cases_case WHERE current_handler_id = %s AND status IN (%s, %s, %s) "
                "ORDER BY received_at DESC, id DESC LIMIT %s",
                [user.pk, *statuses, PAGE_SIZE],
            )
            rows = cur.fetchall()
        assert len(rows) == min(PAGE_SIZE, mine_total)

    def sql_case() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT * FROM cases_case WHERE id = %s", [case.pk])
            assert cur.fetchone() is not None
            cur.execute("SELECT * FROM cases_caseevent WHERE case_id = %s ORDER BY occurred_at, id", [case.pk])
            assert len(cur.fetchall()) == events

    def selector_inbox() -> None:
        list(selectors.inbox(user, "mine")[:PAGE_SIZE])

    boxes = [box for box, _label, cap in INBOX_TABS if has_capability(user, cap)]

    def tab_counts() -> None:  # the view counts every tab the user sees
        selectors.inbox_counts(user, boxes)

    def selector_case() -> None:  # the case, its timeline and the actions allowed now
        found = selectors.case_get(user, case.pk)
        list(selectors.timeline(user, found))
        workflow.available_actions(user, found)

    subjects: dict[str, Callable[[], None]] = {
        "inbox_page": page(inbox_url, case.tracking_code),
        "inbox_selector": selector_inbox,
        "inbox_tab_counts": tab_counts,
        "inbox_sql": sql_inbox,
        "case_page": page(case_url, case.title),
        "case_selectors": selector_case,
        "case_sql": sql_case,
    }
    queries: dict[str, int] = {}
    for name, fn in subjects.items():  # warm-up (templates, plans, caches) and query counts
        fn()
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            fn()
        queries[name] = counter.count
    times: dict[str, list[float]] = {name: [] for name in subjects}
    # CPU time, which the machine's other load does not inflate: this process (Django, the
    # test client) with process_time(), and the PostgreSQL backend serving its connection
    # from /proc (clock ticks: summed over the rounds, then averaged).
    django_cpu: dict[str, float] = dict.fromkeys(subjects, 0.0)
    db_cpu: dict[str, float] = dict.fromkeys(subjects, 0.0)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = int(cur.fetchone()[0])
    for _round in range(rounds):
        for name, fn in subjects.items():
            b0, c0 = backend_cpu(backend), time.process_time()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            django_cpu[name] += time.process_time() - c0
            db_cpu[name] += backend_cpu(backend) - b0
    cpu_ms = {
        k: {
            "django": round(django_cpu[k] * 1000 / rounds, 2),
            "postgresql": round(db_cpu[k] * 1000 / rounds, 2),
            "total": round((django_cpu[k] + db_cpu[k]) * 1000 / rounds, 2),
        }
        for k in subjects
    }
    med = {k: round(statistics.median(v) * 1000, 2) for k, v in times.items()}
    best = {k: round(min(v) * 1000, 2) for k, v in times.items()}
    p90 = {k: round(sorted(v)[int(len(v) * 0.9)] * 1000, 2) for k, v in times.items()}
    figures = {
        "cases": Case.objects.count(),
        "grids": len(grids),
        "handlers": len(chiefs),
        "mine_total": mine_total,
        "page_size": PAGE_SIZE,
        "case_events": events,
        "load_seconds": round(load_s, 1),
        "rounds": rounds,
        "median_ms": med,
        "best_ms": best,
        "p90_ms": p90,
        "cpu_ms_mean": cpu_ms,
        "queries": queries,
        "inbox_page_vs_sql": round(med["inbox_page"] / med["inbox_sql"], 1),
        "inbox_selector_vs_sql": round(med["inbox_selector"] / med["inbox_sql"], 1),
        "case_page_vs_sql": round(med["case_page"] / med["case_sql"], 1),
        "case_selectors_vs_sql": round(med["case_selectors"] / med["case_sql"], 1),
        "inbox_tabs": boxes,
        "target_ms": TARGET_MS,
        "inbox_page_within_target": med["inbox_page"] < TARGET_MS,
        "case_page_within_target": med["case_page"] < TARGET_MS,
        "inbox_page_cpu_within_target": cpu_ms["inbox_page"]["total"] < TARGET_MS,
        "case_page_cpu_within_target": cpu_ms["case_page"]["total"] < TARGET_MS,
        "load_average_before": load_before,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"inbox 'mine' ({figures['cases']} cases, {mine_total} in the box, PostgreSQL): page {med['inbox_page']} ms "
        f"({queries['inbox_page']} queries) vs bare SQL {med['inbox_sql']} ms -> {figures['inbox_page_vs_sql']}x; "
        f"selector alone {med['inbox_selector']} ms -> {figures['inbox_selector_vs_sql']}x; "
        f"tab counts {med['inbox_tab_counts']} ms; CPU {cpu_ms['inbox_page']} ms (target < {TARGET_MS:.0f} ms)",
        flush=True,
    )
    print(
        f"case page ({events} events): {med['case_page']} ms ({queries['case_page']} queries) vs bare SQL "
        f"{med['case_sql']} ms -> {figures['case_page_vs_sql']}x; selectors alone {med['case_selectors']} ms; "
        f"CPU {cpu_ms['case_page']} ms (target < {TARGET_MS:.0f} ms); medians of {rounds}, load {load_before}",
        flush=True,
    )
    return figures


CLK_TCK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """utime + stime of a local PostgreSQL backend process, in seconds (clock-tick resolution)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class StatementCounter:
    """Counts SQL statements through ``connection.execute_wrapper`` (CaptureQueriesContext
    loses them: every request's ``request_started`` signal resets the queries log)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
