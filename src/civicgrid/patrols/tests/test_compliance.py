"""Compliance figures: per worker and day (patrols, counted, distance, coverage, windows, met),
the missed lists, monthly totals, the page, its Excel export, the API, scope and query counts."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.common.errors import NotFound
from civicgrid.patrols import selectors
from civicgrid.patrols.models import PatrolPolicy
from civicgrid.patrols.tests.conftest import PatrolWorld, make_patrol
from civicgrid.territory.models import Duty, Responsibility
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db

WEDNESDAY = "2025-05-07T18:00:00+08:00"


@pytest.fixture
def week(world: PatrolWorld, time_machine: Any) -> PatrolWorld:
    """Policy: twice a day, one before 10:00 and one after 15:00. Today is Wed 2025-05-07.

    grid chief: Mon met; Tue two counted but none after 15:00 (missed); Wed one so far (open).
    road chief: Mon nothing (missed); Tue met; Wed met, plus a flagged track awaiting review."""
    time_machine.move_to(WEDNESDAY, tick=False)
    PatrolPolicy.objects.create(
        area_code=world.district.district.code, times_per_day=2, windows=[{"end": "10:00"}, {"start": "15:00"}]
    )
    gc, rc = world.grid_chief, world.road_chief
    make_patrol(gc, "2025-05-05 09:00", distance_m=1200, coverage=0.9)
    make_patrol(gc, "2025-05-05 16:00", distance_m=800, coverage=0.7, counts=True)
    make_patrol(gc, "2025-05-06 09:00", distance_m=1000, coverage=0.95)
    make_patrol(gc, "2025-05-06 12:00", distance_m=1000, coverage=0.85)
    make_patrol(gc, "2025-05-06 17:00", distance_m=300, coverage=0.2, counts=False)  # too little coverage
    make_patrol(gc, "2025-05-07 08:00", distance_m=900, coverage=0.9)
    make_patrol(rc, "2025-05-06 07:30", distance_m=2000, coverage=0.99)
    make_patrol(rc, "2025-05-06 15:30", distance_m=2000, coverage=0.97)
    make_patrol(rc, "2025-05-07 09:59", distance_m=1500, coverage=0.9)
    make_patrol(rc, "2025-05-07 15:00", distance_m=1500, coverage=0.8)
    make_patrol(rc, "2025-05-07 16:00", distance_m=9000, coverage=0.9, flagged=True)
    make_patrol(rc, "2025-04-30 09:00", distance_m=5000, coverage=0.9)  # last month, last week
    return world


def _leader(world: PatrolWorld) -> Any:
    return make_user(Role.LEADER, world.district.district, username="leader")


def _row(report: selectors.ComplianceReport, username: str) -> selectors.WorkerCompliance:
    return next(r for r in report.rows if r.worker.username == username)


def test_week_figures_per_worker_and_day(week: PatrolWorld) -> None:
    street = week.district.streets[0]
    report = selectors.compliance_report(_leader(week), street.code, period="week")
    assert report.period.start == dt.date(2025, 5, 5) and report.period.end == dt.date(2025, 5, 11)
    assert {r.worker.username for r in report.rows} == {"luzhang", "wanggezhang"}
    gc = _row(report, "wanggezhang")
    assert [d.state for d in gc.days] == ["met", "missed", "open"] + ["future"] * 4
    mon, tue, wed = gc.days[:3]
    assert (mon.patrols, mon.counted, mon.required, mon.distance_m) == (2, 2, 2, 2000)
    assert (mon.mean_coverage, mon.best_coverage) == (0.8, 0.9)
    assert [(w.label, w.met) for w in mon.windows] == [("10:00前", True), ("15:00后", True)]
    assert (tue.patrols, tue.counted) == (3, 2) and [w.met for w in tue.windows] == [True, False]
    assert tue.distance_km == 2.3 and tue.best_coverage == 0.95
    assert (wed.patrols, wed.counted, wed.met) == (1, 1, False)
    assert (gc.days_met, gc.days_due, gc.patrols, gc.counted, gc.distance_km) == (1, 2, 6, 5, 5.2)
    rc = _row(report, "luzhang")
    assert [d.state for d in rc.days[:3]] == ["missed", "met", "met"]
    assert rc.days[0].patrols == 0 and rc.days[0].mean_coverage is None
    wed = rc.days[2]
    assert (wed.patrols, wed.counted, wed.pending_review) == (3, 2, 1)  # 15:00 is inside "after 15:00"
    assert (rc.days_met, rc.days_due) == (2, 3)
    assert (report.days_met, report.days_due, report.met_rate) == (3, 5, 0.6)


def test_missed_today_and_this_week(week: PatrolWorld) -> None:
    report = selectors.compliance_report(_leader(week), week.district.district.code)
    assert report.period.kind == "today" and len(report.rows[0].days) == 1
    assert [m.worker.username for m in report.missed_today] == ["wanggezhang"]
    assert {m.worker.username: [d.day.isoformat() for d in m.days] for m in report.missed_week} == {
        "wanggezhang": ["2025-05-06"],
        "luzhang": ["2025-05-05"],
    }


def test_a_worker_without_any_patrol_is_a_miss(week: PatrolWorld) -> None:
    idle = make_user(Role.GRID_CHIEF, week.district.communities[0], username="idle")
    Responsibility.objects.create(user=idle, duty=Duty.GRID_CHIEF, area=week.district.grids[0])
    report = selectors.compliance_report(_leader(week), week.district.communities[0].code, period="week")
    row = _row(report, "idle")
    assert [d.state for d in row.days[:3]] == ["missed", "missed", "open"] and row.patrols == 0
    assert "idle" in {m.worker.username for m in report.missed_today}
    assert next(m for m in report.missed_week if m.worker.username == "idle").count == 2


def test_monthly_totals_for_assessment(week: PatrolWorld) -> None:
    leader = _leader(week)
    may = selectors.compliance_report(leader, week.district.district.code, period="month", month="2025-05")
    assert len(may.rows[0].days) == 31
    rc = _row(may, "luzhang")
    # 1-4 May: no patrols (missed), 5 May missed, 6-7 met; the 30 April patrol is not May's.
    assert (rc.days_met, rc.days_due, rc.patrols, rc.counted, rc.distance_km) == (2, 7, 5, 4, 16.0)
    april = selectors.compliance_report(leader, week.district.district.code, period="month", month="2025-04")
    rc = _row(april, "luzhang")
    assert (rc.days_met, rc.days_due, rc.patrols, rc.distance_km) == (0, 30, 1, 5.0)
    assert rc.days[29].counted == 1 and rc.days[29].state == "missed"  # one of two
    # The missed-this-week list is still about this week.
    assert {m.worker.username for m in april.missed_week} == {"luzhang", "wanggezhang"}


def test_the_nearest_policy_applies_per_worker(week: PatrolWorld) -> None:
    PatrolPolicy.objects.create(area_code=week.district.communities[0].code, times_per_day=1, windows=[])
    report = selectors.compliance_report(_leader(week), week.district.district.code, period="week")
    gc = _row(report, "wanggezhang")
    assert gc.policy.times_per_day == 1 and [d.state for d in gc.days[:3]] == ["met", "met", "met"]
    assert [d.state for d in _row(report, "luzhang").days[:3]] == ["missed", "met", "met"]


def test_bad_periods_are_refused_with_a_message(week: PatrolWorld) -> None:
    leader = _leader(week)
    for period, month in (("year", None), ("month", "2025-13"), ("month", "2030-01"), ("month", "2019-01")):
        with pytest.raises(ValidationError):
            selectors.compliance_report(leader, week.district.district.code, period=period, month=month)
    with pytest.raises(NotFound):
        selectors.compliance_report(leader, "999999", period="week")


def test_scope_a_community_sees_only_its_own(week: PatrolWorld, client: Client) -> None:
    own = make_user(Role.COMMUNITY_WORKER, week.district.communities[0], username="sq0")
    other = make_user(Role.COMMUNITY_WORKER, week.district.communities[1], username="sq1")
    report = selectors.compliance_report(own, week.district.communities[0].code, period="week")
    assert [r.worker.username for r in report.rows] == ["wanggezhang"]
    with pytest.raises(NotFound):
        selectors.compliance_report(own, week.district.streets[0].code)
    assert selectors.compliance_report(other, week.district.communities[1].code).rows == []
    client.force_login(other)
    assert client.get(f"/patrols/compliance/{week.district.communities[0].code}/").status_code == 404
    r = client.get("/api/patrols/compliance", {"area": week.district.communities[0].code})
    assert r.status_code == 404
    chief = week.grid_chief
    client.force_login(chief)
    assert client.get(f"/patrols/compliance/{week.district.communities[0].code}/").status_code == 403


def test_the_page_shows_the_figures_and_links_down(week: PatrolWorld, client: Client) -> None:
    street = week.district.streets[0]
    client.force_login(make_user(Role.STREET_ADMIN, street, username="jd"))
    r = client.get("/patrols/compliance/")
    assert r.status_code == 302 and r["Location"] == f"/patrols/compliance/{street.code}/"
    html = client.get(f"/patrols/compliance/{street.code}/?period=week").content.decode()
    assert "巡查考核" in html and "本周未达标" in html and "今日未达标" in html
    for community in week.district.communities[:2]:
        assert f"/patrols/compliance/{community.code}/" in html
    assert 'data-username="luzhang"' in html and "2/2" in html
    assert f"/api/patrols/tracks?area={street.code}" in html
    bad = client.get(f"/patrols/compliance/{street.code}/?period=month&month=2025-99")
    assert bad.status_code == 400 and "月份格式应为" in bad.content.decode()


def test_excel_export_has_the_same_numbers_as_the_page(week: PatrolWorld, client: Client) -> None:
    from openpyxl import load_workbook

    leader = _leader(week)
    client.force_login(leader)
    code = week.district.district.code
    r = client.get(f"/patrols/compliance/{code}/", {"period": "week", "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["汇总", "每日明细", "今日未达标", "本周未达标"]
    report = selectors.compliance_report(leader, code, period="week")
    totals = list(wb["汇总"].iter_rows(min_row=4, values_only=True))
    assert [(t[0], t[5], t[6], t[8], t[9], t[10]) for t in totals] == [
        (row.worker.username, row.days_met, row.days_due, row.patrols, row.counted, row.distance_km)
        for row in report.rows
    ]
    daily = list(wb["每日明细"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 2 * 7
    tuesday = next(d for d in daily if d[0] == "wanggezhang" and d[2].date() == dt.date(2025, 5, 6))
    assert tuesday[3:9] == (3, 2, 2, 2.3, 0.6667, 0.95) and tuesday[11] == "未达标"
    assert [row[0] for row in wb["今日未达标"].iter_rows(min_row=2, values_only=True)] == ["wanggezhang"]
    assert AuditEvent.objects.filter(action="export", object_type="patrols.compliance").count() == 1
    # The page shows the same totals.
    html = client.get(f"/patrols/compliance/{code}/", {"period": "week"}).content.decode()
    for row in report.rows:
        assert f'<td data-key="days_met">{row.days_met}</td><td data-key="days_due">{row.days_due}</td>' in html


def test_the_compliance_api(week: PatrolWorld, client: Client) -> None:
    client.force_login(_leader(week))
    r = client.get("/api/patrols/compliance", {"period": "week"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["area"], body["workers"], body["days_met"], body["days_due"]) == ("150104", 2, 3, 5)
    assert body["missed_today"] == ["wanggezhang"] and sorted(body["missed_week"]) == ["luzhang", "wanggezhang"]
    gc = next(i for i in body["items"] if i["username"] == "wanggezhang")
    assert [d["state"] for d in gc["days"][:3]] == ["met", "missed", "open"]
    bad = client.get("/api/patrols/compliance", {"period": "month", "month": "May"})
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "月份格式应为 YYYY-MM"


def test_compliance_page_query_count_does_not_grow_with_workers(
    week: PatrolWorld, client: Client, django_assert_max_num_queries: Any
) -> None:
    client.force_login(_leader(week))
    url = f"/patrols/compliance/{week.district.district.code}/?period=month"
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    for i in range(15):
        community = week.district.communities[i % 4]
        chief = make_user(Role.GRID_CHIEF, community, username=f"extra{i}")
        Responsibility.objects.create(user=chief, duty=Duty.GRID_CHIEF, area=week.district.grids[(i % 4) * 2])
        make_patrol(chief, "2025-05-06 09:00")
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
