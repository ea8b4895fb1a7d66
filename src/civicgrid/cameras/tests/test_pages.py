"""Pages: the registry (scope, filters, pagination, status badges, query count), a camera's
page with its alerts and cases, the alert list; and the staff API's contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.cameras import services, views
from civicgrid.cameras.enums import CameraStatus
from civicgrid.cameras.models import Camera
from civicgrid.cameras.tests.conftest import Cams
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


def many_cameras(cams: Cams, n: int) -> None:
    d = cams.world.d
    now = timezone.now()
    for i in range(n):
        grid = d.grids[i % len(d.grids)]
        lon, lat = cams.world.point(grid)
        camera = services.camera_register(code=f"CAM-{i + 100:04d}", name=f"探头{i}", lon=lon, lat=lat)
        status = CameraStatus.ONLINE if i % 3 else CameraStatus.DISABLED
        Camera.objects.filter(pk=camera.pk).update(status=status, last_heartbeat_at=now - dt.timedelta(seconds=i))


def test_registry_lists_the_users_cameras_with_status(client: Client, cams: Cams) -> None:
    many_cameras(cams, 8)
    client.force_login(cams.world.operator)
    response = client.get("/cameras/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "CAM-0001" in html and "CAM-0107" in html
    assert 'class="cam-badge cam-offline"' in html  # CAM-0001 never sent a heartbeat
    assert response.context["counts"] == {"online": 5, "offline": 1, "disabled": 3}
    # A community worker sees only their community's cameras (grids 0 and 1).
    client.force_login(cams.world.other_worker)  # community 2
    codes = [c.code for c, _s in client.get("/cameras/").context["rows"]]
    community = cams.world.d.communities[2].code
    assert codes and all(Camera.objects.get(code=c).area_code.startswith(community) for c in codes)
    assert "CAM-0001" not in codes


def test_registry_filters(client: Client, cams: Cams) -> None:
    many_cameras(cams, 12)
    client.force_login(cams.world.operator)
    grid = cams.world.d.grids[1]
    rows = client.get("/cameras/", {"area": grid.code}).context["rows"]
    assert rows and all(c.area_code == grid.code for c, _s in rows)
    rows = client.get("/cameras/", {"status": "disabled"}).context["rows"]
    assert len(rows) == 4 and all(s == "disabled" for _c, s in rows)
    rows = client.get("/cameras/", {"status": "offline"}).context["rows"]
    assert [c.code for c, _s in rows] == ["CAM-0001"]
    rows = client.get("/cameras/", {"q": "探头1"}).context["rows"]
    assert {c.code for c, _s in rows} == {"CAM-0101", "CAM-0110", "CAM-0111"}
    assert client.get("/cameras/", {"area": "abc", "status": "nope"}).status_code == 200


def test_registry_paginates_with_filters_kept(client: Client, cams: Cams, monkeypatch: Any) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    many_cameras(cams, 11)
    client.force_login(cams.world.operator)
    first = client.get("/cameras/", {"kind": "bullet"})
    assert len(first.context["rows"]) == 5 and 'href="?kind=bullet&amp;page=2"' in first.content.decode()
    last = client.get("/cameras/", {"kind": "bullet", "page": "3"})
    assert len(last.context["rows"]) == 2


def test_registry_query_count_does_not_grow(client: Client, cams: Cams, django_assert_max_num_queries: Any) -> None:
    many_cameras(cams, 40)
    client.force_login(cams.world.operator)
    client.get("/cameras/")  # warm the session and the locate index
    with django_assert_max_num_queries(10):
        response = client.get("/cameras/")
    assert len(response.context["rows"]) == 41


def test_detail_shows_alerts_and_their_cases(client: Client, cams: Cams, django_assert_max_num_queries: Any) -> None:
    for i in range(6):
        cams.alert(client, f"d-{i}")
    cams.alert(client, "d-m", event_type="motion")
    client.force_login(cams.world.worker)
    url = f"/cameras/{cams.camera.pk}/"
    client.get(url)
    with django_assert_max_num_queries(10):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and "清泉街1号探头" in html
    case = cams.camera.case_links.get().case
    assert case.tracking_code in html and "共6次" in html and "按规则忽略" in html
    # Outside the worker's territory: 404.
    client.force_login(cams.world.other_worker)
    assert client.get(url).status_code == 404


def test_alert_list_filters_by_outcome(client: Client, cams: Cams) -> None:
    cams.alert(client, "d-1")
    cams.alert(client, "d-2", event_type="motion")
    client.force_login(cams.world.operator)
    page = client.get("/cameras/alerts/", {"outcome": "ignored_by_rule"}).context["page"]
    assert [a.delivery_id for a in page] == ["d-2"]
    assert len(client.get("/cameras/alerts/").context["page"]) == 2


def test_pages_need_the_case_view_capability(client: Client, cams: Cams) -> None:
    admin = make_user(Role.AUDIT_ADMIN, cams.world.d.district, username="auditor")
    client.force_login(admin)
    assert client.get("/cameras/").status_code == 403
    client.logout()
    assert client.get("/cameras/").status_code == 302


def test_api_registry_and_alerts_contract(client: Client, cams: Cams) -> None:
    cams.alert(client, "d-1")
    client.force_login(cams.world.operator)
    body = client.get("/api/cameras/", {"status": "online"}).json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["code"] == "CAM-0001" and item["shown_status"] == "online" and item["grid_name"]
    assert set(item) >= {"id", "kind", "lon", "lat", "area_code", "grid_id", "status", "last_heartbeat_at"}
    one = client.get(f"/api/cameras/{cams.camera.pk}").json()
    assert one["id"] == cams.camera.pk
    alerts = client.get("/api/cameras/alerts").json()
    assert alerts["count"] == 1 and alerts["items"][0]["outcome"] == "case_opened"
    assert alerts["items"][0]["camera_code"] == "CAM-0001" and alerts["items"][0]["case_id"]
    client.force_login(cams.world.other_worker)
    assert client.get("/api/cameras/").json()["count"] == 0
    assert client.get(f"/api/cameras/{cams.camera.pk}").status_code == 404
    client.logout()
    assert client.get("/api/cameras/").status_code == 401


def test_openapi_documents_the_signed_endpoints(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    post = schema["paths"]["/api/cameras/alerts"]["post"]
    # The signature is the operation's declared authentication (the contract test requires one).
    assert "HMAC" in post["summary"] and post["security"] == [{"CameraSignatureAuth": []}]
    assert schema["components"]["securitySchemes"]["CameraSignatureAuth"]["name"] == "X-CivicGrid-Signature"
    assert schema["paths"]["/api/cameras/heartbeat"]["post"]["security"] == [{"CameraSignatureAuth": []}]
