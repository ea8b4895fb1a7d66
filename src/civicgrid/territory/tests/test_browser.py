# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import re

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = "echarts.getInstanceByDom(document.getElementById('territory-map'))"


def test_territory_browser_draws_the_grid_map_and_navigates(page, district, user_factory):
    user = user_factory(Role.LEADER, district.district)
    browser_login(page, user.username)
    page.goto(f"{page.base_url}/territory/")
    page.wait_for_selector("#territory-map[data-regions]")
    assert page.locator("#territory-map canvas").count() >= 1
    assert page.evaluate(f"() => {CHART}.getOption().series[0].data.length") == 8
    assert page.evaluate("() => echarts.getMap('cg-150104-grid').geoJSON.features.length") == 8
    names = page.evaluate(f"() => {CHART}.getOption().series[0].data.map(d => d.title)")
    assert district.grids[0].name in names

    # The tree loads a community's grids lazily (htmx) when it is opened.
    community = district.communities[0]
    node = page.locator(f'li[data-code="{community.code}"] > details')
    node.locator("summary").click(position={"x": 2, "y": 2})
    page.wait_for_selector(f'li[data-code="{district.grids[0].code}"]')

    # Clicking a grid's polygon opens the grid page.
    x, y = page.evaluate(f"() => {CHART}.convertToPixel({{seriesIndex: 0}}, [111.605, 40.765])")
    box = page.locator("#territory-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(re.compile(r".*/territory/grid/15010400100101/$"))
    page.wait_for_selector("#territory-map[data-regions='1']")
    assert district.grids[0].name in page.locator("h1").inner_text()


def test_community_worker_sees_only_own_grids_on_a_phone(phone_page, district, user_factory):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[1])
    browser_login(phone_page, user.username)
    phone_page.goto(f"{phone_page.base_url}/territory/area/{district.communities[1].code}/")
    phone_page.wait_for_selector("#territory-map[data-regions]")
    codes = phone_page.evaluate(f"() => {CHART}.getOption().series[0].data.map(d => d.name)")
    assert sorted(codes) == [district.communities[1].code + "01", district.communities[1].code + "02"]
    response = phone_page.goto(f"{phone_page.base_url}/territory/grid/{district.grids[0].code}/")
    assert response.status == 404
