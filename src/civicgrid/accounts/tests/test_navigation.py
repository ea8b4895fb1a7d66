"""The top bar's grouped menus, read from rendered pages: every role sees exactly the links
the flat bar showed it before the grouping (the old template's checks, restated here), in
the right group, and the page's own section is marked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.accounts.permissions import capabilities
from civicgrid.testing.factories import SampleDistrict

pytestmark = pytest.mark.django_db

# The flat bar's conditions, one per link, as base.html had them before the menus.
OLD_BAR: dict[str, tuple[str, ...]] = {
    "nav-territory": ("territory.view",),
    "nav-cases": ("cases.view",),
    "nav-console": ("cases.intake",),
    "nav-metrics": ("cases.view",),
    "nav-cameras": ("cases.view",),
    "nav-patrols": ("patrols.patrol",),
    "nav-patrol-compliance": ("patrols.view",),
    "nav-mobile": ("cases.handle", "patrols.patrol"),
    "nav-screen": ("cases.view",),
    "nav-gridmap": ("cases.view",),
    "nav-rankings": ("cases.view",),
    "nav-reports": ("cases.view",),
    "nav-indicators": ("indicators.view",),
    "nav-people": ("people.view",),
    "nav-audit": ("audit.view",),
    "nav-admin": ("admin.use",),
}

NAV = re.compile(r'<nav class="mainnav"[^>]*>(.*?)</nav>', re.S)
MENU = re.compile(r'<details class="navmenu([^"]*)" id="navmenu-(\w+)">(.*?)</details>', re.S)
LINK = re.compile(r'<a href="([^"]+)" id="([\w-]+)"( aria-current="page")?>')


def _nav(client: Client, path: str = "/") -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200
    found = NAV.search(response.content.decode())
    assert found, "no main navigation"
    menus: dict[str, Any] = {}
    for classes, key, body in MENU.findall(found.group(1)):
        menus[key] = {
            "current": "is-current" in classes,
            "links": [link_id for _href, link_id, _cur in LINK.findall(body)],
            "current_links": [link_id for _href, link_id, cur in LINK.findall(body) if cur],
        }
    return {"menus": menus, "html": found.group(1)}


def _seen(nav: dict[str, Any]) -> set[str]:
    return {link for menu in nav["menus"].values() for link in menu["links"]}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_what_the_flat_bar_showed(role: Role, district: SampleDistrict, user_factory: Any) -> None:
    node = district.grids[0] if role in {Role.GRID_CHIEF, Role.ROAD_CHIEF, Role.AREA_CHIEF} else district.district
    user = user_factory(role, node)
    client = Client()
    client.force_login(user)
    nav = _nav(client)
    caps = capabilities(user)
    expected = {link for link, any_of in OLD_BAR.items() if any(c in caps for c in any_of)}
    assert _seen(nav) == expected
    assert all(menu["links"] for menu in nav["menus"].values())  # no empty menu
    assert 'id="nav-notifications"' in nav["html"] and "hx-get=" in nav["html"]  # the badge stays


def test_operator_menus_group_the_links(district: SampleDistrict, user_factory: Any) -> None:
    client = Client()
    client.force_login(user_factory(Role.COMMAND_OPERATOR, district.district))
    menus = _nav(client)["menus"]
    assert list(menus) == ["cases", "grid", "command", "data"]  # no 系统 menu for the operator
    assert menus["cases"]["links"] == ["nav-cases", "nav-console", "nav-metrics"]
    assert menus["grid"]["links"] == ["nav-territory", "nav-patrol-compliance", "nav-mobile"]
    assert menus["command"]["links"] == ["nav-screen", "nav-gridmap", "nav-cameras", "nav-rankings", "nav-reports"]
    assert menus["data"]["links"] == ["nav-people", "nav-indicators"]
    assert not any(m["current"] for m in menus.values())  # the home page belongs to no menu


def test_grid_chief_and_audit_admin_see_only_their_entries(district: SampleDistrict, user_factory: Any) -> None:
    client = Client()
    client.force_login(user_factory(Role.GRID_CHIEF, district.grids[0]))
    menus = _nav(client)["menus"]
    assert list(menus) == ["cases", "grid", "command", "data"]
    assert menus["grid"]["links"] == ["nav-territory", "nav-patrols", "nav-mobile"]
    assert menus["data"]["links"] == ["nav-people"]  # no 区级指标
    client.force_login(user_factory(Role.AUDIT_ADMIN, district.district))
    menus = _nav(client)["menus"]
    assert list(menus) == ["system"] and menus["system"]["links"] == ["nav-audit"]


@pytest.mark.parametrize(
    ("path", "menu", "link"),
    [
        ("/cases/console/", "cases", "nav-console"),  # the longest matching address wins over /cases/
        ("/cases/", "cases", "nav-cases"),
        ("/dashboards/rankings/", "command", "nav-rankings"),
        ("/patrols/compliance/{district}/", "grid", "nav-patrol-compliance"),
        ("/people/", "data", "nav-people"),
    ],
)
def test_the_current_section_is_marked(
    path: str, menu: str, link: str, district: SampleDistrict, user_factory: Any
) -> None:
    client = Client()
    client.force_login(user_factory(Role.COMMAND_OPERATOR, district.district))
    menus = _nav(client, path.format(district=district.district.code))["menus"]
    assert [key for key, m in menus.items() if m["current"]] == [menu]
    assert [cur for m in menus.values() for cur in m["current_links"]] == [link]


def test_a_page_under_a_hidden_link_still_marks_its_menu(district: SampleDistrict, user_factory: Any) -> None:
    # The operator has no 巡查 (/patrols/) link but reviews patrols under /patrols/review/.
    client = Client()
    client.force_login(user_factory(Role.COMMAND_OPERATOR, district.district))
    menus = _nav(client, "/patrols/review/")["menus"]
    assert [key for key, m in menus.items() if m["current"]] == ["grid"]
    assert not any(m["current_links"] for m in menus.values())


def test_anonymous_bar_is_unchanged(db: Any) -> None:
    text = Client().get("/report/").content.decode()
    found = NAV.search(text)
    assert found and "navmenu" not in found.group(1)
    assert all(f'id="{i}"' in found.group(1) for i in ("nav-report", "nav-track", "nav-open"))
