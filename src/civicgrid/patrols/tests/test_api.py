"""/api/patrols: the contract (status codes, error bodies, idempotency, scope) and the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.patrols.models import TrackPoint
from civicgrid.patrols.tests.conftest import PatrolWorld, points

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def test_patrol_over_the_api(client: Client, world: PatrolWorld) -> None:
    client.force_login(world.road_chief)
    started = timezone.now() - dt.timedelta(minutes=10)
    r = _post(client, "/api/patrols/", {"client_id": "c-1", "started_at": started.isoformat()})
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert _post(client, "/api/patrols/", {"client_id": "c-1"}).json()["id"] == pid  # retry: same patrol
    assert _post(client, "/api/patrols/", {"client_id": "c-1"}).status_code == 200
    other = _post(client, "/api/patrols/", {"client_id": "c-2"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "patrol_active"
    assert "已有进行中的巡查" in other.json()["error"]["message"]

    batch = points(world.road_track(), started)
    r = _post(client, f"/api/patrols/{pid}/points", {"points": batch})
    assert r.json() == {"received": 11, "accepted": 11, "duplicates": 0, "point_count": 11}
    r = _post(client, f"/api/patrols/{pid}/points", {"points": batch[:4]})  # a retried batch
    assert r.json()["duplicates"] == 4

    ended = _post(client, f"/api/patrols/{pid}/end").json()
    assert ended["status"] == "ended" and ended["counts_toward_duty"] and ended["coverage"] >= 0.95
    duty = client.get("/api/patrols/duty").json()
    assert (duty["counted"], duty["required"], duty["met"]) == (1, 2, False)
    mine = client.get("/api/patrols/mine", {"day": timezone.localdate().isoformat()}).json()
    assert mine["count"] == 1 and mine["items"][0]["id"] == pid
    assert client.get("/api/patrols/mine", {"day": "2020-01-01"}).json()["count"] == 0


def test_bad_batches_get_clear_errors(client: Client, world: PatrolWorld) -> None:
    client.force_login(world.road_chief)
    pid = _post(client, "/api/patrols/").json()["id"]
    now_ms = int(timezone.now().timestamp() * 1000)
    r = _post(client, f"/api/patrols/{pid}/points", {"points": [{"t": now_ms, "lon": 200, "lat": 40.7}]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_points" and r.json()["error"]["fields"]["bad_indexes"] == [0]
    too_many = [{"t": now_ms + i, "lon": 111.6, "lat": 40.76} for i in range(10001)]
    r = _post(client, f"/api/patrols/{pid}/points", {"points": too_many})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_points"
    assert TrackPoint.objects.count() == 0


def test_another_workers_patrol_is_not_found(client: Client, world: PatrolWorld) -> None:
    client.force_login(world.road_chief)
    pid = _post(client, "/api/patrols/").json()["id"]
    client.force_login(world.grid_chief)
    now_ms = int(timezone.now().timestamp() * 1000)
    r = _post(client, f"/api/patrols/{pid}/points", {"points": [{"t": now_ms, "lon": 111.6, "lat": 40.76}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert _post(client, f"/api/patrols/{pid}/end").status_code == 404
    assert client.get("/api/patrols/mine").json()["count"] == 0


def test_only_chiefs_patrol(client: Client, world: PatrolWorld, user_factory: Any) -> None:
    worker = user_factory(Role.COMMUNITY_WORKER, world.district.communities[0], username="sgz")
    client.force_login(worker)
    assert _post(client, "/api/patrols/").status_code == 403
    assert client.get("/api/patrols/duty").status_code == 403
    assert client.get("/patrols/").status_code == 403
    me = client.get("/api/accounts/me").json()
    assert "patrols.view" in me["capabilities"] and "patrols.patrol" not in me["capabilities"]


def test_anonymous_calls_are_refused(client: Client, world: PatrolWorld) -> None:
    assert _post(client, "/api/patrols/").status_code == 401
    assert client.get("/api/patrols/duty").status_code == 401
    assert client.get("/patrols/").status_code == 302


def test_openapi_documents_the_patrol_operations(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    ops = {(m, p): op for p, item in paths.items() if p.startswith("/api/patrols") for m, op in item.items()}
    assert set(ops) == {
        ("post", "/api/patrols/"),
        ("post", "/api/patrols/{patrol_id}/points"),
        ("post", "/api/patrols/{patrol_id}/end"),
        ("get", "/api/patrols/mine"),
        ("get", "/api/patrols/duty"),
        ("get", "/api/patrols/tracks"),
        ("get", "/api/patrols/{patrol_id}/track"),
        ("post", "/api/patrols/{patrol_id}/review"),
        ("get", "/api/patrols/compliance"),
    }
    assert all(op.get("summary") and op.get("security") for op in ops.values())


def test_phone_page_shows_the_duty(client: Client, world: PatrolWorld, django_assert_max_num_queries: Any) -> None:
    client.force_login(world.road_chief)
    with django_assert_max_num_queries(15):
        body = client.get("/patrols/").content.decode()
    assert "今日已完成 0 / 2 次" in body and 'id="patrol-start"' in body
