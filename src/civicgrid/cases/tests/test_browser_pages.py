"""Browser tests for the case pages the walk-through does not visit: the metrics page (charts
drawn, numbers equal ``case_metrics``, the Excel export opens), the map of open cases (points
drawn, the overdue filter, a click opens the case) and the follow button on the case page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.cases import metrics as m
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.cases.tests.helpers import bring_to
from civicgrid.conftest import browser_login
from civicgrid.notifications.models import Subscription
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


@pytest.fixture
def world(district: SampleDistrict) -> World:
    return build_world(district)


def shown(value: Any, kind: str) -> str:
    """How the metrics page prints a value (independent of the view's own helper)."""
    if value is None:
        return "-"
    if kind == "rate":
        return f"{value * 100:.2f}%"
    if kind == "hours":
        return f"{value:.2f}"
    return str(value)


def page_rows(page: Any) -> dict[str, str]:
    """{metric key: the text shown in its table cell}."""
    rows: dict[str, str] = page.eval_on_selector_all(
        "#metrics-table tr[data-key]",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.key, r.querySelector('td').textContent.trim()]))",
    )
    return rows


def chart_series(page: Any, element_id: str) -> list[dict[str, Any]]:
    page.wait_for_function(
        "id => window.echarts && echarts.getInstanceByDom(document.getElementById(id))", arg=element_id
    )
    series: list[dict[str, Any]] = page.evaluate(
        "id => echarts.getInstanceByDom(document.getElementById(id)).getOption().series"
        ".map(s => ({name: s.name, type: s.type, data: s.data}))",
        element_id,
    )
    return series


def assert_page_matches(page: Any, expected: m.CaseMetrics) -> None:
    rows = page_rows(page)
    assert list(rows) == [key for key, _label, _kind in m.METRIC_ROWS]
    for key, _label, kind in m.METRIC_ROWS:
        assert rows[key] == shown(getattr(expected, key), kind), key


def test_metrics_page_charts_numbers_and_excel(page: Any, world: World, tmp_path: Path) -> None:
    evaluated = bring_to(world, S.EVALUATED)  # satisfaction 5, resolved
    bring_to(world, S.CLOSED)
    bring_to(world, S.HANDLING)
    bring_to(world, S.NOT_ACCEPTED)  # not counted as received
    old = bring_to(world, S.CLOSED)
    # One case received three weeks ago: the weekly trend has more than one point.
    Case.objects.filter(pk=old.pk).update(received_at=evaluated.received_at - dt.timedelta(days=21))

    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/cases/metrics/")
    start = dt.date.fromisoformat(page.input_value("#id_start"))
    end = dt.date.fromisoformat(page.input_value("#id_end"))
    assert end == timezone.localdate() and (end - start).days == 182
    expected = m.case_metrics(world.operator, start=start, end=end)
    assert (expected.received, expected.closed, expected.evaluated) == (4, 3, 1)
    assert expected.satisfaction_rate == 1.0
    assert_page_matches(page, expected)

    # The charts drew the same numbers.
    trend = chart_series(page, "chart-trend")
    assert [s["type"] for s in trend] == ["line", "line"]
    assert all(s["data"] for s in trend)
    assert len(trend[0]["data"]) >= 2
    assert sum(trend[0]["data"]) == expected.received and sum(trend[1]["data"]) == expected.closed
    by_category = chart_series(page, "chart-category")
    assert [s["type"] for s in by_category] == ["bar", "bar"]
    assert sum(by_category[0]["data"]) == expected.received
    assert sum(by_category[1]["data"]) == expected.closed
    assert page.locator("#chart-trend canvas").count() == 1

    # The Excel export downloads and holds the same figures.
    with page.expect_download() as info:
        page.click("#metrics-export")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    workbook = load_workbook(path, read_only=True)
    assert len(workbook.worksheets) == 3
    sheet_rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    by_key = {row[2]: row[1] for row in sheet_rows if len(row) >= 3 and row[2]}
    for key, _label, _kind in m.METRIC_ROWS:
        assert by_key[key] == getattr(expected, key), key
    weekly = list(workbook.worksheets[1].iter_rows(values_only=True))[1:]
    assert sum(int(row[1]) for row in weekly) == expected.received
    workbook.close()

    # Another period through the form: only the old case.
    period_end = (timezone.localtime(evaluated.received_at) - dt.timedelta(days=7)).date()
    period_start = period_end - dt.timedelta(days=30)
    page.fill("#id_start", period_start.isoformat())
    page.fill("#id_end", period_end.isoformat())
    page.click("#metrics-form button[type=submit]")
    page.wait_for_selector("#metrics-table")
    narrow = m.case_metrics(world.operator, start=period_start, end=period_end)
    assert (narrow.received, narrow.closed) == (1, 1)
    assert_page_matches(page, narrow)


def test_metrics_page_refuses_a_bad_period_with_a_message(page: Any, world: World) -> None:
    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/cases/metrics/?start=2026-05-01&end=2026-04-01")
    assert page.locator("#metrics-table").count() == 0
    assert page.locator("#metrics-form .errorlist").count() >= 1
    assert page.locator("#metrics-export").count() == 0


def map_points(page: Any) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('cases-map')).getOption().series[0].data"
    )
    return points


def test_open_cases_map_draws_points_filters_and_opens_a_case(page: Any, world: World) -> None:
    open_cases = [world.intake(title=f"路灯不亮{i}", grid=world.d.grids[i]) for i in range(3)]
    bring_to(world, S.CLOSED)  # closed: not on the map
    late = open_cases[1]
    Case.objects.filter(pk=late.pk).update(overdue_at=timezone.now())  # as the sweep marks it

    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/cases/map/")
    page.wait_for_selector("#cases-map[data-ready='1']")
    page.wait_for_function(
        "() => echarts.getInstanceByDom(document.getElementById('cases-map')).getOption().series[0].data.length === 3"
    )
    points = map_points(page)
    drawn = {tuple(p["value"]) for p in points}
    assert drawn == {(c.lon, c.lat) for c in open_cases}
    colours = {p["url"]: p["itemStyle"]["color"] for p in points}
    assert colours[f"/cases/{late.pk}/"] != colours[f"/cases/{open_cases[0].pk}/"]
    assert (page.text_content("#map-count") or "").startswith("3")
    assert page.locator("#cases-map canvas").count() >= 1

    # Only overdue cases. ECharts animates new symbols in (growing from nothing): note when the
    # chart has finished rendering the filtered points, so the click below hits a full symbol.
    page.evaluate(
        "() => { const c = echarts.getInstanceByDom(document.getElementById('cases-map'));"
        " c.on('finished', () => { window.mapSettled = c.getOption().series[0].data.length; }); }"
    )
    page.check("#map-overdue")
    page.wait_for_function("() => window.mapSettled === 1")
    assert [p["url"] for p in map_points(page)] == [f"/cases/{late.pk}/"]

    # A click on the point opens the case.
    locator = page.locator("#cases-map")
    locator.scroll_into_view_if_needed()
    x, y = page.evaluate(
        "v => echarts.getInstanceByDom(document.getElementById('cases-map')).convertToPixel({geoIndex: 0}, v)",
        [late.lon, late.lat],
    )
    box = locator.bounding_box()
    assert box is not None and 0 <= box["y"] + y <= page.viewport_size["height"]
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(f"**/cases/{late.pk}/")
    assert page.text_content("#tracking-code") == late.tracking_code


def test_map_shows_only_cases_in_the_users_territory(page: Any, world: World) -> None:
    inside = world.intake(title="本社区的事", grid=world.d.grids[0])
    world.intake(title="别的街道的事", grid=world.d.grids[-1])
    browser_login(page, world.worker.username)  # community 0 only
    page.goto(f"{page.base_url}/cases/map/")
    page.wait_for_selector("#cases-map[data-ready='1']")
    page.wait_for_function("() => document.getElementById('map-count').textContent.trim() !== ''")
    assert [p["url"] for p in map_points(page)] == [f"/cases/{inside.pk}/"]


def test_follow_button_on_the_case_page(page: Any, world: World) -> None:
    case = world.intake()
    browser_login(page, world.leader.username)
    page.goto(f"{page.base_url}/cases/{case.pk}/")
    button = page.locator(".follow-btn")
    assert button.get_attribute("data-following") == "0"
    assert (button.text_content() or "").strip() == "关注"
    button.click()
    page.wait_for_selector(".follow-btn[data-following='1']")
    assert page.locator(".follow-form").count() == 1  # swapped in place, not nested
    assert (page.locator(".follow-btn").text_content() or "").strip() == "已关注"
    assert page.locator(".follow-btn").get_attribute("aria-pressed") == "true"
    assert Subscription.objects.filter(user=world.leader, case=case).exists()
    # The state is the server's: it survives a reload.
    page.reload()
    assert page.locator(".follow-btn").get_attribute("data-following") == "1"
    # And it toggles back.
    page.click(".follow-btn")
    page.wait_for_selector(".follow-btn[data-following='0']")
    assert not Subscription.objects.filter(user=world.leader, case=case).exists()
