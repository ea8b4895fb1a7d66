"""Webhook security: signatures, sources, the timestamp window and replays of a delivery id."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from civicgrid.cameras.models import CameraAlert
from civicgrid.cameras.tests.conftest import ALERTS, HEARTBEAT, Cams, post_signed
from civicgrid.cases import webhooks
from civicgrid.cases.models import Case, WebhookSource

pytestmark = pytest.mark.django_db


def alert_body(cams: Cams, **extra: Any) -> dict[str, Any]:
    body = {
        "source": cams.source.name,
        "delivery_id": "d-1",
        "camera": cams.camera.code,
        "event_type": "illegal_parking",
        "occurred_at": timezone.now().isoformat(),
    }
    body.update(extra)
    return body


def assert_rejected(response: Any, code: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("url", [ALERTS, HEARTBEAT])
def test_unsigned_requests_are_401_with_a_json_body(client: Client, cams: Cams, url: str) -> None:
    response = client.post(url, json.dumps(alert_body(cams)), content_type="application/json")
    assert_rejected(response, "unauthenticated")
    assert CameraAlert.objects.count() == 0


def test_bad_signatures_are_refused(client: Client, cams: Cams) -> None:
    body = alert_body(cams)
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    for signature in ("sha256=" + "0" * 64, webhooks.sign("another-secret", ts, raw), "garbage", ""):
        response = post_signed(client, ALERTS, raw, cams.secret, stamp=int(ts), signature=signature)
        assert_rejected(response, "bad_signature")
    # Signed, then changed (another camera event type): the signature no longer matches.
    tampered = json.dumps(alert_body(cams, event_type="motion")).encode()
    response = post_signed(client, ALERTS, tampered, cams.secret, signature=webhooks.sign(cams.secret, ts, raw))
    assert_rejected(response, "bad_signature")
    assert CameraAlert.objects.count() == 0 and Case.objects.count() == 0


def test_unknown_or_inactive_source_is_refused(client: Client, cams: Cams) -> None:
    assert_rejected(post_signed(client, ALERTS, alert_body(cams, source="nobody"), cams.secret), "unknown_source")
    assert_rejected(post_signed(client, ALERTS, alert_body(cams, source=None), cams.secret), "unknown_source")
    WebhookSource.objects.filter(pk=cams.source.pk).update(is_active=False)
    assert_rejected(post_signed(client, ALERTS, alert_body(cams), cams.secret), "unknown_source")
    assert_rejected(cams.heartbeat(client, [cams.camera.code]), "unknown_source")
    assert CameraAlert.objects.count() == 0


def test_source_may_come_from_the_header_but_must_agree(client: Client, cams: Cams) -> None:
    body = alert_body(cams, source=None)
    ok = post_signed(client, ALERTS, body, cams.secret, headers={"X-CivicGrid-Source": cams.source.name})
    assert ok.status_code == 201
    clash = post_signed(
        client, ALERTS, alert_body(cams, delivery_id="d-2"), cams.secret, headers={"X-CivicGrid-Source": "other"}
    )
    assert_rejected(clash, "source_mismatch")


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_a_stale_timestamp_is_a_replay(client: Client, cams: Cams, offset: int) -> None:
    with time_machine.travel(timezone.now(), tick=False):
        response = post_signed(client, ALERTS, alert_body(cams), cams.secret, stamp=int(time.time()) + offset)
    assert_rejected(response, "stale_timestamp")
    assert CameraAlert.objects.count() == 0


def test_a_bad_timestamp_is_refused(client: Client, cams: Cams) -> None:
    raw = json.dumps(alert_body(cams)).encode()
    response = client.post(
        ALERTS,
        raw,
        content_type="application/json",
        headers={"X-CivicGrid-Timestamp": "soon", "X-CivicGrid-Signature": webhooks.sign(cams.secret, "soon", raw)},
    )
    assert_rejected(response, "bad_timestamp")


def test_the_same_delivery_id_gets_the_same_answer_and_writes_nothing(client: Client, cams: Cams) -> None:
    first = post_signed(client, ALERTS, alert_body(cams), cams.secret)
    assert first.status_code == 201
    # The platform retries later: a new timestamp and signature, the same delivery.
    again = post_signed(client, ALERTS, alert_body(cams), cams.secret, stamp=int(time.time()) + 3)
    assert again.status_code == 200
    expected = {**first.json(), "replayed": True}
    assert again.json() == expected
    assert CameraAlert.objects.count() == 1 and Case.objects.count() == 1
    # Even with another payload under the same id: the first answer stands.
    changed = post_signed(client, ALERTS, alert_body(cams, event_type="motion"), cams.secret)
    assert changed.status_code == 200 and changed.json()["outcome"] == first.json()["outcome"]
    assert CameraAlert.objects.count() == 1


def test_the_delivery_id_is_signed(client: Client, cams: Cams) -> None:
    """A captured request replayed with another delivery header is refused (the id is in the
    signed body; the header, if sent, must agree)."""
    response = post_signed(client, ALERTS, alert_body(cams), cams.secret, headers={"X-CivicGrid-Delivery": "evil-2"})
    assert response.status_code == 400 and "delivery_id" in response.json()["error"]["fields"]
    assert CameraAlert.objects.count() == 0


def test_delivery_ids_are_per_source(client: Client, cams: Cams) -> None:
    _other, other_secret = webhooks.webhook_source_create(name="dahua")
    cams.camera.source = None
    cams.camera.save(update_fields=["source"])
    assert post_signed(client, ALERTS, alert_body(cams), cams.secret).status_code == 201
    assert post_signed(client, ALERTS, alert_body(cams, source="dahua"), other_secret).status_code == 201
    assert CameraAlert.objects.count() == 2


def test_too_large_a_request_is_413(client: Client, cams: Cams, settings: Any) -> None:
    settings.CASES_PHOTO_MAX_BYTES = 1024
    body = alert_body(cams, snapshot="A" * 200_000)
    response = post_signed(client, ALERTS, body, cams.secret)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
