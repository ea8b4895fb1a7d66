"""Fixtures of the camera tests: the cases' sample world, a signing source, rules and a camera."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.cameras import services
from civicgrid.cameras.models import AlertRule, Camera
from civicgrid.cases import webhooks
from civicgrid.cases.models import Category, WebhookSource
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.testing.factories import SampleDistrict

ALERTS = "/api/cameras/alerts"
HEARTBEAT = "/api/cameras/heartbeat"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"
    return tmp_path


@dataclass
class Cams:
    world: World
    source: WebhookSource
    secret: str
    camera: Camera
    parking: AlertRule
    motion: AlertRule

    def alert(self, client: Client, delivery: str = "d-1", **fields: Any) -> Any:
        body: dict[str, Any] = {
            "source": self.source.name,
            "delivery_id": delivery,
            "camera": self.camera.code,
            "event_type": "illegal_parking",
            "occurred_at": timezone.now().isoformat(),
            "description": "消防通道有车辆停放超过10分钟",
        }
        body.update(fields)
        return post_signed(client, ALERTS, body, self.secret)

    def heartbeat(self, client: Client, codes: list[str], **kwargs: Any) -> Any:
        return post_signed(client, HEARTBEAT, {"source": self.source.name, "cameras": codes}, self.secret, **kwargs)


def post_signed(
    client: Client,
    url: str,
    body: dict[str, Any] | bytes,
    secret: str,
    *,
    stamp: int | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()) if stamp is None else stamp)
    sent = {
        "X-CivicGrid-Timestamp": ts,
        "X-CivicGrid-Signature": signature if signature is not None else webhooks.sign(secret, ts, raw),
        **(headers or {}),
    }
    return client.post(url, raw, content_type="application/json", headers=sent)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_cams(d: SampleDistrict) -> Cams:
    world = build_world(d)
    source, secret = webhooks.webhook_source_create(name="hik-platform", label="海康视频平台")
    lon, lat = world.point()
    camera = services.camera_register(code="CAM-0001", name="清泉街1号探头", lon=lon, lat=lat, source=source)
    parking = AlertRule.objects.create(
        event_type="illegal_parking",
        label="车辆违停",
        category=Category.objects.get(code="SJ0503"),
        suppression_minutes=30,
    )
    motion = AlertRule.objects.create(event_type="motion", label="移动侦测", makes_case=False)
    return Cams(world, source, secret, camera, parking, motion)


@pytest.fixture
def cams(district: SampleDistrict) -> Cams:
    return make_cams(district)
