"""The grouped top-bar menus in chromium: an operator's bar is one line at 1366 px; a menu
opens by mouse or keyboard, closes outside / on Escape, one at a time, and its link leads to
a page that lights its section; a grid chief sees only their entries; on a 360 px phone the
menus wrap without sideways scrolling and an open one is a full-width panel."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _open_menus(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("#mainnav details.navmenu[open]", "els => els.map(e => e.id)"))


def test_operator_bar_is_one_line_and_menus_work(page: Any, district: SampleDistrict, user_factory: Any) -> None:
    user_factory(Role.COMMAND_OPERATOR, district.district, username="operator1", display_name="指挥中心值班员甲")
    browser_login(page, "operator1")
    # One line: every item of the bar sits on the same row, and the bar is one row high.
    rows = page.eval_on_selector_all(
        ".topbar > .brand, #mainnav > *, .topbar > .userbox",
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; })",
    )
    assert len(rows) == 1 + 4 + 1 + 1  # brand, 4 menus, 消息, user box
    middles = [(top + bottom) / 2 for top, bottom in rows]
    assert max(middles) - min(middles) < 8
    assert page.eval_on_selector(".topbar", "e => e.getBoundingClientRect().height") < 60
    assert page.evaluate(NO_OVERFLOW)

    # Closed menus hide their links; a click opens one, a second menu closes the first.
    assert not page.is_visible("#nav-rankings")
    page.click("#navmenu-command > summary")
    assert page.is_visible("#nav-rankings") and _open_menus(page) == ["navmenu-command"]
    page.click("#navmenu-cases > summary")
    assert _open_menus(page) == ["navmenu-cases"] and not page.is_visible("#nav-rankings")
    # A click outside closes it; so does Escape, giving focus back to the menu's title.
    page.click("main")
    assert _open_menus(page) == []
    page.focus("#navmenu-data > summary")
    page.keyboard.press("Enter")
    assert _open_menus(page) == ["navmenu-data"]
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "nav-people"
    page.keyboard.press("Escape")
    assert _open_menus(page) == []
    assert page.evaluate("() => document.activeElement.closest('details').id") == "navmenu-data"

    # Follow a link: the new page lights its menu and its entry.
    page.click("#navmenu-command > summary")
    with page.expect_navigation():
        page.click("#nav-rankings")
    assert page.url.endswith("/dashboards/rankings/")
    assert page.get_attribute("#navmenu-command", "class") == "navmenu is-current"
    assert page.get_attribute("#nav-rankings", "aria-current") == "page"
    assert page.locator("#mainnav details.is-current").count() == 1


def test_grid_chief_sees_only_their_entries(page: Any, district: SampleDistrict, user_factory: Any) -> None:
    user_factory(Role.GRID_CHIEF, district.grids[0], username="chief1")
    browser_login(page, "chief1")
    menus = page.eval_on_selector_all("#mainnav details.navmenu", "els => els.map(e => e.id)")
    assert menus == ["navmenu-cases", "navmenu-grid", "navmenu-command", "navmenu-data"]
    page.click("#navmenu-grid > summary")
    visible = page.eval_on_selector_all(
        "#navmenu-grid a", "els => els.filter(e => e.offsetParent !== null).map(e => e.id)"
    )
    assert visible == ["nav-territory", "nav-patrols", "nav-mobile"]
    for hidden in ("nav-patrol-compliance", "nav-indicators", "nav-audit", "nav-admin"):
        assert page.locator(f"#{hidden}").count() == 0
    page.click("#navmenu-data > summary")
    assert page.eval_on_selector_all("#navmenu-data a", "els => els.map(e => e.id)") == ["nav-people"]
    with page.expect_navigation():
        page.click("#nav-people")
    assert page.url.endswith("/people/")


def test_phone_menus_wrap_and_open_as_a_panel(phone_page: Any, district: SampleDistrict, user_factory: Any) -> None:
    page = phone_page
    user_factory(Role.COMMAND_OPERATOR, district.district, username="operator2")
    browser_login(page, "operator2")
    assert page.evaluate(NO_OVERFLOW)
    boxes = page.eval_on_selector_all(
        "#mainnav > *", "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })"
    )
    assert all(left >= 0 and right <= 360 for left, right in boxes)
    page.tap("#navmenu-command > summary")
    panel = page.locator("#navmenu-command .navmenu-list").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 360 and panel["width"] >= 300
    link = page.locator("#nav-cameras").bounding_box()
    assert link is not None and link["height"] >= 40  # a finger-sized target
    assert page.evaluate(NO_OVERFLOW)
    with page.expect_navigation():
        page.tap("#nav-cameras")
    assert page.url.endswith("/cameras/")
