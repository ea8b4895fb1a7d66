"""/api/assessment/schemes: read by ranking readers, written by the administrator; bad weights
are a 400 with a Chinese message and the field, nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.audit.models import AuditEvent
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = pytest.mark.django_db
BODY = {
    "name": "季度方案",
    "weight_on_time_sign_for": 25,
    "weight_resolution": 25,
    "weight_satisfaction": 25,
    "weight_closure": 15,
    "weight_rehandling": 10,
    "effective_from": "2026-04-01",
}


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _post(c: Client, body: dict[str, Any]) -> Any:
    return c.post("/api/assessment/schemes", json.dumps(body), content_type="application/json")


def test_admin_creates_and_changes_a_scheme(district: SampleDistrict) -> None:
    c = _client(make_user(Role.SYSTEM_ADMIN, district.district, username="sys"))
    created = _post(c, BODY)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["weight_closure"] == 15 and body["is_active"] is True
    patched = c.patch(
        f"/api/assessment/schemes/{body['id']}",
        json.dumps({"weight_closure": 5, "weight_rehandling": 20}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["weight_rehandling"] == 20
    assert AuditEvent.objects.filter(object_type="assessment.assessmentscheme", object_id=str(body["id"])).count() == 2
    listing = c.get("/api/assessment/schemes").json()
    assert listing["count"] == 2 and listing["items"][0]["id"] == body["id"]  # newest effective first


def test_bad_weights_are_a_400_with_the_field(district: SampleDistrict) -> None:
    c = _client(make_user(Role.SYSTEM_ADMIN, district.district, username="sys"))
    bad = _post(c, {**BODY, "weight_closure": 20})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid" and "各项权重之和必须为100" in error["message"]
    assert "weights" in error["fields"]
    assert AssessmentScheme.objects.count() == 1  # the seeded default only
    scheme = AssessmentScheme.objects.get()
    over = c.patch(
        f"/api/assessment/schemes/{scheme.pk}", json.dumps({"weight_closure": 200}), content_type="application/json"
    )
    assert over.status_code == 400 and "weight_closure" in over.json()["error"]["fields"]
    missing = c.patch("/api/assessment/schemes/999999", json.dumps({"name": "x"}), content_type="application/json")
    assert missing.status_code == 404


def test_readers_read_and_others_are_refused(district: SampleDistrict) -> None:
    street = _client(make_user(Role.STREET_ADMIN, district.streets[0], username="st"))
    assert street.get("/api/assessment/schemes").status_code == 200
    refused = _post(street, BODY)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    auditor = _client(make_user(Role.AUDIT_ADMIN, district.district, username="aud"))
    assert auditor.get("/api/assessment/schemes").status_code == 403
    assert Client().get("/api/assessment/schemes").status_code == 401
