"""Browser tests for the territory admin pages (docs/browser-tests.md): a street administrator
(territory.edit, scoped) cannot reach the admin; the system administrator reads each
changelist in Chinese with the sample district's rows, filters areas by level and opens a
grid's change form."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.territory.models import Building, Compound, Duty, Household, Responsibility, RoadSegment
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_territory_admin_pages(page: Any, district: SampleDistrict) -> None:
    d = district
    grid = d.grids[0]
    lon, lat = d.grid_center(grid)
    compound = Compound.objects.create(
        grid=grid,
        area_code=grid.code,
        code="QQJ-01",
        name="清泉街小区",
        geometry={"type": "Point", "coordinates": [lon, lat]},
    )
    building = Building.objects.create(
        compound=compound, grid=grid, area_code=grid.code, code="QQJ-01-03", name="3号楼"
    )
    Household.objects.create(building=building, area_code=grid.code, code="QQJ-01-03-1-201", unit="1", room="201")
    RoadSegment.objects.create(
        street=d.streets[0],
        area_code=d.streets[0].code,
        code="RD-001",
        name="兴隆巷",
        geometry={"type": "LineString", "coordinates": [[lon - 0.001, lat], [lon + 0.001, lat]]},
        length_m=170,
    )
    chief = make_user(Role.GRID_CHIEF, grid, username="chief0", display_name="王网格")
    Responsibility.objects.create(user=chief, duty=Duty.GRID_CHIEF, area=grid)

    errors = js_errors(page)
    admin = make_user(Role.SYSTEM_ADMIN, d.district, username="sysadmin")
    browser_login(page, admin.username)
    areas = admin_changelist(page, "/admin/territory/area/", title="辖区节点", rows=15, contains=(grid.name,))
    with page.expect_navigation():
        page.click("#changelist-filter a[href*='level__exact=grid']")
    assert areas.count() == 8
    admin_open_first(page, title="辖区节点")
    admin_changelist(page, "/admin/territory/compound/", title="小区", rows=1, contains=("清泉街小区",))
    admin_changelist(page, "/admin/territory/building/", title="楼栋", rows=1, contains=("3号楼",))
    admin_changelist(page, "/admin/territory/household/", title="户", rows=1, contains=("201",))
    admin_changelist(page, "/admin/territory/roadsegment/", title="路段", rows=1, contains=("兴隆巷",))
    admin_changelist(page, "/admin/territory/responsibility/", title="责任分工", rows=1, contains=("王网格",))
    assert errors == []
