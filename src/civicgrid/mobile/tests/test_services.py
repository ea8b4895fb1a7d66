"""The services the phone app added to the cases app: the handling record (处置记录), the
handler's before/after photos and the event annotation; and the phone's task_act rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import photos, services
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import CaseEvent, CasePhoto
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act
from civicgrid.cases.tests.photo_helpers import jpeg_with_gps, upload
from civicgrid.common.errors import Conflict, DomainError, Forbidden
from civicgrid.mobile import services as mobile_services


def handling(w: World) -> Any:
    return act(w, w.intake(), A.ACKNOWLEDGE)


@pytest.mark.django_db
def test_handling_record_is_audited_and_keeps_the_version(world: World) -> None:
    case = handling(world)
    audits = AuditEvent.objects.count()
    event = services.case_handling_record(
        actor=world.chief, case=case, expected_version=case.version, note="到场查看", data={"k": 1}
    )
    assert event.action == A.COMMENT and not event.is_transition and event.data == {"k": 1}
    assert event.from_status == event.to_status == S.HANDLING
    case.refresh_from_db()
    assert case.version == event.case.version and case.status == S.HANDLING
    assert AuditEvent.objects.count() == audits + 1


@pytest.mark.django_db
def test_handling_record_refusals_write_nothing(world: World) -> None:
    case = handling(world)
    before = CaseEvent.objects.count()
    with pytest.raises(Conflict):
        services.case_handling_record(actor=world.chief, case=case, expected_version=case.version - 1, note="x")
    with pytest.raises(Forbidden):
        services.case_handling_record(actor=world.worker, case=case, expected_version=case.version, note="x")
    with pytest.raises(ValidationError):
        services.case_handling_record(actor=world.chief, case=case, expected_version=case.version, note="  ")
    with pytest.raises(ValidationError):
        services.case_handling_record(actor=world.chief, case=case, expected_version=case.version, note="x" * 2001)
    dispatched = world.intake()
    with pytest.raises(DomainError) as error:
        services.case_handling_record(actor=world.chief, case=dispatched, expected_version=dispatched.version, note="x")
    assert error.value.code == "illegal_transition" and "已派遣" in str(error.value.message)
    assert CaseEvent.objects.count() == before + len(dispatched.events.all())


@pytest.mark.django_db
def test_handling_photos_only_by_the_handler_while_handling(world: World) -> None:
    case = handling(world)
    checked = photos.check_photos([upload("a.jpg", jpeg_with_gps())])
    with pytest.raises(Forbidden):
        photos.handling_photos_add(actor=world.worker, case=case, checked=checked, kind="after")
    with pytest.raises(ValidationError):
        photos.handling_photos_add(actor=world.chief, case=case, checked=checked, kind="report")
    dispatched = world.intake()
    with pytest.raises(ValidationError):
        photos.handling_photos_add(actor=world.chief, case=dispatched, checked=checked, kind="after")
    assert not CasePhoto.objects.exists()
    added = photos.handling_photos_add(actor=world.chief, case=case, checked=checked, kind="before")
    assert [p.kind for p in added] == ["before"] and added[0].uploaded_by_id == world.chief.pk
    assert photos.handling_photos_add(actor=world.chief, case=case, checked=[], kind="after") == []


@pytest.mark.django_db
def test_event_annotation_touches_only_the_actors_last_event(world: World) -> None:
    case = handling(world)
    event = services.case_event_annotate(case=case, actor=world.chief, data={"client_id": "abc"})
    assert event is not None and event.action == A.ACKNOWLEDGE and event.data["client_id"] == "abc"
    assert services.case_event_annotate(case=case, actor=world.leader, data={"x": 1}) is None


@pytest.mark.django_db
def test_a_conflict_is_reported_before_photos_are_checked(world: World) -> None:
    case = handling(world)
    with pytest.raises(Conflict):
        mobile_services.task_act(
            actor=world.chief,
            case=case,
            action="report_back",
            expected_version=case.version - 1,
            note="done",
            uploads=[upload("bad.jpg", b"not a photo")],
        )


@pytest.mark.django_db
def test_the_patrol_page_links_to_the_report_form(client: Client, world: World) -> None:
    from civicgrid.accounts.enums import Role
    from civicgrid.testing.factories import make_user

    client.force_login(make_user(Role.ROAD_CHIEF, world.d.streets[0], username="roadchief"))
    html = client.get("/patrols/").content.decode()
    assert 'id="patrol-report-link"' in html and 'href="/m/report/"' in html
