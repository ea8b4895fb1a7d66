"""Camera / IoT alert webhook: signed, replay-protected, idempotent per delivery id."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import time_machine
from django.test import Client

from civicgrid.cases import webhooks
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Case, WebhookDelivery, WebhookSource
from civicgrid.cases.tests.conftest import World

pytestmark = pytest.mark.django_db
URL = "/api/cases/webhooks/{}"


@pytest.fixture
def source(world: World) -> tuple[WebhookSource, str]:
    return webhooks.webhook_source_create(
        name="hik-platform", category_map={"illegal_parking": "SJ0503", "garbage": "SJ0101"}, label="视频平台"
    )


def payload(w: World, **extra: Any) -> bytes:
    lon, lat = w.point()
    data: dict[str, Any] = {
        "event_type": "illegal_parking",
        "camera": "CAM-0031",
        "time": "2025-05-01T09:30:00+08:00",
        "lon": lon,
        "lat": lat,
        "snapshot_url": "https://cam.example/snap/1.jpg",
        "description": "消防通道有车辆停放超过10分钟",
    }
    data.update(extra)
    return json.dumps(data, ensure_ascii=False).encode()


def deliver(
    client: Client,
    name: str,
    secret: str,
    body: bytes,
    delivery: str = "d-1",
    *,
    stamp: int | None = None,
    signature: str | None = None,
) -> Any:
    ts = str(int(time.time()) if stamp is None else stamp)
    headers = {
        "X-CivicGrid-Timestamp": ts,
        "X-CivicGrid-Delivery": delivery,
        "X-CivicGrid-Signature": signature or webhooks.sign(secret, ts, body),
    }
    return client.post(URL.format(name), body, content_type="application/json", headers=headers)


def test_secret_is_stored_encrypted(source: tuple[WebhookSource, str]) -> None:
    src, secret = source
    assert secret not in src.secret_cipher
    assert webhooks.source_secret(WebhookSource.objects.get(pk=src.pk)) == secret


def test_good_signature_creates_one_camera_case(client: Client, world: World, source: Any) -> None:
    src, secret = source
    response = deliver(client, src.name, secret, payload(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["replayed"] is False and body["delivery_id"] == "d-1"
    case = Case.objects.get(pk=body["case_id"])
    assert case.channel == Channel.CAMERA
    assert case.category.code == "SJ0503"
    assert case.grid_id == world.d.grids[0].pk
    assert "CAM-0031" in case.title and "https://cam.example/snap/1.jpg" in case.description
    delivery = WebhookDelivery.objects.get()
    assert delivery.case_id == case.pk and delivery.camera == "CAM-0031" and delivery.event_time is not None


def test_redelivery_returns_the_same_case(client: Client, world: World, source: Any) -> None:
    src, secret = source
    first = deliver(client, src.name, secret, payload(world))
    # The sender retries later: new timestamp, new signature, same delivery id.
    again = deliver(client, src.name, secret, payload(world), stamp=int(time.time()) + 5)
    assert again.status_code == 200
    assert again.json()["case_id"] == first.json()["case_id"] and again.json()["replayed"] is True
    assert Case.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    other = deliver(client, src.name, secret, payload(world), delivery="d-2")
    assert other.status_code == 201 and Case.objects.count() == 2


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_timestamp_is_rejected(client: Client, world: World, source: Any, offset: int) -> None:
    src, secret = source
    # The clock stands still, so one second past the tolerance stays one second past it.
    with time_machine.travel(1_800_000_000, tick=False):
        response = deliver(client, src.name, secret, payload(world), stamp=int(time.time()) + offset)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    assert Case.objects.count() == 0


def test_tolerance_is_a_setting(client: Client, world: World, source: Any, settings: Any) -> None:
    settings.CASES_WEBHOOK_TOLERANCE_SECONDS = 30
    src, secret = source
    assert deliver(client, src.name, secret, payload(world), stamp=int(time.time()) - 60).status_code == 401


def test_bad_signature_is_rejected(client: Client, world: World, source: Any) -> None:
    src, secret = source
    body = payload(world)
    for signature in ("sha256=" + "0" * 64, webhooks.sign("wrong-secret", str(int(time.time())), body), "garbage"):
        response = deliver(client, src.name, secret, body, signature=signature)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_signature"
    # The body was changed after signing.
    ts = str(int(time.time()))
    response = client.post(
        URL.format(src.name),
        payload(world, event_type="garbage"),
        content_type="application/json",
        headers={
            "X-CivicGrid-Timestamp": ts,
            "X-CivicGrid-Delivery": "d-9",
            "X-CivicGrid-Signature": webhooks.sign(secret, ts, body),
        },
    )
    assert response.status_code == 401
    assert Case.objects.count() == 0


def test_unknown_or_inactive_source_is_rejected(client: Client, world: World, source: Any) -> None:
    src, secret = source
    response = deliver(client, "nobody", secret, payload(world))
    assert response.status_code == 401 and response.json()["error"]["code"] == "unknown_source"
    WebhookSource.objects.filter(pk=src.pk).update(is_active=False)
    assert deliver(client, src.name, secret, payload(world)).status_code == 401
    assert Case.objects.count() == 0


def test_unsigned_request_is_unauthenticated(client: Client, source: Any) -> None:
    response = client.post(URL.format(source[0].name), b"{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", None),
        (b"[1, 2]", None),
        (json.dumps({"camera": "x"}).encode(), "event_type"),
        (json.dumps({"event_type": "unmapped"}).encode(), "event_type"),
        (json.dumps({"event_type": "garbage", "lon": 500, "lat": 40}).encode(), "lon"),
        (json.dumps({"event_type": "garbage", "time": "soon"}).encode(), "time"),
        (json.dumps({"event_type": "garbage", "snapshot_url": "file:///etc/passwd"}).encode(), "snapshot_url"),
    ],
)
def test_bad_payload_is_400_and_writes_nothing(
    client: Client, world: World, source: Any, body: bytes, field: str | None
) -> None:
    src, secret = source
    response = deliver(client, src.name, secret, body)
    assert response.status_code == 400, response.content
    if field:
        assert field in response.json()["error"]["fields"]
    assert Case.objects.count() == 0 and WebhookDelivery.objects.count() == 0
    # A fixed redelivery with the same id then succeeds.
    assert deliver(client, src.name, secret, payload(world, event_type="garbage")).status_code == 201


def test_missing_delivery_id_is_400(client: Client, world: World, source: Any) -> None:
    src, secret = source
    assert deliver(client, src.name, secret, payload(world), delivery="").status_code == 400
    assert Case.objects.count() == 0


def test_default_category(client: Client, world: World) -> None:
    src, secret = webhooks.webhook_source_create(name="iot", default_category="SJ0406")
    response = deliver(client, src.name, secret, payload(world, event_type="water_level"))
    assert response.status_code == 201
    assert Case.objects.get().category.code == "SJ0406"


def test_webhooksource_command(client: Client, world: World) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("webhooksource", "create", "cams", "--map", "illegal_parking=SJ0503", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert deliver(client, "cams", secret, payload(world)).status_code == 201
    listing = StringIO()
    call_command("webhooksource", "list", stdout=listing)
    assert "cams" in listing.getvalue() and secret not in listing.getvalue()
    with pytest.raises(CommandError):
        call_command("webhooksource", "create", "other", "--map", "x=NOPE", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("webhooksource", "create", "cams", stdout=StringIO())  # the name is taken
