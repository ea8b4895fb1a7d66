"""The demo's cameras: every one of the 58 communities, points inside their grids, some
offline, default rules on seeded categories; idempotent; an alert on one makes a case."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.utils import timezone
from time_machine import TimeMachineFixture

from civicgrid.cameras import services
from civicgrid.cameras.enums import AlertOutcome, CameraStatus
from civicgrid.cameras.models import AlertRule, Camera
from civicgrid.cameras.services import AlertIn
from civicgrid.cases.enums import Priority
from civicgrid.cases.models import WebhookSource
from civicgrid.demo.builder import build_demo
from civicgrid.demo.cameras import SOURCE_NAME, build_cameras
from civicgrid.territory.locate import locate

pytestmark = pytest.mark.django_db


def test_demo_cameras_cover_every_community_and_are_idempotent() -> None:
    build_demo(seed=5, residents=0, out=io.StringIO(), migrate=False, stop_after="areas")
    out = io.StringIO()
    result = build_cameras(seed=5, out=out)
    assert result["communities"] == 58 and result["created"] == result["cameras"] >= 58 * 3
    assert "58 个社区" in out.getvalue()
    per_community = Counter(code[:12] for code in Camera.objects.values_list("area_code", flat=True))
    assert len(per_community) == 58 and min(per_community.values()) >= 3 and max(per_community.values()) <= 6
    for camera in Camera.objects.select_related("grid")[:60]:
        located = locate(camera.lon, camera.lat)
        assert located.grid is not None and located.grid.code == camera.area_code == camera.grid.code
    statuses = Counter(Camera.objects.values_list("status", flat=True))
    assert statuses[CameraStatus.ONLINE] > statuses[CameraStatus.OFFLINE] > 0
    rules = {r.event_type: r for r in AlertRule.objects.select_related("category")}
    assert rules["fire_smoke"].category.code == "ZA02" and rules["fire_smoke"].priority == Priority.URGENT  # type: ignore[union-attr]
    assert rules["road_occupation"].category.name == "占道经营"  # type: ignore[union-attr]
    assert not rules["motion"].makes_case
    again = build_cameras(seed=5)
    assert again["created"] == 0 and again["rules"] == 0 and again["source"] == 0

    source = WebhookSource.objects.get(name=SOURCE_NAME)
    live = Camera.objects.exclude(status=CameraStatus.DISABLED).first()
    assert live is not None
    data = AlertIn(delivery_id="demo-1", camera_code=live.code, event_type="fire_smoke", occurred_at=timezone.now())
    result_alert = services.alert_receive(source=source, data=data).alert
    assert result_alert.outcome == AlertOutcome.CASE_OPENED and result_alert.case is not None
    assert result_alert.case.priority == Priority.URGENT and result_alert.case.area_code == live.area_code


def test_the_demo_platform_keeps_its_alive_cameras_online(time_machine: TimeMachineFixture) -> None:
    from civicgrid.cameras.services import camera_offline_sweep
    from civicgrid.demo.cameras import demo_camera_alive, simulate_heartbeats

    assert simulate_heartbeats() == 0  # no demo platform yet: nothing to do
    build_demo(seed=5, residents=0, out=io.StringIO(), migrate=False, stop_after="areas")
    build_cameras(seed=5)
    enabled = Camera.objects.exclude(status=CameraStatus.DISABLED)
    alive = {c.code for c in enabled if demo_camera_alive(c.code)}
    assert 0 < len(alive) < enabled.count()
    # An hour later, with heartbeats, the alive ones are online and the rest offline.
    time_machine.move_to(timezone.now() + dt.timedelta(hours=1))
    assert simulate_heartbeats() >= len(alive)
    camera_offline_sweep()
    online = set(Camera.objects.filter(status=CameraStatus.ONLINE).values_list("code", flat=True))
    assert online == alive
