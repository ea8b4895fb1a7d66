"""Browser tests: the wall screen at 1920×1080 draws its charts (ECharts instances with
series data, the grid map from our GeoJSON), refreshes itself without a reload, and its
figures open the lists they count; the rankings page switches level and drills down."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.seed import seed_default_scheme
from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.dashboards.tests.conftest import build_fixture
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("chart-channel", "chart-category", "chart-trend", "chart-map")


@pytest.fixture
def world(district: SampleDistrict) -> World:
    seed_categories(Category)  # a transactional test starts from an emptied database
    seed_default_scheme(AssessmentScheme)
    w = build_world(district)
    build_fixture(w, now=timezone.now())
    return w


@pytest.fixture
def wall(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.base_url = live_server.url
    yield pg
    context.close()


SERIES_JS = """(ids) => ids.map((id) => {
  const inst = echarts.getInstanceByDom(document.getElementById(id));
  if (!inst) return [id, -1];
  const opt = inst.getOption();
  return [id, (opt.series && opt.series[0] && opt.series[0].data || []).length];
})"""


def test_wall_screen_draws_its_charts_and_refreshes(wall: Any, world: World) -> None:
    page = wall
    browser_login(page, world.operator.username)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{page.base_url}/dashboards/screen/{world.d.district.code}/")
    page.wait_for_function("() => document.getElementById('chart-map').dataset.regions === '8'")
    page.wait_for_function(
        "(ids) => ids.every((id) => { const i = echarts.getInstanceByDom(document.getElementById(id));"
        " return i && i.getOption().series[0].data.length > 0; })",
        arg=list(CHARTS),
    )
    counts = dict(page.evaluate(SERIES_JS, list(CHARTS)))
    assert counts["chart-map"] == 8  # every grid of the district, coloured by open cases
    assert counts["chart-trend"] == 12 and counts["chart-channel"] >= 2 and counts["chart-category"] >= 2
    heat = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-map')).getOption().series[0].data"
        ".reduce((s, d) => s + d.value, 0)"
    )
    assert heat > 0
    # the stage fills the wall exactly, nothing scrolls
    size = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " getComputedStyle(document.body).backgroundColor]"
    )
    assert size[0] <= 1920 and size[1] <= 1080
    assert size[2] == "rgb(5, 13, 26)"  # the dark style

    # a new case appears on the next poll, without a reload
    before = int(page.text_content("[data-fig='today.received'] b") or "0")
    page.evaluate("() => { window.__sameDocument = true; }")
    grid = world.d.grids[0]
    Case.objects.create(
        tracking_code="BRW0000001",
        title="新案件",
        description="d",
        category=Category.objects.get(code="MD01"),
        channel="hotline",
        status="handling",
        grid=grid,
        area_code=grid.code,
        received_at=timezone.now(),
    )
    page.evaluate("() => window.civicgridScreen.refresh()")
    page.wait_for_function(
        f"() => document.querySelector(\"[data-fig='today.received'] b\").textContent === '{before + 1}'"
    )
    assert page.evaluate("() => window.__sameDocument === true")
    assert int(page.get_attribute("#screen", "data-renders") or "0") >= 2
    assert not errors

    # a figure opens the list of exactly the cases it counts
    page.click("[data-fig='today.received']")
    page.wait_for_selector("#drill-count")
    assert int(page.get_attribute("#drill-count", "data-count") or "-1") == before + 1


@pytest.fixture
def faraway_wall(browser: Any, live_server: Any) -> Iterator[Any]:
    """The wall screen watched from a browser in New York (UTC-5/-4), 12-13 hours behind."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1920, "height": 1080}, timezone_id="America/New_York"
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.base_url = live_server.url
    yield pg
    context.close()


def test_clock_and_update_time_are_the_districts_wherever_the_viewer_is(faraway_wall: Any, world: World) -> None:
    page = faraway_wall
    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/dashboards/screen/{world.d.district.code}/")
    page.wait_for_function(
        "() => /^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$/.test(document.getElementById('screen-clock').textContent)"
    )
    assert page.evaluate("() => new Date().getTimezoneOffset()") in (240, 300)  # the viewer is far away
    shanghai = ZoneInfo("Asia/Shanghai")
    clock = dt.datetime.strptime(page.text_content("#screen-clock") or "", "%Y-%m-%d %H:%M:%S")
    drift = abs((clock - dt.datetime.now(shanghai).replace(tzinfo=None)).total_seconds())
    assert drift < 120  # the district's wall time, not New York's (12-13 hours off)

    # "更新于" is the payload's instant shown in the district's zone.
    generated = dt.datetime.fromisoformat(page.get_attribute("#screen-updated", "data-at") or "")
    assert generated.utcoffset() == dt.timedelta(hours=8)
    assert page.text_content("#screen-updated") == f"更新于 {generated.astimezone(shanghai):%H:%M:%S}"

    # Formatted by the browser from the instant, not cut out of the string: a payload stamped
    # in UTC still reads as Shanghai time (the viewer's zone would say 03:04:05, a slice 07:04:05).
    def stamp_in_utc(route: Any) -> None:
        body = route.fetch().json()
        body["generated_at"] = "2026-03-18T07:04:05Z"
        route.fulfill(json=body)

    page.route("**/api/dashboards/screen*", stamp_in_utc)
    page.evaluate("() => window.civicgridScreen.refresh()")
    page.wait_for_function("() => document.getElementById('screen-updated').textContent === '更新于 15:04:05'")


def test_street_screen_shows_only_its_part(wall: Any, world: World) -> None:
    page = wall
    admin = make_user(Role.STREET_ADMIN, world.d.streets[1], username="street1")
    browser_login(page, admin.username)
    page.goto(f"{page.base_url}/dashboards/")
    page.wait_for_function("() => document.getElementById('chart-map').dataset.regions === '4'")
    assert page.url.endswith(f"/dashboards/screen/{world.d.streets[1].code}/")
    options = page.eval_on_selector_all("#screen-target option", "els => els.map(e => e.textContent.trim())")
    assert world.d.streets[0].name not in " ".join(options)
    response = page.goto(f"{page.base_url}/dashboards/screen/{world.d.streets[0].code}/")
    assert response is not None and response.status == 404


def test_rankings_page(page: Any, world: World) -> None:
    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/dashboards/rankings/?kind=year")
    assert page.locator("#ranking-table .ranking-row").count() == 2  # the two streets
    page.click("#level-community")
    page.wait_for_url(re.compile(r"level=community"))
    rows = page.locator("#ranking-table .ranking-row")
    assert rows.count() == 4
    first = rows.first
    received = int(first.get_attribute("data-received") or "0")
    assert first.get_attribute("data-rank") == "1" and received > 0
    assert page.is_visible("#ranking-formula")
    with page.expect_download() as download:
        page.click("#ranking-export")
    assert download.value.suggested_filename.endswith(".xlsx")
    first.locator("a.ranking-score").click()
    page.wait_for_selector("#drill-count")
    assert int(page.get_attribute("#drill-count", "data-count") or "-1") == received
