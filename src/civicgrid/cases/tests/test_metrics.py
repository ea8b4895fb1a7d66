"""Closure metrics against a hand-computed fixture; API == page == export == the recount."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import AGG_BUCKET_RATIO, AGG_EDGES, Case, Category
from civicgrid.cases.tests.conftest import World

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def at(day: int, hour: float = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, tzinfo=TZ) + dt.timedelta(hours=hour)


def mk(w: World, n: int, received: dt.datetime, *, cat: str = "MD01", grid: int = 0, **kw: Any) -> Case:
    g = w.d.grids[grid]
    return Case.objects.create(
        tracking_code=f"T{n:09d}",
        title=f"c{n}",
        description="d",
        category=Category.objects.get(code=cat),
        channel="hotline",
        status=kw.pop("status", S.HANDLING),
        grid=g,
        area_code=g.code,
        received_at=received,
        **kw,
    )


@pytest.fixture
def fixture(world: World) -> World:
    mk(
        world,
        1,
        at(2, 10),
        reporter_phone_digest="A",
        dispatched_at=at(2, 10.1),
        acknowledge_due=at(2, 14),
        acknowledged_at=at(2, 11),
        close_due=at(7, 10),
        closed_at=at(3, 10),
        status=S.EVALUATED,
        satisfaction=5,
        resolved=True,
    )
    mk(
        world,
        2,
        at(5, 8),
        reporter_phone_digest="A",
        dispatched_at=at(5, 8),
        acknowledge_due=at(5, 12),
        acknowledged_at=at(5, 14),
        close_due=at(7, 8),
        closed_at=at(10, 8),
        status=S.EVALUATED,
        satisfaction=3,
        resolved=False,
        rehandle_count=1,
    )
    mk(
        world,
        3,
        at(10, 9),
        cat="MS01",
        reporter_phone_digest="A",
        dispatched_at=at(10, 9),
        acknowledge_due=at(10, 13),
        acknowledged_at=at(10, 9.5),
    )
    mk(world, 4, at(20, 0), cat="MS06", close_due=at(25), closed_at=at(20, 2), status=S.CLOSED)
    mk(world, 5, at(3), status=S.MERGED)  # not counted
    mk(world, 6, at(4), status=S.NOT_ACCEPTED)  # not counted
    mk(world, 7, at(20, 0, month=2), reporter_phone_digest="B", grid=4)  # before the period
    mk(world, 8, at(15), reporter_phone_digest="B", grid=4)  # repeats #7 (23 days)
    mk(world, 9, at(1, 0, month=4), reporter_phone_digest="A")  # after the period
    return world


EXPECTED = {
    "received": 5,
    "closed": 3,
    "closure_rate": 0.6,
    "dispatched": 3,
    "signed_on_time": 2,
    "on_time_sign_for_rate": 0.6667,
    "closed_on_time": 2,
    "on_time_closing_rate": 0.6667,
    # From the log-scale histograms (hist_percentile); EXACT below holds percentile_cont's.
    "response_median_hours": 0.96,
    "response_p90_hours": 5.05,
    "handling_median_hours": 22.78,
    "handling_p90_hours": 96.39,
    "evaluated": 2,
    "resolved": 1,
    "satisfied": 1,
    "resolution_rate": 0.5,
    "satisfaction_rate": 0.5,
    "rehandled": 1,
    "rehandling_rate": 0.2,
    "repeat_complaints": 2,
    "repeat_complaint_rate": 0.4,
}


EXACT = {
    "response_median_hours": 1.0,
    "response_p90_hours": 5.0,  # [0.5, 1, 6]: 1 + 0.8 * 5
    "handling_median_hours": 24.0,
    "handling_p90_hours": 100.8,  # [2, 24, 120]: 24 + 0.8 * 96
}


def test_hand_computed(fixture: World) -> None:
    result = m.case_metrics(fixture.leader, start=START, end=END).as_dict()
    assert {k: result[k] for k in EXPECTED} == EXPECTED
    # The histogram estimate stays within one bucket (a factor 2**(1/3)) of percentile_cont.
    for key, exact in EXACT.items():
        assert exact / AGG_BUCKET_RATIO <= result[key] <= exact * AGG_BUCKET_RATIO
    assert result["response_median_hours"] != EXACT["response_median_hours"]  # really the histogram


def test_hist_percentile_matches_percentile_cont_on_bucket_values() -> None:
    edges = [60.0 * AGG_BUCKET_RATIO**k for k in range(AGG_EDGES)]
    values = [30.0, 100.0, 100.0, 5000.0, 90000.0]
    cum = [sum(1 for v in values if v < e) for e in edges]
    for p in (0.0, 0.5, 0.9, 1.0):
        exact = m.percentile_cont(values, p)
        got = m.hist_percentile(cum, len(values), edges, p)
        assert exact is not None and got is not None
        assert exact / AGG_BUCKET_RATIO <= got <= exact * AGG_BUCKET_RATIO, p
    assert m.hist_percentile([0] * AGG_EDGES, 0, edges, 0.5) is None
    # Beyond the last edge: the open bucket.
    assert m.hist_percentile([0] * AGG_EDGES, 1, edges, 0.5) == pytest.approx(edges[-1] * (1 + AGG_BUCKET_RATIO) / 2)


def test_filters_and_scope(fixture: World) -> None:
    street0 = fixture.d.streets[0].code
    r = m.case_metrics(fixture.leader, start=START, end=END, area_code=street0)
    assert (r.received, r.repeat_complaints) == (4, 1)
    r = m.case_metrics(fixture.leader, start=START, end=END, category_code="MS")  # top level: its children
    assert (r.received, r.closed, r.dispatched) == (2, 1, 1)
    r = m.case_metrics(fixture.leader, start=START, end=END, category_code="MD01")
    assert r.received == 3 and r.repeat_complaints == 2
    r = m.case_metrics(fixture.worker, start=START, end=END)  # community 0 only
    assert r.received == 4
    r = m.case_metrics(fixture.other_worker, start=START, end=END)
    assert r.received == 1 and r.closure_rate == 0.0
    r = m.case_metrics(fixture.leader, start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 2))
    assert r.received == 0 and r.closure_rate is None and r.response_median_hours is None


def test_bad_input(fixture: World) -> None:
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError):
        m.case_metrics(fixture.leader, start=END, end=START - dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        m.case_metrics(fixture.leader, start=START, end=END, category_code="NOPE")
    from civicgrid.testing.factories import make_user

    admin = make_user("audit_admin", fixture.d.district, username="auditor")
    with pytest.raises(PermissionDenied):
        m.case_metrics(admin, start=START, end=END)


def test_percentile_cont_matches_definition() -> None:
    assert m.percentile_cont([], 0.5) is None
    assert m.percentile_cont([3.0], 0.9) == 3.0
    assert m.percentile_cont([1, 2, 3, 4], 0.5) == 2.5
    assert m.percentile_cont([10, 0, 20, 30, 40], 0.9) == pytest.approx(36.0)


def test_api_page_export_and_recount_agree(fixture: World) -> None:
    c = Client()
    c.force_login(fixture.leader)
    api = c.get(f"/api/cases/metrics?start={START}&end={END}").json()
    assert {k: api[k] for k in EXPECTED} == EXPECTED
    page = c.get(f"/cases/metrics/?start={START}&end={END}")
    assert page.status_code == 200
    html = page.content.decode()
    for key, _label, _kind in m.METRIC_ROWS:
        assert f'data-key="{key}" data-value="{EXPECTED[key]}"' in html
    assert "metrics-chart-data" in html
    export = c.get(f"/cases/metrics/?start={START}&end={END}&format=xlsx")
    assert export.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(export.content))
    sheet = wb.worksheets[0]
    values = {row[2]: row[1] for row in sheet.iter_rows(min_row=5, values_only=True)}
    assert values == {key: EXPECTED[key] for key, _l, _k in m.METRIC_ROWS}
    weeks = {row[0]: row[1] for row in wb.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert sum(weeks.values()) == 5
    assert AuditEvent.objects.filter(action="export", object_type="cases.metrics").count() == 1
    # A raw recount from the rows themselves.
    rows = [
        c
        for c in Case.objects.all()
        if START <= c.received_at.astimezone(TZ).date() <= END and c.status not in (S.MERGED, S.NOT_ACCEPTED)
    ]
    assert len(rows) == api["received"]
    assert sum(1 for c in rows if c.closed_at) == api["closed"]


def test_api_errors(fixture: World) -> None:
    c = Client()
    c.force_login(fixture.leader)
    r = c.get(f"/api/cases/metrics?start={END}&end={START}")
    assert r.status_code == 400 and r.json()["error"]["fields"]["end"]
    assert c.get("/api/cases/metrics?start=x&end=y").status_code == 422


@pytest.mark.parametrize("group_by", m.GROUP_BYS)
def test_grouped_rows_add_up_to_the_totals(fixture: World, group_by: str) -> None:
    total = m.case_metrics(fixture.leader, start=START, end=END)
    rows = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by=group_by)
    for name in m.COUNT_FIELDS:
        assert sum(getattr(r, name) for r in rows) == getattr(total, name), name
    assert all(r.label for r in rows)


def test_grouped_keys_and_labels(fixture: World) -> None:
    d = fixture.d
    streets = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="area")
    assert [(r.key, r.received) for r in streets] == [(d.streets[0].code, 4), (d.streets[1].code, 1)]
    assert streets[0].label == d.streets[0].name and streets[0].closure_rate == 0.75
    grids = m.case_metrics_grouped(
        fixture.leader, start=START, end=END, group_by="area", area_code=d.streets[0].code, level="grid"
    )
    assert [(r.key, r.received) for r in grids] == [(d.grids[0].code, 4)]
    cats = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="category")
    assert [(r.key, r.label, r.received) for r in cats] == [("MD", "矛盾纠纷", 3), ("MS", "民生服务", 2)]
    assert cats[0].repeat_complaints == 2 and cats[0].satisfaction_rate == 0.5
    weeks = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="week")
    assert [r.key for r in weeks] == sorted(r.key for r in weeks)
    assert all(dt.date.fromisoformat(r.key).weekday() == 0 for r in weeks)
    months = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="month")
    assert [(r.key, r.received) for r in months] == [("2026-03", 5)]
    days = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="day")
    assert ("2026-03-20", 1) in [(r.key, r.received) for r in days]
    channels = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="channel")
    assert [(r.key, r.label, r.received) for r in channels] == [("hotline", "960116热线", 5)]
    depts = m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="department")
    assert [(r.key, r.received, r.open) for r in depts] == [("", 5, 2)]
    mine = m.case_metrics_grouped(fixture.worker, start=START, end=END, group_by="area")  # community 0's grids
    assert [(r.key, r.received) for r in mine] == [(d.grids[0].code, 4)]


def test_grouped_bad_input(fixture: World) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="nope")
    with pytest.raises(ValidationError):
        m.case_metrics_grouped(fixture.leader, start=START, end=END, group_by="channel", level="grid")
    c = Client()
    c.force_login(fixture.leader)
    r = c.get(f"/api/cases/metrics/grouped?start={START}&end={END}&group_by=nope")
    assert r.status_code == 400 and r.json()["error"]["fields"]["group_by"]


def test_grouped_api(fixture: World) -> None:
    c = Client()
    c.force_login(fixture.leader)
    r = c.get(f"/api/cases/metrics/grouped?start={START}&end={END}&group_by=category&area_code=")
    assert r.status_code == 200
    body = r.json()
    assert body["group_by"] == "category" and body["count"] == 2
    assert [(i["key"], i["received"], i["closed"], i["open"]) for i in body["items"]] == [
        ("MD", 3, 2, 1),
        ("MS", 2, 1, 1),
    ]
