"""report_data: the figures equal the wall screen's and a raw recount; scope; links."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.accounts.enums import Role
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.screen import screen_data
from civicgrid.dashboards.tests.conftest import TODAY, counted, local_day, share, tally
from civicgrid.reports.content import report_data
from civicgrid.reports.periods import parse_period
from civicgrid.reports.tests.conftest import SITE
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


def _period(key: str):
    return parse_period(key, today=TODAY)


def _headline(data):
    return {f.key: f.cell.value for f in data.headline}


def _rows(section):
    return {row[0].value: [c.value for c in row[1:]] for row in section.rows}


def test_year_report_equals_the_wall_screen_and_the_recount(fx):
    user = fx.w.operator
    data = report_data(user, fx.d.district.code, _period("2026"))
    screen = screen_data(user, fx.d.district.code)
    head = _headline(data)
    year = screen["this_year"]
    for key in ("received", "closed", "closure_rate", "on_time_sign_for_rate", "resolution_rate", "satisfaction_rate"):
        assert head[key] == year[key]["value"], key
    # the raw recount, in plain Python over the Case rows
    rows = counted(fx.cases, user, dt.date(2026, 1, 1), TODAY)
    t = tally(rows)
    assert head["received"] == len(rows) == t["received"]
    assert head["closed"] == t["closed"]
    assert head["on_time_sign_for_rate"] == share(t["signed_on_time"], t["dispatched"])
    assert head["satisfaction_rate"] == share(t["satisfied"], t["evaluated"])
    assert head["rehandling_rate"] == share(t["rehandled"], t["received"])
    # channels and categories: the screen's rows, in the screen's order
    channels = data.require("channels")
    assert [(r[1].value, r[2].value) for r in channels.rows] == [
        (c["received"], c["closed"]) for c in screen["channels"]
    ]
    categories = data.require("categories")
    assert [(r[0].value, r[1].value, r[2].value) for r in categories.rows] == [
        (c["label"], c["received"], c["closed"]) for c in screen["categories"]
    ]
    # overdue at the end of the current period = the screen's overdue now
    assert data.overdue_total == screen["overdue"]["total"]["value"] > 0
    assert head["overdue"] == data.overdue_total


def test_past_month_report_against_the_recount(fx):
    user = fx.w.operator
    data = report_data(user, fx.d.district.code, _period("2026-02"))
    assert (data.start, data.end) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    rows = counted(fx.cases, user, data.start, data.end)
    t = tally(rows)
    head = _headline(data)
    assert head["received"] == t["received"] > 0
    assert head["closed"] == t["closed"]
    # channels add up, by channel
    by_channel = _rows(data.require("channels"))
    assert sum(v[0] for v in by_channel.values()) == t["received"]
    # weekly trend over the month adds up to the month
    trend = data.require("trend")
    assert trend.chart == "line"
    assert sum(r[1].value for r in trend.rows) == t["received"]
    assert trend.rows[0][0].value.startswith("02-01")
    # children: both streets ranked or listed, received add up to those located to a street
    children = data.require("children")
    assert {r[2].value for r in children.rows} == {s.code for s in fx.d.streets}
    assert sum(r[4].value for r in children.rows) == sum(1 for c in rows if len(c.area_code) > 6)
    # departments add up too
    assert sum(r[1].value for r in data.require("departments").rows) == t["received"]
    # overdue at the end of February: marked overdue before 1 March, not closed by then
    at = dt.datetime(2026, 3, 1, tzinfo=fx.cases[0].received_at.tzinfo)
    expected = [
        c
        for c in fx.cases
        if c.overdue_at is not None
        and c.overdue_at < at
        and c.received_at < at
        and (c.closed_at is None or c.closed_at >= at)
        and c.status not in ("merged", "not_accepted")
    ]
    assert data.overdue_total == len(expected)


def test_half_year_trend_is_monthly_and_stops_today(fx):
    data = report_data(fx.w.operator, fx.d.district.code, _period("2026-H1"))
    assert data.end == TODAY
    trend = data.require("trend")
    assert [r[0].value for r in trend.rows] == ["1月", "2月", "3月"]
    rows = counted(fx.cases, fx.w.operator, dt.date(2026, 1, 1), TODAY)
    for r, month in zip(trend.rows, (1, 2, 3), strict=True):
        assert r[1].value == sum(1 for c in rows if local_day(c.received_at).month == month)


def test_every_count_links_to_a_list_of_that_many_cases(fx, client):
    user = fx.w.operator
    client.force_login(user)
    data = report_data(user, fx.d.district.code, _period("2026-02"))
    cells = [f.cell for f in data.headline if f.cell.fmt == "int"]
    for key in ("channels", "categories", "trend", "children"):
        cells += [c for row in data.require(key).rows for c in row[1:] if c.fmt == "int" and c.url]
    assert len(cells) > 10
    for cell in cells:
        assert cell.url.startswith(SITE + "/"), cell
        parsed = urlparse(cell.url)
        response = client.get(parsed.path, parse_qs(parsed.query))
        assert response.status_code == 200, cell.url
        count = response.context["page"].paginator.count
        assert count == cell.value, (cell.url, count, cell.value)


def test_street_sees_only_its_own(fx):
    admin = fx.w.street_admin
    own = report_data(admin, fx.d.streets[0].code, _period("2026"))
    rows = counted(fx.cases, admin, dt.date(2026, 1, 1), TODAY, fx.d.streets[0].code)
    assert _headline(own)["received"] == len(rows)
    assert {r[2].value for r in own.require("children").rows} == {c.code for c in fx.d.communities[:2]}
    with pytest.raises(NotFound):
        report_data(admin, fx.d.streets[1].code, _period("2026"))
    with pytest.raises(NotFound):
        report_data(fx.community_worker, fx.d.streets[0].code, _period("2026"))
    # the district is not in a street's scope either
    with pytest.raises(NotFound):
        report_data(admin, fx.d.district.code, _period("2026"))


def test_without_case_reading_no_report(fx):
    with pytest.raises(PermissionDenied):
        report_data(fx.sysadmin, fx.d.district.code, _period("2026"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请填写报表周期"),
        ("2026-13", "格式不正确"),
        ("2026-H3", "格式不正确"),
        ("26-05", "格式不正确"),
        ("1999", "格式不正确"),
        ("2027", "尚未开始"),
        ("2026-04", "尚未开始"),
    ],
)
def test_period_validation(text, message):
    with pytest.raises(ValidationError) as exc:
        parse_period(text, today=dt.date(2026, 3, 18))
    assert message in str(exc.value.message_dict["period"])


def test_period_parsing():
    p = parse_period("2026-H2", today=dt.date(2026, 11, 1))
    assert (p.kind, p.start, p.end, p.label) == ("half", dt.date(2026, 7, 1), dt.date(2026, 12, 31), "2026年下半年")
    assert parse_period("2026-5", today=dt.date(2026, 11, 1)).key == "2026-05"
    assert parse_period("2026-h1", today=dt.date(2026, 11, 1)).key == "2026-H1"


def test_patrols_and_indicators_follow_capabilities(fx):
    leader = fx.w.leader
    data = report_data(leader, fx.d.district.code, _period("2026-02"))
    assert data.section("patrols") is not None
    assert data.section("indicators") is not None
    worker_data = report_data(fx.community_worker, fx.d.communities[0].code, _period("2026-02"))
    assert worker_data.section("indicators") is None  # a community worker does not read the register
    assert worker_data.require("children").rows  # the community's grids
    chief = make_user(Role.GRID_CHIEF, fx.d.grids[1], username="chief-g1")
    grid_data = report_data(chief, fx.d.grids[1].code, _period("2026-02"))
    assert grid_data.section("children") is None
