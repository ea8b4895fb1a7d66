"""Browser tests for the dashboard pages no other browser test opens (docs/browser-tests.md):
/dashboards/map/ (the grid map of the user's own node, reached from the top bar) and its
辖区 switch, and the drill-down list opened at its own address."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from civicgrid.cases.enums import OPEN_STATUSES
from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.dashboards.tests.conftest import build_fixture
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def js_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def world(district: SampleDistrict) -> World:
    seed_categories(Category)  # a transactional test starts from an emptied database
    w = build_world(district)
    build_fixture(w, now=timezone.now())
    return w


def test_grid_map_home_opens_the_users_own_node_and_switches(page: Any, world: World) -> None:
    d = world.d
    errors = js_errors(page)
    browser_login(page, world.street_admin.username)
    page.click("#navmenu-command > summary")
    with page.expect_navigation():
        page.click("#nav-gridmap")  # /dashboards/map/ redirects to the user's node
    assert page.url.endswith(f"/dashboards/map/{d.streets[0].code}/")
    assert d.streets[0].name in (page.text_content("#gm-area") or "")
    assert "网格地图" in (page.text_content("main h1") or "")
    page.wait_for_function("() => document.getElementById('gridmap-root').dataset.regions === '4'")
    page.wait_for_function("() => Number(document.getElementById('gridmap-root').dataset.refreshes || 0) >= 1")
    assert page.locator("#gm-top tbody tr").count() == 4

    # The 切换辖区 list offers the street's communities, not the other street's.
    options = page.eval_on_selector_all("#gm-target option", "els => els.map(e => e.textContent.trim())")
    assert any(d.communities[0].name in o for o in options)
    assert not any(d.streets[1].name in o for o in options)
    with page.expect_navigation():
        page.select_option("#gm-target", f"/dashboards/map/{d.communities[0].code}/")
    page.wait_for_function("() => document.getElementById('gridmap-root').dataset.regions === '2'")
    page.wait_for_function("() => Number(document.getElementById('gridmap-root').dataset.refreshes || 0) >= 1")
    assert d.communities[0].name in (page.text_content("#gm-area") or "")
    assert errors == []


def test_drilldown_list_at_its_address(page: Any, world: World) -> None:
    errors = js_errors(page)
    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/dashboards/cases/?metric=open&area={world.d.district.code}")
    expected = Case.objects.filter(status__in=OPEN_STATUSES).count()
    assert expected > 0
    assert page.get_attribute("#drill-count", "data-count") == str(expected)
    assert (page.text_content("main h1") or "").strip() == "案件明细: 在办"
    rows = page.locator("#drill-table tr.drill-row")
    assert 0 < rows.count() <= expected
    with page.expect_navigation():
        rows.first.locator("td a").first.click()
    assert "/cases/" in page.url and page.locator("#tracking-code").count() == 1
    # A malformed filter: a Chinese message, no list.
    response = page.goto(f"{page.base_url}/dashboards/cases/?metric=nonsense")
    assert response is not None and response.status == 400
    assert (page.text_content("#drill-error") or "").strip()
    assert page.locator("#drill-count").count() == 0
    assert errors == []
