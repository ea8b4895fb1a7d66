from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from civicgrid.indicators import services
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.tests.conftest import World

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_list_is_scoped_paginated_and_carries_progress(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4878)
    client.force_login(world.leader)
    with django_assert_max_num_queries(10):
        body = client.get("/api/indicators/", {"year": 2026}).json()
    assert body["count"] == 3
    first = body["items"][0]
    assert first["code"] == "employment.urban_new" and first["department"] == "玉泉区人力资源和社会保障局"
    assert (first["target"], first["value"], first["percent"], first["expected_percent"]) == (8000, 4878, 61.0, 50.0)
    assert first["latest_period"] == "2026-H1" and first["on_track"] is True
    page = client.get("/api/indicators/", {"year": 2026, "page": 2, "page_size": 2}).json()
    assert page["count"] == 3
    public = client.get("/api/indicators/", {"public_only": True}).json()
    assert [i["code"] for i in public["items"]] == ["employment.urban_new"]
    by_department = client.get("/api/indicators/", {"department": world.health.pk}).json()
    assert [i["code"] for i in by_department["items"]] == ["health.family_doctor_rate"]
    client.force_login(world.street_admin)
    assert client.get("/api/indicators/").json()["count"] == 0


def test_detail_has_series_and_can_enter(client: Client, world: World) -> None:
    client.force_login(world.hr_handler)
    body = client.get(f"/api/indicators/{world.pension.pk}", {"year": 2026}).json()
    assert body["can_enter"] is True and len(body["series"]) == 12 and body["series"][4]["period"] == "2026-05"
    client.force_login(world.health_handler)
    assert client.get(f"/api/indicators/{world.pension.pk}").json()["can_enter"] is False
    client.force_login(world.street_admin)
    response = client.get(f"/api/indicators/{world.pension.pk}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_enter_correct_and_history(client: Client, world: World) -> None:
    client.force_login(world.hr_handler)
    url = f"/api/indicators/{world.jobs.pk}/values"
    r = post(client, url, {"period": "2026-H1", "value": 4800, "expected_version": 0})
    assert r.status_code == 201 and r.json()["outcome"] == "created"
    assert r.json()["value"]["entered_by"] == "人社统计员" and r.json()["value"]["version"] == 1
    r = post(client, url, {"period": "2026-H1", "value": "4878", "note": "更正", "expected_version": 1})
    assert r.status_code == 201 and r.json()["outcome"] == "corrected"
    r = post(client, url, {"period": "2026-H1", "value": "4878", "note": "更正"})
    assert r.status_code == 200 and r.json()["outcome"] == "unchanged"
    history = client.get(url, {"year": 2026}).json()
    assert history["count"] == 2
    assert [(v["version"], v["is_current"], v["value"]) for v in history["items"]] == [
        (2, True, 4878.0),
        (1, False, 4800.0),
    ]
    assert history["items"][0]["supersedes_id"] == history["items"][1]["id"]


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"period": "2026-05", "value": 1}, 400, "invalid", "统计周期(半年)不符"),
        ({"period": "2026-H1", "value": -1}, 400, "invalid", "不能为负数"),
        ({"period": "2026-H1", "value": "abc"}, 400, "invalid", "必须是数字"),
        ({"period": "2026-H1", "value": 1, "expected_version": 3}, 409, "stale_version", "已被他人更新"),
        ({"value": 1}, 422, "invalid_input", "输入内容不合法"),
    ],
)
def test_bad_input_is_a_4xx_with_a_chinese_message(
    client: Client, world: World, body: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    client.force_login(world.hr_handler)
    r = post(client, f"/api/indicators/{world.jobs.pk}/values", body)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == code and fragment in error["message"]
    assert not IndicatorValue.objects.exists()


def test_other_departments_and_readers_are_refused(client: Client, world: World) -> None:
    for user in (world.health_handler, world.leader, world.sysadmin):
        client.force_login(user)
        r = post(client, f"/api/indicators/{world.jobs.pk}/values", {"period": "2026-H1", "value": 1})
        assert r.status_code == 403, user.username
        assert r.json()["error"]["code"] == "forbidden"
    assert not IndicatorValue.objects.exists()


def test_anonymous_is_refused(client: Client, world: World) -> None:
    assert client.get("/api/indicators/").status_code == 401
    assert post(client, f"/api/indicators/{world.jobs.pk}/values", {"period": "2026-H1", "value": 1}).status_code == 401


def test_openapi_documents_the_indicator_operations(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    ops = {(m, p): op for p, item in paths.items() if p.startswith("/api/indicators") for m, op in item.items()}
    assert set(ops) == {
        ("get", "/api/indicators/"),
        ("get", "/api/indicators/{indicator_id}"),
        ("get", "/api/indicators/{indicator_id}/values"),
        ("post", "/api/indicators/{indicator_id}/values"),
    }
    assert all(op.get("summary") and op.get("security") and op.get("operationId") for op in ops.values())
    listing = ops[("get", "/api/indicators/")]
    assert {p["name"] for p in listing["parameters"]} >= {"year", "department", "page"}
