"""Browser test of the live grid map: the map draws every grid from our GeoJSON, switching the
measure recolours the grids (the ECharts option read through echarts.getInstanceByDom), the
live layers hold the open cases, and clicking a grid opens its territory page."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.utils import timezone

from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.dashboards.tests.conftest import build_fixture
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPTION_JS = """() => {
  const inst = echarts.getInstanceByDom(document.getElementById('gridmap'));
  const opt = inst.getOption();
  const grids = opt.series.find((s) => s.id === 'grids');
  const cases = opt.series.find((s) => s.id === 'cases');
  return {
    values: Object.fromEntries(grids.data.map((d) => [d.name, Number.isNaN(d.value) ? null : d.value])),
    text: opt.visualMap[0].text,
    colours: opt.visualMap[0].inRange.color,
    cases: cases.data.length,
  };
}"""


@pytest.fixture
def world(district: SampleDistrict) -> World:
    seed_categories(Category)  # a transactional test starts from an emptied database
    w = build_world(district)
    cases = build_fixture(w, now=timezone.now())
    rng = random.Random(7)
    for case in cases:
        if case.grid is not None:
            lon, lat = district.grid_center(case.grid)
            Case.objects.filter(pk=case.pk).update(
                lon=lon + rng.uniform(-0.003, 0.003), lat=lat + rng.uniform(-0.003, 0.003)
            )
    return w


def test_grid_map_draws_recolours_and_opens_a_grid(page: Any, world: World) -> None:
    d = world.d
    browser_login(page, world.operator.username)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{page.base_url}/dashboards/map/{d.district.code}/")
    page.wait_for_function("() => document.getElementById('gridmap-root').dataset.regions === '8'")
    page.wait_for_function("() => Number(document.getElementById('gridmap-root').dataset.refreshes || 0) >= 1")
    data = page.evaluate("() => JSON.parse(document.getElementById('gridmap-data').textContent)")
    by_code = {g["code"]: g for g in data["grids"]}
    option = page.evaluate(OPTION_JS)
    assert len(option["values"]) == 8
    assert option["values"] == {code: g["open"] for code, g in by_code.items()}
    assert sum(option["values"].values()) > 0
    open_located = Case.objects.filter(
        status__in=["received", "registered", "dispatched", "handling", "reported", "transfer_pending"],
        lon__isnull=False,
    ).count()
    assert option["cases"] == open_located > 0  # the open-case markers are drawn
    assert page.locator("#gm-top tbody tr").count() == 8

    # switch the measure: the grids are recoloured by overdue cases
    page.check("#measure-overdue")
    page.wait_for_function("() => document.getElementById('gridmap-root').dataset.measure === 'overdue'")
    overdue = page.evaluate(OPTION_JS)
    assert overdue["values"] == {code: g["overdue"] for code, g in by_code.items()}
    assert overdue["values"] != option["values"]
    assert "超期案件" in overdue["text"][0]
    page.check("#measure-per_1000")
    per_1000 = page.evaluate(OPTION_JS)
    assert per_1000["values"] == {code: g["per_1000"] for code, g in by_code.items()}
    assert "measure=per_1000" in page.url
    # the heat layer loads its lattice on demand
    page.check("#layer-heat")
    page.wait_for_function(
        "() => { const o = echarts.getInstanceByDom(document.getElementById('gridmap')).getOption();"
        " return o.series.find((s) => s.id === 'heat').data.length > 0; }"
    )

    # clicking a grid opens its territory page
    target = d.grids[5]
    lon, lat = d.grid_center(target)
    page.check("#layer-cases", timeout=5000)
    page.uncheck("#layer-cases")
    page.uncheck("#layer-cameras")
    page.uncheck("#layer-tracks")
    page.uncheck("#layer-heat")
    x, y = page.evaluate(
        "([lon, lat]) => echarts.getInstanceByDom(document.getElementById('gridmap'))"
        ".convertToPixel({geoIndex: 0}, [lon, lat])",
        [lon, lat],
    )
    box = page.locator("#gridmap").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(f"**/territory/grid/{target.code}/")
    assert target.name in page.content()
    assert errors == []


def test_street_map_shows_its_grids_only(page: Any, world: World) -> None:
    d = world.d
    browser_login(page, world.street_admin.username)
    page.goto(f"{page.base_url}/dashboards/map/{d.streets[0].code}/")
    page.wait_for_function("() => document.getElementById('gridmap-root').dataset.regions === '4'")
    # let the first refresh finish before leaving (no request in flight at teardown)
    page.wait_for_function("() => Number(document.getElementById('gridmap-root').dataset.refreshes || 0) >= 1")
    option = page.evaluate(OPTION_JS)
    assert sorted(option["values"]) == sorted(g.code for g in d.grids if g.code.startswith(d.streets[0].code))
    response = page.goto(f"{page.base_url}/dashboards/map/{d.streets[1].code}/")
    assert response is not None and response.status == 404
