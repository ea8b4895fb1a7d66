"""The alert webhook: cases through rules, suppression (merge within the window, a new case
after it or after the case is closed), snapshots, validation."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from civicgrid.audit.models import AuditEvent
from civicgrid.cameras.enums import AlertOutcome, CameraStatus
from civicgrid.cameras.models import AlertRule, Camera, CameraAlert, CameraCaseLink
from civicgrid.cameras.tests.conftest import ALERTS, Cams, b64
from civicgrid.cases import services as case_services
from civicgrid.cases import webhooks
from civicgrid.cases.enums import CaseAction, CaseStatus, Channel, Priority
from civicgrid.cases.models import Case, CaseEvent, CasePhoto, Category
from civicgrid.cases.tests.photo_helpers import GPS_IFD, gps_of, jpeg_with_gps

pytestmark = pytest.mark.django_db


def close_case(cams: Cams, case_id: int) -> Case:
    w = cams.world
    case = Case.objects.get(pk=case_id)
    assert case.status == CaseStatus.DISPATCHED and case.current_handler_id == w.chief.pk
    case = case_services.case_transition(
        actor=w.chief, case=case, action=CaseAction.ACKNOWLEDGE, expected_version=case.version
    )
    case = case_services.case_transition(
        actor=w.chief, case=case, action=CaseAction.REPORT_BACK, expected_version=case.version, note="已劝离车辆"
    )
    return case_services.case_transition(
        actor=w.operator, case=case, action=CaseAction.VERIFY_PASS, expected_version=case.version, outcome="fixed"
    )


def test_first_alert_opens_a_camera_case(client: Client, cams: Cams) -> None:
    response = cams.alert(client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == AlertOutcome.CASE_OPENED and body["occurrences"] == 1 and body["replayed"] is False
    case = Case.objects.get(pk=body["case_id"])
    assert case.channel == Channel.CAMERA and case.category.code == "SJ0503"
    assert case.grid_id == cams.world.d.grids[0].pk and case.area_code == cams.camera.area_code
    assert "CAM-0001" in case.title and "车辆违停" in case.title
    assert case.status == CaseStatus.DISPATCHED  # auto-registered and routed like any camera case
    link = CameraCaseLink.objects.get(case=case)
    assert link.occurrences == 1 and link.is_open and link.event_type == "illegal_parking"
    alert = CameraAlert.objects.get()
    assert alert.case_id == case.pk and alert.rule_id == cams.parking.pk and alert.area_code == case.area_code
    # An alert is a sign of life.
    camera = Camera.objects.get(pk=cams.camera.pk)
    assert camera.status == CameraStatus.ONLINE and camera.last_heartbeat_at is not None
    assert AuditEvent.objects.filter(object_type="cameras.cameraalert", object_id=str(alert.pk)).count() == 1


def test_rule_priority_is_applied(client: Client, cams: Cams) -> None:
    AlertRule.objects.filter(pk=cams.parking.pk).update(priority=Priority.URGENT)
    body = cams.alert(client).json()
    assert Case.objects.get(pk=body["case_id"]).priority == Priority.URGENT


def test_repeats_within_the_window_merge_into_the_open_case(client: Client, cams: Cams) -> None:
    start = timezone.now() - dt.timedelta(minutes=50)
    first = cams.alert(client, "d-1", occurred_at=start.isoformat()).json()
    second = cams.alert(client, "d-2", occurred_at=(start + dt.timedelta(minutes=20)).isoformat()).json()
    # The window slides: 20 minutes after the second alert is still within 30 of the last.
    third = cams.alert(client, "d-3", occurred_at=(start + dt.timedelta(minutes=40)).isoformat()).json()
    assert second["outcome"] == third["outcome"] == AlertOutcome.MERGED
    assert first["case_id"] == second["case_id"] == third["case_id"]
    assert (second["occurrences"], third["occurrences"]) == (2, 3)
    assert Case.objects.count() == 1
    link = CameraCaseLink.objects.get()
    assert link.occurrences == 3 and link.last_at == start + dt.timedelta(minutes=40)
    comments = CaseEvent.objects.filter(case_id=first["case_id"], action=CaseAction.COMMENT).order_by("id")
    assert [e.data["occurrences"] for e in comments] == [2, 3]
    assert "累计3次" in comments.last().note and not comments.last().is_transition  # type: ignore[union-attr]
    # Another event type of the same camera is its own case.
    AlertRule.objects.create(event_type="garbage", label="乱堆乱放", category=Category.objects.get(code="SJ0102"))
    other = cams.alert(client, "d-4", event_type="garbage").json()
    assert other["outcome"] == AlertOutcome.CASE_OPENED and other["case_id"] != first["case_id"]


def test_a_repeat_after_the_window_opens_a_new_case(client: Client, cams: Cams) -> None:
    start = timezone.now() - dt.timedelta(hours=2)
    first = cams.alert(client, "d-1", occurred_at=start.isoformat()).json()
    later = cams.alert(client, "d-2", occurred_at=(start + dt.timedelta(minutes=31)).isoformat()).json()
    assert later["outcome"] == AlertOutcome.CASE_OPENED and later["case_id"] != first["case_id"]
    assert CameraCaseLink.objects.filter(is_open=True).get().case_id == later["case_id"]
    assert Case.objects.count() == 2


def test_window_zero_never_merges(client: Client, cams: Cams) -> None:
    AlertRule.objects.filter(pk=cams.parking.pk).update(suppression_minutes=0)
    assert cams.alert(client, "d-1").json()["outcome"] == AlertOutcome.CASE_OPENED
    assert cams.alert(client, "d-2").json()["outcome"] == AlertOutcome.CASE_OPENED
    assert Case.objects.count() == 2


def test_after_the_case_is_closed_the_next_alert_opens_a_new_case(client: Client, cams: Cams) -> None:
    first = cams.alert(client, "d-1").json()
    close_case(cams, first["case_id"])
    again = cams.alert(client, "d-2").json()
    assert again["outcome"] == AlertOutcome.CASE_OPENED and again["case_id"] != first["case_id"]
    assert CameraCaseLink.objects.get(case_id=first["case_id"]).is_open is False
    assert Case.objects.get(pk=first["case_id"]).status == CaseStatus.CLOSED


def test_rules_ignore_and_record(client: Client, cams: Cams) -> None:
    ignored = cams.alert(client, "d-1", event_type="motion")
    assert ignored.status_code == 201
    assert ignored.json()["outcome"] == AlertOutcome.IGNORED_BY_RULE and ignored.json()["case_id"] is None
    unknown = cams.alert(client, "d-2", event_type="tamper").json()
    assert unknown["outcome"] == AlertOutcome.NO_RULE and unknown["case_id"] is None
    AlertRule.objects.filter(pk=cams.parking.pk).update(is_active=False)
    assert cams.alert(client, "d-3").json()["outcome"] == AlertOutcome.NO_RULE
    assert Case.objects.count() == 0 and CameraAlert.objects.count() == 3


def test_a_source_rule_wins_over_the_rule_for_all(client: Client, cams: Cams) -> None:
    AlertRule.objects.create(source=cams.source, event_type="illegal_parking", makes_case=False)
    assert cams.alert(client).json()["outcome"] == AlertOutcome.IGNORED_BY_RULE


def test_a_disabled_camera_opens_nothing(client: Client, cams: Cams) -> None:
    Camera.objects.filter(pk=cams.camera.pk).update(status=CameraStatus.DISABLED)
    body = cams.alert(client).json()
    assert body["outcome"] == AlertOutcome.CAMERA_DISABLED and Case.objects.count() == 0
    assert Camera.objects.get(pk=cams.camera.pk).status == CameraStatus.DISABLED


def test_unknown_camera_is_404(client: Client, cams: Cams) -> None:
    response = cams.alert(client, camera="CAM-9999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_camera" and "camera" in response.json()["error"]["fields"]
    assert CameraAlert.objects.count() == 0


def test_a_camera_of_another_source_is_404(client: Client, cams: Cams) -> None:
    _other, other_secret = webhooks.webhook_source_create(name="dahua")
    body = {
        "source": "dahua",
        "delivery_id": "x-1",
        "camera": cams.camera.code,
        "event_type": "illegal_parking",
        "occurred_at": timezone.now().isoformat(),
    }
    from civicgrid.cameras.tests.conftest import post_signed

    response = post_signed(client, ALERTS, body, other_secret)
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_camera"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"occurred_at": None}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2020-01-01T00:00:00+08:00"}, "occurred_at"),  # too old
        ({"occurred_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()}, "occurred_at"),
        ({"event_type": "违停 !"}, "event_type"),
        ({"event_type": ""}, "event_type"),
        ({"delivery_id": ""}, "delivery_id"),
        ({"description": "长" * 501}, "description"),
        ({"snapshot": "not base64 !!"}, "snapshot"),
        ({"snapshot": b64(b"GIF89a not really")}, "snapshot"),
        ({"snapshot": 42}, "snapshot"),
    ],
)
def test_bad_alerts_are_400_and_write_nothing(client: Client, cams: Cams, fields: dict[str, Any], field: str) -> None:
    response = cams.alert(client, **fields)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"] and error["message"]
    assert CameraAlert.objects.count() == 0 and Case.objects.count() == 0
    # The sender fixes the alert and redelivers it with the same id.
    assert cams.alert(client).status_code == 201


def test_not_json_is_400(client: Client, cams: Cams) -> None:
    from civicgrid.cameras.tests.conftest import post_signed

    assert post_signed(client, ALERTS, b"not json", cams.secret).status_code == 400
    assert post_signed(client, ALERTS, b"[1]", cams.secret).status_code == 400


def test_snapshot_goes_through_the_photo_pipeline(client: Client, cams: Cams) -> None:
    original = jpeg_with_gps()
    assert gps_of(original)
    body = cams.alert(client, snapshot="data:image/jpeg;base64," + b64(original)).json()
    alert = CameraAlert.objects.get()
    photo = CasePhoto.objects.get(case_id=body["case_id"])
    assert alert.snapshot_id == photo.pk and alert.had_snapshot
    with photo.public_image.open("rb") as fh:
        public = fh.read()
    with Image.open(io.BytesIO(public)) as image:
        assert not dict(image.getexif().get_ifd(GPS_IFD))
    # A merged alert's snapshot is checked but not stored again.
    merged = cams.alert(client, "d-2", snapshot=b64(original)).json()
    assert merged["outcome"] == AlertOutcome.MERGED and CasePhoto.objects.count() == 1
    assert CameraAlert.objects.get(delivery_id="d-2").had_snapshot


def test_multipart_snapshot_is_covered_by_the_signature(client: Client, cams: Cams) -> None:
    picture = jpeg_with_gps()
    payload = {
        "source": cams.source.name,
        "delivery_id": "m-1",
        "camera": cams.camera.code,
        "event_type": "illegal_parking",
        "occurred_at": timezone.now().isoformat(),
        "snapshot_sha256": hashlib.sha256(picture).hexdigest(),
    }
    raw = json.dumps(payload)
    ts = str(int(time.time()))
    headers = {"X-CivicGrid-Timestamp": ts, "X-CivicGrid-Signature": webhooks.sign(cams.secret, ts, raw.encode())}

    def send(data: bytes) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            ALERTS, {"payload": raw, "snapshot": SimpleUploadedFile("s.jpg", data, "image/jpeg")}, headers=headers
        )

    swapped = send(picture + b"x")  # another file than the signed digest
    assert swapped.status_code == 401 and swapped.json()["error"]["code"] == "bad_signature"
    response = send(picture)
    assert response.status_code == 201, response.content
    assert CasePhoto.objects.filter(case_id=response.json()["case_id"]).count() == 1


def test_heartbeat_keeps_history_of_status_changes_audited(client: Client, cams: Cams) -> None:
    cams.alert(client)
    audit = AuditEvent.objects.filter(object_type="cameras.camera", action="transition")
    assert audit.count() == 1 and audit.get().changes["status"]["after"] == CameraStatus.ONLINE
