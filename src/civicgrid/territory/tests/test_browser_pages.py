"""Every territory page a person uses, in chromium: the browser, a street's and a
community's area page, and the grid page on a grid chief's phone."""

# mypy: disable-error-code="no-untyped-def"
from __future__ import annotations

import os
import re
from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.territory.models import Building, Compound

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 costs ~0.5 s a hash on a small CI machine; these page tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _shot(page: Any, name: str) -> None:
    """Screenshots for a person to look at, only when CIVICGRID_SHOTS names a folder."""
    folder = os.environ.get("CIVICGRID_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _child_names(page: Any) -> list[str]:
    return [name.strip() for name in page.locator("#children-table tbody td:first-child a").all_inner_texts()]


def test_street_and_community_pages_lead_down_to_a_grid_and_back(page, district, user_factory):
    leader = user_factory(Role.LEADER, district.district, username="leader")
    street, community = district.streets[0], district.communities[1]
    browser_login(page, leader.username)
    page.goto(f"{page.base_url}/territory/")
    page.wait_for_selector("#territory-map[data-regions='8']")
    _shot(page, "territory-browser-1366")
    page.locator(f'li[data-code="{street.code}"] > details > summary > a').click()
    page.wait_for_url(f"**/territory/area/{street.code}/")

    # Street page: its two communities in the table and on the map.
    page.wait_for_selector("#territory-map[data-regions='2']")
    _shot(page, "territory-street-1366")
    assert street.name in page.locator("h1").inner_text()
    assert _child_names(page) == [c.name for c in district.communities[:2]]
    assert page.locator(".kpis .kpi").first.locator("b").inner_text() == str(street.population)
    page.locator("#children-table").get_by_role("link", name=community.name).click()

    # Community page: its grids; the breadcrumb names the street.
    page.wait_for_url(f"**/territory/area/{community.code}/")
    page.wait_for_selector("#territory-map[data-regions='2']")
    _shot(page, "territory-community-1366")
    page.set_viewport_size({"width": 360, "height": 740})
    # The map redraws on the window's resize event, which arrives after the viewport changes.
    page.wait_for_function(NO_OVERFLOW, timeout=5000)
    _shot(page, "territory-community-360")
    assert page.evaluate(NO_OVERFLOW)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert _child_names(page) == [g.name for g in district.grids[2:4]]
    assert page.locator(".crumbs").inner_text().split("›")[-2].strip() == street.name
    page.locator("#children-table").get_by_role("link", name=district.grids[3].name).click()
    page.wait_for_url(re.compile(rf".*/territory/grid/{district.grids[3].code}/$"))
    assert district.grids[3].name in page.locator("h1").inner_text()

    # Back up through the breadcrumb.
    page.locator(".crumbs").get_by_role("link", name=street.name).click()
    page.wait_for_url(f"**/territory/area/{street.code}/")
    assert _child_names(page) == [c.name for c in district.communities[:2]]


def test_grid_chief_uses_the_grid_page_on_a_phone(phone_page, district, user_factory):
    grid = district.grids[0]
    chief = user_factory(Role.GRID_CHIEF, grid, username="chief", display_name="王网格")
    compound = Compound.objects.create(
        grid=grid, area_code=grid.code, code=f"{grid.code}C1", name="清泉小区", address="玉泉区清泉街12号"
    )
    for n in (1, 2):
        Building.objects.create(
            compound=compound, grid=grid, area_code=grid.code, code=f"{grid.code}C1B{n}", name=f"{n}号楼"
        )
    browser_login(phone_page, chief.username)
    phone_page.goto(f"{phone_page.base_url}/territory/grid/{grid.code}/")
    phone_page.wait_for_selector("#territory-map[data-regions='1']")
    _shot(phone_page, "territory-grid-360")
    assert phone_page.evaluate(NO_OVERFLOW)
    assert phone_page.locator("#kpi-compounds").inner_text() == "1"
    assert phone_page.locator("#kpi-buildings").inner_text() == "2"
    assert "王网格" in phone_page.locator("#grid-chiefs").inner_text()
    row = phone_page.locator("#compounds-table tbody tr").first
    assert "清泉小区" in row.inner_text() and "玉泉区清泉街12号" in row.inner_text()
    # The map is drawn at the phone's width, not wider.
    box = phone_page.locator("#territory-map").bounding_box()
    assert box is not None and 200 <= box["width"] <= 360


def test_grid_chief_finds_own_grid_in_the_territory_browser(phone_page, district, user_factory):
    grid = district.grids[0]
    chief = user_factory(Role.GRID_CHIEF, grid, username="chief")
    browser_login(phone_page, chief.username)
    phone_page.click("#home-links [data-key=territory] a")
    phone_page.wait_for_url("**/territory/")
    _shot(phone_page, "territory-browser-360")
    assert phone_page.evaluate(NO_OVERFLOW)
    link = phone_page.locator(f'#territory-tree li[data-code="{grid.code}"] a')
    assert link.count() == 1
    link.click()
    phone_page.wait_for_url(f"**/territory/grid/{grid.code}/")
