# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import pytest

from civicgrid.accounts.enums import Role

pytestmark = pytest.mark.django_db

API = "/api/territory"


@pytest.fixture
def worker(district, user_factory, client):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    client.force_login(user)
    return user


def test_login_required(district, client):
    response = client.get(f"{API}/areas")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_capability_required(district, user_factory, client):
    client.force_login(user_factory(Role.AUDIT_ADMIN, district.district))
    response = client.get(f"{API}/areas")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_areas_are_scoped_paginated_and_filtered(district, worker, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        data = client.get(f"{API}/areas").json()
    community = district.communities[0]
    assert data["count"] == 3
    assert [a["code"] for a in data["items"]] == [community.code, community.code + "01", community.code + "02"]
    assert data["items"][1]["parent_code"] == community.code and data["items"][1]["level"] == "grid"
    grids = client.get(f"{API}/areas", {"level": "grid"}).json()
    assert grids["count"] == 2
    page = client.get(f"{API}/areas", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 3 and [a["code"] for a in page["items"]] == [community.code + "01"]
    by_parent = client.get(f"{API}/areas", {"parent": community.code}).json()
    assert by_parent["count"] == 2
    assert client.get(f"{API}/areas", {"level": "planet"}).status_code == 422


def test_area_detail_and_scope(district, worker, client):
    community = district.communities[0]
    data = client.get(f"{API}/areas/{community.code}").json()
    assert data["name"] == community.name and data["child_count"] == 2 and data["geometry"]["type"] == "Polygon"
    other = district.communities[1]
    response = client.get(f"{API}/areas/{other.code}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/areas/{other.code}01/geojson").status_code == 404


def test_area_geojson(district, worker, client):
    community = district.communities[0]
    data = client.get(f"{API}/areas/{community.code}/geojson").json()
    assert [f["properties"]["code"] for f in data["features"]] == [community.code + "01", community.code + "02"]


def test_locate_single(district, worker, client):
    grid = district.grids[0]
    data = client.get(f"{API}/locate", {"lon": 111.605, "lat": 40.765}).json()
    assert data["inside"] and data["grid"]["code"] == grid.code and data["district"]["code"] == "150104"
    outside = client.get(f"{API}/locate", {"lon": 100.0, "lat": 30.0}).json()
    assert outside["inside"] is False and outside["status"] == "outside" and outside["message"] == "不在辖区范围内"
    # A grid of another community: not leaked.
    other = client.get(f"{API}/locate", {"lon": 111.605, "lat": 40.775}).json()
    assert other["status"] == "out_of_scope" and other["grid"] is None
    bad = client.get(f"{API}/locate", {"lon": 111.6, "lat": 95})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_coordinates"
    assert client.get(f"{API}/locate", {"lon": "abc", "lat": 40}).status_code == 422


def test_locate_bulk(district, user_factory, client):
    client.force_login(user_factory(Role.LEADER, district.district))
    points = [[111.605, 40.765], [111.61, 40.765], [100.0, 30.0], [111.6, 95.0], [111.635, 40.775]]
    response = client.post(f"{API}/locate", {"points": points}, content_type="application/json")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 5 and data["inside"] == 3
    assert [r["status"] for r in data["results"]] == ["inside", "inside", "outside", "invalid", "inside"]
    assert data["results"][1]["grid"]["code"] == "15010400100101"  # border: lowest code
    assert data["results"][4]["grid"]["code"] == "15010400200202"


def test_locate_bulk_limit(district, worker, client):
    response = client.post(f"{API}/locate", {"points": [[111.6, 40.77]] * 10_001}, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_many_points" and "10000" in error["message"]
    ok = client.post(f"{API}/locate", {"points": [[111.605, 40.765]] * 10_000}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["inside"] == 10_000


def test_locate_bulk_rejects_malformed_points(district, worker, client):
    response = client.post(f"{API}/locate", {"points": [[111.6]]}, content_type="application/json")
    assert response.status_code == 422
