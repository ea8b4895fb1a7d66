"""Heartbeats bring cameras online; the sweep marks silent ones offline (idempotent, audited,
the community told); the registry shows a silent camera offline before the sweep runs."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from civicgrid.audit.models import AuditEvent
from civicgrid.cameras import selectors, services, tasks
from civicgrid.cameras.enums import CameraStatus
from civicgrid.cameras.models import Camera
from civicgrid.cameras.tests.conftest import Cams
from civicgrid.cases import webhooks
from civicgrid.common.scheduler import registered_jobs
from civicgrid.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_heartbeat_brings_cameras_online(client: Client, cams: Cams) -> None:
    lon, lat = cams.world.point(cams.world.d.grids[1])
    second = services.camera_register(code="CAM-0002", name="二号", lon=lon, lat=lat)  # no source: any may report
    response = cams.heartbeat(client, [cams.camera.code, "CAM-0002", "CAM-0002", "NOPE"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {"accepted": 2, "came_online": ["CAM-0001", "CAM-0002"], "unknown": ["NOPE"]}
    for camera in Camera.objects.filter(pk__in=[cams.camera.pk, second.pk]):
        assert camera.status == CameraStatus.ONLINE and camera.last_heartbeat_at is not None
    assert AuditEvent.objects.filter(object_type="cameras.camera", action="transition").count() == 2
    # Still online: nothing more to audit.
    assert cams.heartbeat(client, [cams.camera.code]).json()["came_online"] == []
    assert AuditEvent.objects.filter(object_type="cameras.camera", action="transition").count() == 2


def test_a_camera_of_another_source_is_unknown_to_it(client: Client, cams: Cams) -> None:
    _other, secret = webhooks.webhook_source_create(name="dahua")
    from civicgrid.cameras.tests.conftest import HEARTBEAT, post_signed

    response = post_signed(client, HEARTBEAT, {"source": "dahua", "cameras": [cams.camera.code]}, secret)
    assert response.json() == {"accepted": 0, "came_online": [], "unknown": ["CAM-0001"]}
    assert Camera.objects.get(pk=cams.camera.pk).status == CameraStatus.OFFLINE


def test_a_disabled_camera_stays_disabled(client: Client, cams: Cams) -> None:
    Camera.objects.filter(pk=cams.camera.pk).update(status=CameraStatus.DISABLED)
    assert cams.heartbeat(client, [cams.camera.code]).json()["accepted"] == 1
    camera = Camera.objects.get(pk=cams.camera.pk)
    assert camera.status == CameraStatus.DISABLED and camera.last_heartbeat_at is not None


@pytest.mark.parametrize("cameras", [[], "CAM-0001", [1, 2], None])
def test_bad_heartbeats_are_400(client: Client, cams: Cams, cameras: Any) -> None:
    from civicgrid.cameras.tests.conftest import HEARTBEAT, post_signed

    response = post_signed(client, HEARTBEAT, {"source": cams.source.name, "cameras": cameras}, cams.secret)
    assert response.status_code == 400 and "cameras" in response.json()["error"]["fields"]


def test_too_many_cameras_in_one_heartbeat(client: Client, cams: Cams, settings: Any) -> None:
    settings.CAMERAS_HEARTBEAT_MAX_BATCH = 2
    response = cams.heartbeat(client, ["a", "b", "c"])
    assert response.status_code == 400 and "cameras" in response.json()["error"]["fields"]


def test_a_replayed_heartbeat_changes_nothing(client: Client, cams: Cams) -> None:
    stamp = int(time.time()) - 60
    cams.heartbeat(client, [cams.camera.code], stamp=stamp)
    first = Camera.objects.get(pk=cams.camera.pk).last_heartbeat_at
    assert first == dt.datetime.fromtimestamp(stamp, tz=dt.UTC)
    cams.heartbeat(client, [cams.camera.code], stamp=stamp)  # the same signed request again
    assert Camera.objects.get(pk=cams.camera.pk).last_heartbeat_at == first
    cams.heartbeat(client, [cams.camera.code], stamp=stamp - 30)  # an older one never moves it back
    assert Camera.objects.get(pk=cams.camera.pk).last_heartbeat_at == first


def test_sweep_marks_silent_cameras_offline(client: Client, cams: Cams, settings: Any) -> None:
    settings.CAMERAS_OFFLINE_AFTER_MINUTES = 10
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        cams.heartbeat(client, [cams.camera.code])
    camera = Camera.objects.get(pk=cams.camera.pk)
    with time_machine.travel(start + dt.timedelta(minutes=9), tick=False):
        assert services.camera_offline_sweep().marked_offline == 0
        assert selectors.shown_status(camera) == CameraStatus.ONLINE
    with time_machine.travel(start + dt.timedelta(minutes=11), tick=False):
        # Shown offline at once, before any sweep.
        assert selectors.shown_status(camera) == CameraStatus.OFFLINE
        result = services.camera_offline_sweep()
        assert result.marked_offline == 1 and result.codes == [cams.camera.code]
        assert result.notified == 1  # the community worker of community 0
        again = services.camera_offline_sweep()
        assert again.marked_offline == 0 and again.checked == 0
    camera.refresh_from_db()
    assert camera.status == CameraStatus.OFFLINE
    audit = AuditEvent.objects.filter(object_type="cameras.camera", object_id=str(camera.pk), action="transition")
    assert [e.changes["status"]["after"] for e in audit.order_by("id")] == ["online", "offline"]
    note = Notification.objects.get(recipient=cams.world.worker)
    assert "CAM-0001" in note.body and note.area_code == camera.area_code[:12]
    assert note.link == f"/cameras/?area={camera.area_code[:12]}&status=offline"
    assert not Notification.objects.filter(recipient=cams.world.other_worker).exists()
    # A heartbeat brings it back.
    cams.heartbeat(client, [cams.camera.code])
    assert Camera.objects.get(pk=camera.pk).status == CameraStatus.ONLINE


def test_sweep_leaves_disabled_and_fresh_cameras_alone(cams: Cams, settings: Any) -> None:
    settings.CAMERAS_OFFLINE_AFTER_MINUTES = 10
    old = timezone.now() - dt.timedelta(hours=1)
    Camera.objects.filter(pk=cams.camera.pk).update(status=CameraStatus.DISABLED, last_heartbeat_at=old)
    lon, lat = cams.world.point()
    fresh = services.camera_register(code="CAM-F", name="fresh", lon=lon, lat=lat, status=CameraStatus.ONLINE)
    Camera.objects.filter(pk=fresh.pk).update(last_heartbeat_at=timezone.now())
    assert services.camera_offline_sweep().marked_offline == 0
    assert Camera.objects.get(pk=cams.camera.pk).status == CameraStatus.DISABLED


def test_the_sweep_is_a_periodic_job(settings: Any) -> None:
    assert tasks.OFFLINE_SWEEP_JOB in {job.name for job in registered_jobs()}
    assert tasks.offline_sweep_task.name == "cameras.offline_sweep"
    assert tasks.run_offline_sweep() == {"checked": 0, "marked_offline": 0, "notified": 0}
