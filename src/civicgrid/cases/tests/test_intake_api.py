"""Intake through the JSON API: Idempotency-Key on POST /api/cases/ (session or X-Api-Key)
and POST /api/cases/patrol-reports; a retry returns the same case, another payload with the
same key is a 409."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.cases import apikeys
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Case, IntakeRecord, IntakeSubmission
from civicgrid.cases.submissions import intake_drain
from civicgrid.cases.tests.conftest import World

pytestmark = pytest.mark.django_db


def body(w: World, **extra: Any) -> dict[str, Any]:
    lon, lat = w.point()
    data = {
        "title": "井盖缺失",
        "description": "人行道井盖缺失, 有行人跌落风险",
        "category": "BJ0101",
        "lon": lon,
        "lat": lat,
    }
    data.update(extra)
    return data


def post(client: Client, url: str, data: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data, content_type="application/json", headers=headers)


def test_staff_intake_retry_returns_the_same_case(client: Client, world: World) -> None:
    client.force_login(world.operator)
    first = post(client, "/api/cases/", body(world), **{"Idempotency-Key": "call-1"})
    again = post(client, "/api/cases/", body(world), **{"Idempotency-Key": "call-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Case.objects.count() == 1
    assert IntakeRecord.objects.get().channel == Channel.API


def test_same_key_different_payload_is_409(client: Client, world: World) -> None:
    client.force_login(world.operator)
    assert post(client, "/api/cases/", body(world), **{"Idempotency-Key": "call-2"}).status_code == 201
    other = post(client, "/api/cases/", body(world, title="别的事"), **{"Idempotency-Key": "call-2"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert Case.objects.count() == 1


def test_keys_are_per_caller(client: Client, world: World) -> None:
    client.force_login(world.operator)
    a = post(client, "/api/cases/", body(world), **{"Idempotency-Key": "same"}).json()["id"]
    client.force_login(world.worker)
    b = post(client, "/api/cases/", body(world), **{"Idempotency-Key": "same"}).json()["id"]
    assert a != b


def test_without_a_key_every_post_is_a_new_case(client: Client, world: World) -> None:
    client.force_login(world.operator)
    assert post(client, "/api/cases/", body(world)).status_code == 201
    assert post(client, "/api/cases/", body(world)).status_code == 201
    assert Case.objects.count() == 2


def test_api_key_client(client: Client, world: World) -> None:
    key = apikeys.apikey_create(name="第三方", rate_per_minute=4).plaintext
    first = post(client, "/api/cases/", body(world), **{"X-Api-Key": key, "Idempotency-Key": "r1"})
    # Accepted, not yet a case: a token to follow it by.
    assert first.status_code == 202, first.content
    token = first.json()["token"]
    assert first.json() == {"token": token, "status": "pending", "case_id": None, "tracking_code": None, "error": ""}
    assert Case.objects.count() == 0
    pending = post(client, "/api/cases/", body(world), **{"X-Api-Key": key, "Idempotency-Key": "r1"})
    assert pending.status_code == 202 and pending.json()["token"] == token
    assert intake_drain().created == 1
    case = Case.objects.get()
    assert case.channel == Channel.API and case.created_by is None
    assert IntakeRecord.objects.get(case=case).api_key is not None
    again = post(client, "/api/cases/", body(world), **{"X-Api-Key": key, "Idempotency-Key": "r1"})
    assert again.status_code == 200 and again.json()["case_id"] == case.pk and again.json()["token"] == token
    assert again.json()["tracking_code"] == case.tracking_code
    # Another key using the same Idempotency-Key gets its own submission.
    other = apikeys.apikey_create(name="另一家").plaintext
    third = post(client, "/api/cases/", body(world), **{"X-Api-Key": other, "Idempotency-Key": "r1"})
    assert third.status_code == 202 and third.json()["token"] != token
    assert intake_drain().created == 1 and Case.objects.count() == 2
    # The budget of 4 a minute is spent.
    post(client, "/api/cases/", body(world), **{"X-Api-Key": key})
    limited = post(client, "/api/cases/", body(world), **{"X-Api-Key": key})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"


def test_api_key_cannot_claim_a_staff_channel(client: Client, world: World) -> None:
    key = apikeys.apikey_create(name="第三方").plaintext
    response = post(client, "/api/cases/", body(world, channel="hotline"), **{"X-Api-Key": key})
    assert response.status_code == 403
    assert Case.objects.count() == 0 and IntakeSubmission.objects.count() == 0


def test_bad_api_key_is_403_and_none_is_401(client: Client, world: World) -> None:
    response = post(client, "/api/cases/", body(world), **{"X-Api-Key": "cg_abcdefghij_nope"})
    assert response.status_code == 403
    assert post(client, "/api/cases/", body(world)).status_code == 401


def test_patrol_report(client: Client, world: World) -> None:
    client.force_login(world.chief)
    first = post(client, "/api/cases/patrol-reports", body(world), **{"Idempotency-Key": "p-1"})
    assert first.status_code == 201, first.content
    case = Case.objects.get(pk=first.json()["id"])
    assert case.channel == Channel.PATROL and case.created_by == world.chief
    again = post(client, "/api/cases/patrol-reports", body(world), **{"Idempotency-Key": "p-1"})
    assert again.status_code == 200 and again.json()["id"] == case.pk
    clash = post(client, "/api/cases/patrol-reports", body(world, title="另一处"), **{"Idempotency-Key": "p-1"})
    assert clash.status_code == 409
    assert Case.objects.count() == 1


def test_patrol_report_needs_intake_capability(client: Client, world: World) -> None:
    client.force_login(world.officer)  # department handler: no cases.intake
    assert post(client, "/api/cases/patrol-reports", body(world)).status_code == 403


def test_patrol_report_bad_input(client: Client, world: World) -> None:
    client.force_login(world.chief)
    response = post(client, "/api/cases/patrol-reports", body(world, category="NOPE"))
    assert response.status_code == 400 and "category" in response.json()["error"]["fields"]
    response = post(client, "/api/cases/patrol-reports", body(world), **{"Idempotency-Key": "x" * 65})
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_openapi_documents_the_intake_endpoints(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/cases/", "/api/cases/patrol-reports", "/api/cases/webhooks/{source}"):
        op = schema["paths"][path]["post"]
        assert op["summary"] and op["security"], path
    assert "X-Api-Key" in str(schema["components"]["securitySchemes"])


def test_api_key_client_needs_no_csrf_token(world: World) -> None:
    # A real HTTP client (CSRF enforced, as in production) with only its key.
    strict = Client(enforce_csrf_checks=True)
    key = apikeys.apikey_create(name="外部系统").plaintext
    response = post(strict, "/api/cases/", body(world), **{"X-Api-Key": key, "Idempotency-Key": "csrf-1"})
    assert response.status_code == 202, response.content
