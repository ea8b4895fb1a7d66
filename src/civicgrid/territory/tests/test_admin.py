# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.territory.models import Compound

pytestmark = pytest.mark.django_db


@pytest.fixture
def street_admin_client(district, user_factory, client):
    user = user_factory(Role.SYSTEM_ADMIN, district.streets[0], is_staff=True)
    client.force_login(user)
    return client


def test_area_admin_is_scoped_searchable_and_filterable(district, street_admin_client):
    html = street_admin_client.get("/admin/territory/area/").content.decode()
    assert district.streets[0].code in html and district.communities[0].code in html
    assert district.streets[1].code not in html and district.district.code + "<" not in html
    grids = street_admin_client.get("/admin/territory/area/", {"level__exact": "grid"}).content.decode()
    assert district.grids[0].code in grids and district.communities[0].code + "<" not in grids
    found = street_admin_client.get("/admin/territory/area/", {"q": district.grids[1].name}).content.decode()
    assert district.grids[1].code in found and district.grids[0].code + "<" not in found


def test_compound_admin_is_scoped_by_area_code(district, street_admin_client):
    mine, other = district.grids[0], district.grids[-1]
    Compound.objects.create(grid=mine, area_code=mine.code, code="C-MINE", name="本街道小区")
    Compound.objects.create(grid=other, area_code=other.code, code="C-OTHER", name="别的街道小区")
    html = street_admin_client.get("/admin/territory/compound/").content.decode()
    assert "本街道小区" in html and "别的街道小区" not in html
    for model in ("building", "household", "roadsegment"):
        assert street_admin_client.get(f"/admin/territory/{model}/").status_code == 200


def test_roles_without_admin_use_are_refused(district, user_factory, client):
    client.force_login(user_factory(Role.COMMUNITY_WORKER, district.communities[0], is_staff=True))
    assert client.get("/admin/territory/area/").status_code in (302, 403)
