# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.accounts.enums import Role
from civicgrid.territory.models import Building, Compound, Duty, Responsibility

pytestmark = pytest.mark.django_db


def add_compounds(grid, n=3, buildings=2):
    for c in range(n):
        compound = Compound.objects.create(
            grid=grid, area_code=grid.code, code=f"{grid.code}C{c:02d}", name=f"测试小区{c}", address=f"测试路{c}号"
        )
        for b in range(buildings):
            Building.objects.create(
                compound=compound, grid=grid, area_code=grid.code, code=f"{compound.code}B{b:02d}", name=f"{b + 1}号楼"
            )


@pytest.fixture
def worker(district, user_factory, client):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    client.force_login(user)
    return user


def test_browser_shows_the_users_tree_and_map(district, worker, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = client.get(reverse("territory:browser"))
    assert response.status_code == 200
    html = response.content.decode()
    assert district.communities[0].name in html
    assert district.communities[1].name not in html  # another community: not in scope
    assert "vendor/echarts.min.js" in html and 'class="map territory-map' in html
    assert f"/territory/{district.communities[0].code}/geojson?level=grid" in html


def test_browser_query_count_does_not_grow_with_the_tree(district, user_factory, client, django_assert_max_num_queries):
    leader = user_factory(Role.LEADER, district.district)
    client.force_login(leader)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("territory:browser"))
    html = response.content.decode()
    for area in district.streets + district.communities:
        assert area.name in html
    # Grids are loaded lazily, per community, through htmx.
    assert f'hx-get="/territory/{district.communities[0].code}/children"' in html


def test_lazy_children_fragment(district, worker, client):
    response = client.get(reverse("territory:children", args=[district.communities[0].code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert district.grids[0].name in html and "/territory/grid/" in html
    assert client.get(reverse("territory:children", args=[district.communities[1].code])).status_code == 404


def test_grid_page(district, worker, user_factory, client, django_assert_max_num_queries):
    grid = district.grids[0]
    user_factory(Role.GRID_CHIEF, grid, display_name="王网格长")
    user_factory(Role.AREA_CHIEF, grid, display_name="李片长")
    user_factory(Role.GRID_CHIEF, district.grids[1], display_name="别的网格长")
    add_compounds(grid, n=3, buildings=2)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("territory:grid", args=[grid.code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "王网格长" in html and "李片长" in html and "别的网格长" not in html
    assert "测试小区2" in html
    assert '<b id="kpi-buildings">6</b>' in html and '<b id="kpi-compounds">3</b>' in html
    assert '<b id="kpi-population">100</b>' in html
    assert f"/territory/{grid.code}/geojson" in html


def test_grid_page_shows_chiefs_who_own_the_grid(district, worker, user_factory, client):
    grid, community = district.grids[1], district.communities[0]
    two_grids = user_factory(Role.GRID_CHIEF, community, username="wgz1", display_name="两格网格长")
    patch = user_factory(Role.AREA_CHIEF, community, username="pz1", display_name="包片片长")
    other = user_factory(Role.AREA_CHIEF, community, username="pz2", display_name="别片片长")
    for user, duty, area in (
        (two_grids, Duty.GRID_CHIEF, district.grids[0]),
        (two_grids, Duty.GRID_CHIEF, grid),
        (patch, Duty.AREA_CHIEF, grid),
        (other, Duty.AREA_CHIEF, district.grids[0]),
    ):
        Responsibility.objects.create(user=user, duty=duty, area=area, area_code=area.code)
    html = client.get(reverse("territory:grid", args=[grid.code])).content.decode()
    assert "两格网格长" in html and "包片片长" in html and "别片片长" not in html
    assert html.count("两格网格长") == 1


def test_grid_page_query_count_is_flat(district, worker, client, django_assert_max_num_queries):
    grid = district.grids[0]
    add_compounds(grid, n=20, buildings=3)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("territory:grid", args=[grid.code])).status_code == 200


def test_area_page_lists_children_with_map(district, worker, client, django_assert_max_num_queries):
    community = district.communities[0]
    with django_assert_max_num_queries(14):
        response = client.get(reverse("territory:area", args=[community.code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert district.grids[0].name in html and district.grids[1].name in html
    assert f'data-geojson="/territory/{community.code}/geojson"' in html


def test_street_page_for_a_street_admin(district, user_factory, client):
    client.force_login(user_factory(Role.STREET_ADMIN, district.streets[0]))
    response = client.get(reverse("territory:area", args=[district.streets[0].code]))
    assert response.status_code == 200
    assert district.communities[0].name in response.content.decode()
    # An area page for a grid code redirects to the grid page.
    response = client.get(reverse("territory:area", args=[district.grids[0].code]))
    assert response.status_code == 302 and response.url == reverse("territory:grid", args=[district.grids[0].code])


def test_outside_scope_is_404(district, worker, client):
    other_grid = next(g for g in district.grids if g.parent_id == district.communities[1].pk)
    assert client.get(reverse("territory:grid", args=[other_grid.code])).status_code == 404
    assert client.get(reverse("territory:area", args=[district.communities[1].code])).status_code == 404
    assert client.get(reverse("territory:area", args=[district.streets[0].code])).status_code == 404  # above
    assert client.get(reverse("territory:geojson", args=[other_grid.code])).status_code == 404
    assert client.get(reverse("territory:grid", args=["99999999999999"])).status_code == 404
    # A community is not a grid.
    assert client.get(reverse("territory:grid", args=[district.communities[0].code])).status_code == 404


def test_geojson_endpoint(district, worker, client):
    community = district.communities[0]
    data = client.get(reverse("territory:geojson", args=[community.code])).json()
    assert data["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in data["features"]] == [community.code + "01", community.code + "02"]
    assert data["features"][0]["properties"]["url"] == reverse("territory:grid", args=[community.code + "01"])
    assert data["features"][0]["geometry"]["type"] == "Polygon"
    single = client.get(reverse("territory:geojson", args=[community.code + "01"])).json()
    assert [f["properties"]["code"] for f in single["features"]] == [community.code + "01"]


def test_capability_and_login_required(district, user_factory, client):
    url = reverse("territory:browser")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response.url
    client.force_login(user_factory(Role.AUDIT_ADMIN, district.district))  # no VIEW_TERRITORY
    assert client.get(url).status_code == 403
    assert client.get(reverse("territory:grid", args=[district.grids[0].code])).status_code == 403


def test_unbound_user_sees_an_empty_browser(db, user_factory, client):
    client.force_login(user_factory(Role.LEADER, None))
    response = client.get(reverse("territory:browser"))
    assert response.status_code == 200 and "未绑定辖区" in response.content.decode()
