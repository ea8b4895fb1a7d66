"""The metrics aggregates: after random sequences of changes, the aggregate-backed figures
equal a raw recount for every scope, filter and grouping - before and after a refresh - and
the watermark keeps a just-changed case exact in real time."""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.enums import DepartmentKind
from civicgrid.accounts.models import Department
from civicgrid.cases import aggregates as agg
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseAggregateState, CaseAssist, CaseCohortAggregate, Category
from civicgrid.cases.tests.conftest import World

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 4, 1, 10, 0, tzinfo=TZ)
START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
LEAVES = ["MD01", "MD02", "ZA01", "ZA02", "MS01", "MS06"]
CHANNELS = ["hotline", "patrol", "camera", "resident_web"]


def _random_case(w: World, rng: random.Random, n: int, depts: list[Department | None]) -> Case:
    grid = w.d.grids[rng.randrange(len(w.d.grids))]
    received = dt.datetime(2026, 3, 1, tzinfo=TZ) + dt.timedelta(minutes=rng.randrange(31 * 24 * 60))
    closed = rng.random() < 0.6
    evaluated = closed and rng.random() < 0.6
    acked = rng.random() < 0.8
    fields: dict[str, Any] = dict(
        tracking_code=f"R{n:09d}",
        title=f"c{n}",
        description="d",
        category=Category.objects.get(code=rng.choice(LEAVES)),
        channel=rng.choice(CHANNELS),
        status=rng.choice([S.HANDLING, S.DISPATCHED, S.MERGED, S.NOT_ACCEPTED])
        if not closed
        else (S.EVALUATED if evaluated else S.CLOSED),
        grid=grid,
        area_code=rng.choice([grid.code, grid.code, w.d.district.code]),
        received_at=received,
        current_department=rng.choice(depts),
        current_handler=rng.choice([None, None, None, w.worker, w.officer]),
        reporter_phone_digest=rng.choice(["", "A", "B", "C"]),
        dispatched_at=received + dt.timedelta(minutes=5) if rng.random() < 0.8 else None,
        acknowledge_due=received + dt.timedelta(hours=4),
        acknowledged_at=received + dt.timedelta(minutes=rng.randrange(1, 3000)) if acked else None,
        close_due=received + dt.timedelta(hours=120),
        closed_at=received + dt.timedelta(minutes=rng.randrange(30, 20000)) if closed else None,
        satisfaction=rng.randint(1, 5) if evaluated else None,
        resolved=rng.random() < 0.8 if evaluated else None,
        rehandle_count=1 if rng.random() < 0.1 else 0,
    )
    return Case.objects.create(**fields)


def _mutate(w: World, rng: random.Random, case: Case, depts: list[Department | None]) -> None:
    """One change the case engine could make (re-classify, transfer, close, reopen, evaluate,
    merge, move), stamped like the services do (updated_at = now)."""
    kind = rng.choice(["close", "reopen", "evaluate", "category", "department", "merge", "move", "ack"])
    now = dt.datetime.now(tz=TZ)
    f: dict[str, Any] = {}
    if kind == "close":
        f = dict(status=S.CLOSED, closed_at=case.received_at + dt.timedelta(hours=rng.randrange(1, 300)))
    elif kind == "reopen":
        f = dict(status=S.HANDLING, closed_at=None, satisfaction=None, resolved=None, rehandle_count=1)
    elif kind == "evaluate" and case.closed_at:
        f = dict(status=S.EVALUATED, satisfaction=rng.randint(1, 5), resolved=rng.random() < 0.5)
    elif kind == "category":
        f = dict(category=Category.objects.get(code=rng.choice(LEAVES)))
    elif kind == "department":
        f = dict(current_department=rng.choice(depts))
    elif kind == "merge":
        f = dict(status=S.MERGED)
    elif kind == "move":
        grid = w.d.grids[rng.randrange(len(w.d.grids))]
        f = dict(grid=grid, area_code=grid.code)
    elif kind == "ack":
        f = dict(acknowledged_at=case.received_at + dt.timedelta(minutes=rng.randrange(1, 600)))
    Case.objects.filter(pk=case.pk).update(updated_at=now, **f)


def _users(w: World) -> list[Any]:
    return [w.leader, w.street_admin, w.worker, w.other_worker, w.chief, w.officer]


QUERIES: list[dict[str, Any]] = [
    {},
    {"category_code": "MD"},
    {"category_code": "MS01"},
    {"area_code": "150104001"},
]


def _compare_all(w: World, depts: list[Department | None], *, quick: bool = False) -> int:
    """Every user x filter x grouping (``quick``: a sample): aggregate-backed == raw. Returns
    the comparisons made."""
    done = 0
    queries = [*QUERIES, {"department_id": depts[1].pk if depts[1] else None}]
    users = _users(w)
    group_bys: tuple[str, ...] = m.GROUP_BYS
    if quick:
        queries, users, group_bys = (
            queries[:2] + queries[-1:],
            [w.leader, w.street_admin, w.worker, w.officer],
            (
                "area",
                "category",
                "department",
                "week",
            ),
        )
    periods: list[tuple[Any, Any]] = [
        (START, END),
        (dt.datetime(2026, 3, 3, 7, 30, tzinfo=TZ), dt.datetime(2026, 3, 27, 13, 0, tzinfo=TZ)),
    ]
    for user in users:
        for q in queries:
            for start, end in periods:
                got = m.case_metrics(user, start=start, end=end, **q)
                with m.raw_only():
                    want = m.case_metrics(user, start=start, end=end, **q)
                assert got == want, (user.username, q, start)
                done += 1
            for group_by in group_bys:
                got_rows = m.case_metrics_grouped(user, start=START, end=END, group_by=group_by, **q)
                with m.raw_only():
                    want_rows = m.case_metrics_grouped(user, start=START, end=END, group_by=group_by, **q)
                assert got_rows == want_rows, (user.username, q, group_by)
                done += 1
        for level in () if quick else ("community", "grid"):
            got_rows = m.case_metrics_grouped(user, start=START, end=END, group_by="area", level=level)
            with m.raw_only():
                want_rows = m.case_metrics_grouped(user, start=START, end=END, group_by="area", level=level)
            assert got_rows == want_rows
    return done


@pytest.fixture
def depts(world: World) -> list[Department | None]:
    other = Department.objects.create(
        code="urban", name="城管执法中队", kind=DepartmentKind.OTHER, area=world.d.district
    )
    return [None, world.police, other]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_keep_aggregates_equal_to_a_raw_recount(
    world: World, depts: list[Department | None], seed: int
) -> None:
    rng = random.Random(seed)
    with time_machine.travel(T0, tick=False):
        cases = [_random_case(world, rng, i, depts) for i in range(70)]
        # A case of the other street co-handled by the police: visible to the officer beyond scope.
        CaseAssist.objects.create(
            case=cases[0],
            department=world.police,
            area_code=cases[0].area_code,
            note="x",
            requested_at=T0,
            due_at=T0 + dt.timedelta(days=1),
            updated_at=T0,
        )
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        result = agg.case_aggregates_refresh()
        assert result.full and result.rows > 0  # never built: the first refresh is full
        assert agg.aggregate_recount(START, END).ok
        assert _compare_all(world, depts) > 100
    for step in range(2):
        now = T0 + dt.timedelta(hours=2 + 2 * step)
        with time_machine.travel(now, tick=False):
            for case in rng.sample(cases, 8):
                _mutate(world, rng, case, depts)
            _compare_all(world, depts, quick=True)  # exact before the refresh (dirty days read raw)
        with time_machine.travel(now + dt.timedelta(hours=1), tick=False):
            refreshed = agg.case_aggregates_refresh()
            assert not refreshed.full and refreshed.days >= 1
            recount = agg.aggregate_recount(START, END)
            assert recount.ok, [str(d) for d in recount.differences]
            assert recount.dirty_days == []  # all refreshed, the watermark has passed them
            _compare_all(world, depts, quick=step == 0)


def test_the_aggregate_rows_are_really_read(world: World, depts: list[Department | None]) -> None:
    rng = random.Random(7)
    with time_machine.travel(T0, tick=False):
        for i in range(30):
            _random_case(world, rng, i, depts)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        agg.case_aggregates_refresh(full=True)
        before = m.case_metrics(world.leader, start=START, end=END)
        # Tamper with a month row: the district's March (the month level) moves, the recount sees it.
        month = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.MONTH).first()
        assert month is not None and month.day == START
        CaseCohortAggregate.objects.filter(pk=month.pk).update(received=month.received + 5)
        assert m.case_metrics(world.leader, start=START, end=END).received == before.received + 5
        recount = agg.aggregate_recount(START, END)
        assert not recount.ok and recount.differences[0].level == CaseCohortAggregate.MONTH
        assert "received" in recount.differences[0].fields
        # Part of a month: the channel-less day rows (the street admin, days 2-30) ...
        lo, hi = START + dt.timedelta(days=1), END - dt.timedelta(days=1)
        day_rows = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.DAY, area_code="150104001")
        row = day_rows.filter(day__gt=START, day__lt=END).first()
        assert row is not None and row.channel == ""
        closed_before = m.case_metrics(world.street_admin, start=lo, end=hi).closed
        CaseCohortAggregate.objects.filter(pk=row.pk).update(closed=row.closed + 2)
        assert m.case_metrics(world.street_admin, start=lo, end=hi).closed == closed_before + 2
        assert any(d.level == CaseCohortAggregate.DAY for d in agg.aggregate_recount(START, END).differences)
        # ... and the coarse rows (with the channel) when grouping by channel.
        row = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.COARSE, day__gt=START, day__lt=END).first()
        assert row is not None
        by_channel = {
            r.key: r.received for r in m.case_metrics_grouped(world.leader, start=lo, end=hi, group_by="channel")
        }
        CaseCohortAggregate.objects.filter(pk=row.pk).update(received=row.received + 3)
        after = {r.key: r.received for r in m.case_metrics_grouped(world.leader, start=lo, end=hi, group_by="channel")}
        assert after[row.channel] == by_channel[row.channel] + 3
        assert any(d.level == CaseCohortAggregate.COARSE for d in agg.aggregate_recount(START, END).differences)
        # A refresh of everything repairs it; an incremental one would not touch a clean day.
        agg.case_aggregates_refresh(full=True)
        assert agg.aggregate_recount(START, END).ok


def test_watermark_a_just_closed_case_moves_the_numbers_at_once(world: World) -> None:
    cat = Category.objects.get(code="MD01")
    grid = world.d.grids[0]
    with time_machine.travel(T0, tick=False):
        case = Case.objects.create(
            tracking_code="W000000001",
            title="t",
            description="d",
            category=cat,
            channel="hotline",
            status=S.HANDLING,
            grid=grid,
            area_code=grid.code,
            received_at=dt.datetime(2026, 3, 10, 9, tzinfo=TZ),
        )
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        agg.case_aggregates_refresh()
        state = CaseAggregateState.objects.get(pk=1)
        assert state.watermark == T0 + dt.timedelta(minutes=20)  # lag: 10 minutes before the refresh
        assert m.case_metrics(world.leader, start=START, end=END).closed == 0
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        assert state.watermark is not None and agg.dirty_days(state.watermark) == set()
        Case.objects.filter(pk=case.pk).update(
            status=S.CLOSED, closed_at=T0 + dt.timedelta(hours=5), updated_at=T0 + dt.timedelta(hours=5)
        )
        assert agg.dirty_days(state.watermark) == {dt.date(2026, 3, 10)}
        got = m.case_metrics(world.leader, start=START, end=END)
        assert (got.received, got.closed) == (1, 1)  # at once, before any refresh
        # The stored row still says open: the figure came from the case itself.
        assert CaseCohortAggregate.objects.filter(level=0, closed=1).count() == 0
    with time_machine.travel(T0 + dt.timedelta(hours=6), tick=False):
        result = agg.case_aggregates_refresh()
        assert result.days == 1
        assert CaseCohortAggregate.objects.filter(level=0, closed=1).count() == 1
        assert CaseAggregateState.objects.get(pk=1).watermark == T0 + dt.timedelta(hours=6, minutes=-10)
        assert agg.dirty_days(T0 + dt.timedelta(hours=6, minutes=-10)) == set()
        # Idempotent: running it again changes nothing.
        rows = list(CaseCohortAggregate.objects.order_by("pk").values(*agg.KEY_FIELDS, *agg.ROW_FIELDS))
        agg.case_aggregates_refresh()
        assert list(CaseCohortAggregate.objects.order_by("pk").values(*agg.KEY_FIELDS, *agg.ROW_FIELDS)) == rows


def test_a_changed_case_makes_its_callers_later_cases_dirty(world: World) -> None:
    """Re-classifying an earlier case changes whether a later one is a repeat complaint."""
    grid = world.d.grids[0]
    md, ms = Category.objects.get(code="MD01"), Category.objects.get(code="MS01")
    with time_machine.travel(T0, tick=False):
        first = Case.objects.create(
            tracking_code="P000000001",
            title="t",
            description="d",
            category=ms,
            channel="hotline",
            grid=grid,
            area_code=grid.code,
            received_at=dt.datetime(2026, 3, 5, tzinfo=TZ),
            reporter_phone_digest="Z",
        )
        Case.objects.create(
            tracking_code="P000000002",
            title="t",
            description="d",
            category=md,
            channel="hotline",
            grid=grid,
            area_code=grid.code,
            received_at=dt.datetime(2026, 3, 20, tzinfo=TZ),
            reporter_phone_digest="Z",
        )
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        agg.case_aggregates_refresh()
        assert m.case_metrics(world.leader, start=START, end=END).repeat_complaints == 0
        Case.objects.filter(pk=first.pk).update(category=md, updated_at=T0 + dt.timedelta(hours=1))
        watermark = CaseAggregateState.objects.get(pk=1).watermark
        assert watermark is not None
        assert agg.dirty_days(watermark) == {
            dt.date(2026, 3, 5),
            dt.date(2026, 3, 20),
        }
        assert m.case_metrics(world.leader, start=START, end=END).repeat_complaints == 1


def test_metrics_recount_command(world: World) -> None:
    rng = random.Random(3)
    with time_machine.travel(T0, tick=False):
        for i in range(20):
            _random_case(world, rng, i, [None, world.police])
    out = io.StringIO()
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        with pytest.raises(SystemExit) as never:
            call_command("metrics_recount", "--from", "2026-03-01", "--to", "2026-03-31", stdout=out, stderr=out)
        assert never.value.code == 2 and "从未汇总" in out.getvalue()
        call_command("metrics_recount", "--refresh", "--from", "2026-03-01", "--to", "2026-03-31", stdout=out)
        assert "一致" in out.getvalue()
        row = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.FINE).first()
        assert row is not None
        CaseCohortAggregate.objects.filter(pk=row.pk).update(closed=row.closed + 1)
        out = io.StringIO()
        with pytest.raises(SystemExit) as failed:
            call_command("metrics_recount", "--from", "2026-03-01", "--to", "2026-03-31", stdout=out, stderr=out)
        assert failed.value.code == 1
        assert "closed" in out.getvalue() and str(row.day) in out.getvalue()
        with pytest.raises(SystemExit):
            call_command("metrics_recount", "--from", "2026-03-31", "--to", "2026-03-01", stdout=out, stderr=out)


def test_the_refresh_job_is_registered_and_the_task_runs(world: World) -> None:
    from civicgrid.cases import tasks
    from civicgrid.common.scheduler import registered_jobs

    tasks.register_periodic_jobs()
    assert tasks.AGGREGATES_JOB in {j.name for j in registered_jobs()}
    result = tasks.aggregates_refresh_task()
    assert result["full"] is True  # never built
    assert tasks.aggregates_refresh_task()["full"] is False


def test_district_metrics_read_few_statements(world: World) -> None:
    with time_machine.travel(T0, tick=False):
        agg.case_aggregates_refresh()
        with CaptureQueriesContext(connection) as ctx:
            m.case_metrics(world.leader, start=START, end=END)
        # permission + state + dirty cases + rows + raw edges/dirty + held-by-user; no N+1
        assert len(ctx.captured_queries) <= 8


def test_real_transitions_move_the_figures_at_once(world: World) -> None:
    """Through the case engine itself: a case closed right after a refresh counts as closed
    in the API at once (its updated_at makes its day dirty), and a refresh then stores it."""
    from django.test import Client

    from civicgrid.cases.enums import CaseAction as A
    from civicgrid.cases.tests.helpers import act, bring_to

    with time_machine.travel(T0, tick=False):
        case = bring_to(world, S.HANDLING)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        agg.case_aggregates_refresh()  # the watermark passes the case: its day is clean
        assert agg.dirty_days(T0 + dt.timedelta(minutes=50)) == set()
    today = T0.date()
    client = Client()
    client.force_login(world.leader)
    url = f"/api/cases/metrics/grouped?start={today}&end={today}&group_by=channel"
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        [row] = client.get(url).json()["items"]
        assert (row["received"], row["closed"]) == (1, 0)
        case = act(world, case, A.REPORT_BACK)
        case = act(world, case, A.VERIFY_PASS)
        assert case.status == S.CLOSED
        [row] = client.get(url).json()["items"]
        assert (row["received"], row["closed"]) == (1, 1)
        assert CaseCohortAggregate.objects.filter(closed=1).count() == 0  # read from the case itself
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        agg.case_aggregates_refresh()
        assert CaseCohortAggregate.objects.filter(closed=1).count() == 4  # fine, coarse, day and month rows
        assert m.case_metrics(world.leader, start=today, end=today).closed == 1
