"""Joint-handling parts (协办) in the deadline sweep and in the admin: the co-handling
department is warned before a part's due time, the part is marked overdue after it (once,
audited, through the outbox, no status change), the 协办 inbox flags it; the admin lists the
parts (scoped, filtered, searchable, read-only) and shows them inline on the case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.cases import joint
from civicgrid.cases.deadlines import SweepResult, deadline_sweep
from civicgrid.cases.enums import AssistStatus as AS
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseAssist, CaseEvent
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act, bring_to
from civicgrid.cases.tests.test_joint import Joint, build_joint, fresh
from civicgrid.notifications.models import Notification
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HANDLE_HOURS = 72  # MD01, normal priority: the part's span
WARN_AT = T0 + timedelta(hours=HANDLE_HOURS * 0.75)
DUE = T0 + timedelta(hours=HANDLE_HOURS)


@pytest.fixture(autouse=True)
def policy(settings: Any) -> None:
    settings.CASES_WARN_BEFORE_FRACTION = 0.25
    settings.CASES_ESCALATION_POLICY = {}  # the case itself is not escalated here


@pytest.fixture
def jt(world: World) -> Joint:
    with time_machine.travel(T0, tick=False):
        return build_joint(world)


def request_at(jt: Joint, *depts: Any, at: datetime = T0) -> list[CaseAssist]:
    with time_machine.travel(at, tick=False):
        return jt.request(*depts)


def sweep_twice(at: datetime) -> SweepResult:
    first = deadline_sweep(now=at)
    second = deadline_sweep(now=at)
    assert not second.assist_warned and not second.assist_overdue and second.changed == 0, second
    return first


def part_state(part: CaseAssist) -> tuple[Any, ...]:
    part.refresh_from_db()
    return (
        part.status,
        part.version,
        part.warned_at,
        part.overdue_at,
        CaseEvent.objects.filter(case_id=part.case_id, data__assist__id=part.pk).count(),
        AuditEvent.objects.filter(object_type="cases.caseassist", object_id=str(part.pk)).count(),
        Notification.objects.filter(subject__contains="协办").count(),
    )


def sweep_notes(part: CaseAssist, action: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case_id=part.case_id, action=action, data__assist__id=part.pk))


# --- the sweep ------------------------------------------------------------------------------------------


def test_part_is_warned_then_marked_overdue_once(jt: Joint) -> None:
    w = jt.w
    [legal] = request_at(jt, jt.legal)
    assert legal.due_at == DUE  # the category's handle deadline from the request

    # Before the last quarter of the span: nothing.
    result = sweep_twice(WARN_AT - timedelta(minutes=1))
    assert not result.assist_warned and not result.assist_overdue

    # In the last quarter: one warning, to the co-handling department only.
    result = sweep_twice(WARN_AT + timedelta(minutes=1))
    assert result.assist_warned == [legal.pk] and not result.assist_overdue
    assert result.as_dict()["assist_warned"] == 1
    state = part_state(legal)
    assert legal.warned_at == WARN_AT + timedelta(minutes=1) and legal.overdue_at is None
    assert (legal.status, legal.version) == (AS.REQUESTED, 1)  # not a status change, no version bump
    [warning] = sweep_notes(legal, A.ASSIST_DEADLINE_WARNING)
    assert not warning.is_transition and warning.actor is None and "协办任务将于" in warning.note
    assert warning.data["assist"]["deadline"] == "warning"
    told = Notification.objects.filter(subject__contains="协办即将到期")
    assert list(told.values_list("recipient", flat=True)) == [jt.lawyer.pk]
    assert told.get().link == f"/cases/{legal.case_id}/#case-joint"
    audit = AuditEvent.objects.filter(object_type="cases.caseassist", object_id=str(legal.pk)).latest("id")
    assert audit.action == "update" and audit.changes["warned_at"]["before"] is None

    # Later, still before the due time: nothing more.
    assert not sweep_twice(DUE - timedelta(minutes=5)).assist_warned
    assert part_state(legal) == state

    # After the due time: overdue, the department and the lead (the grid chief) are told.
    result = sweep_twice(DUE + timedelta(minutes=1))
    assert result.assist_overdue == [legal.pk] and not result.assist_warned
    state = part_state(legal)
    assert legal.overdue_at == DUE + timedelta(minutes=1) and legal.warned_at == WARN_AT + timedelta(minutes=1)
    assert (legal.status, legal.version) == (AS.REQUESTED, 1)
    assert len(sweep_notes(legal, A.ASSIST_DEADLINE_OVERDUE)) == 1
    told = Notification.objects.filter(subject__contains="协办已超期")
    assert sorted(told.values_list("recipient", flat=True)) == sorted([jt.lawyer.pk, w.chief.pk])
    assert AuditEvent.objects.filter(object_type="cases.caseassist", object_id=str(legal.pk)).count() == 3

    # Days later: nothing changes any more.
    sweep_twice(DUE + timedelta(days=3))
    assert part_state(legal) == state

    # The co-handler still acts with the version it read: the marks are no conflict.
    legal = joint.case_assist_acknowledge(actor=fresh(jt.lawyer), assist=legal.pk, expected_version=1)
    assert legal.status == AS.ACKNOWLEDGED and legal.overdue_at is not None


def test_a_part_first_swept_after_its_due_time_gets_no_late_warning(jt: Joint) -> None:
    [legal] = request_at(jt, jt.legal)
    result = sweep_twice(DUE + timedelta(hours=1))
    assert result.assist_overdue == [legal.pk] and not result.assist_warned
    legal.refresh_from_db()
    assert legal.warned_at == legal.overdue_at == DUE + timedelta(hours=1)
    assert sweep_notes(legal, A.ASSIST_DEADLINE_WARNING) == []
    assert not Notification.objects.filter(subject__contains="协办即将到期").exists()


def test_each_part_has_its_own_deadline(jt: Joint) -> None:
    w = jt.w
    [legal] = request_at(jt, jt.legal)
    [police] = request_at(jt, w.police, at=T0 + timedelta(hours=24))
    assert police.due_at == DUE + timedelta(hours=24)
    result = sweep_twice(DUE + timedelta(minutes=1))
    assert result.assist_overdue == [legal.pk]
    assert police.pk not in result.assist_overdue and police.pk not in result.assist_warned  # 23 h left of 72
    result = sweep_twice(DUE + timedelta(hours=24, minutes=1))
    assert result.assist_overdue == [police.pk]
    told = Notification.objects.filter(subject__contains="协办已超期", body__contains=w.police.name)
    assert w.officer.pk in set(told.values_list("recipient", flat=True))


def test_finished_parts_and_parts_of_finished_cases_are_left_alone(jt: Joint) -> None:
    w = jt.w
    [legal, police] = request_at(jt, jt.legal, w.police)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        joint.case_assist_decline(actor=fresh(w.officer), assist=police, expected_version=1, note="不涉及治安")
        other = bring_to(w, S.HANDLING)
        [other_part] = joint.case_assist_request(
            actor=w.chief, case=other, department_ids=[jt.legal.pk], note="调解", expected_version=other.version
        )
    # The other case is finished (its open part stays open but is no longer watched).
    Case.objects.filter(pk=other.pk).update(status=S.CLOSED)
    result = sweep_twice(DUE + timedelta(hours=2))
    assert result.assist_overdue == [legal.pk]
    for part in (police, other_part):
        part.refresh_from_db()
        assert part.warned_at is None and part.overdue_at is None


def test_a_part_changed_between_read_and_write_is_left_for_the_next_sweep(jt: Joint) -> None:
    [legal] = request_at(jt, jt.legal)
    stale = CaseAssist.objects.select_related("case", "department").get(pk=legal.pk)
    with time_machine.travel(DUE - timedelta(hours=1), tick=False):
        joint.case_assist_acknowledge(actor=fresh(jt.lawyer), assist=legal.pk, expected_version=1)
    assert joint.assist_deadline_mark(assist=stale, kind=joint.OVERDUE, now=DUE + timedelta(minutes=1)) is False
    assert part_state(legal)[2:4] == (None, None)
    assert sweep_notes(legal, A.ASSIST_DEADLINE_OVERDUE) == []
    # The next sweep reads it afresh.
    assert sweep_twice(DUE + timedelta(minutes=2)).assist_overdue == [legal.pk]
    with pytest.raises(ValueError):
        joint.assist_deadline_mark(assist=stale, kind="nope", now=DUE)


def test_a_reported_part_is_not_marked_even_from_a_stale_read(jt: Joint) -> None:
    [legal] = request_at(jt, jt.legal)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        legal = joint.case_assist_acknowledge(actor=fresh(jt.lawyer), assist=legal.pk, expected_version=1)
        legal = joint.case_assist_report(actor=fresh(jt.lawyer), assist=legal.pk, expected_version=2, note="已调解")
    assert sweep_twice(DUE + timedelta(hours=1)).assist_overdue == []
    # Even with the current version the guard refuses a finished part.
    fresh_part = CaseAssist.objects.select_related("case", "department").get(pk=legal.pk)
    assert joint.assist_deadline_mark(assist=fresh_part, kind=joint.OVERDUE, now=DUE + timedelta(hours=1)) is False
    assert part_state(legal)[3] is None


# --- the 协办 inbox --------------------------------------------------------------------------------------


def test_assist_inbox_flags_warned_and_overdue_parts(client: Client, jt: Joint) -> None:
    [legal] = request_at(jt, jt.legal)
    client.force_login(jt.lawyer)
    url = reverse("cases:inbox")

    def row() -> str:
        body: str = client.get(url, {"box": "assist"}).content.decode()
        start = body.index(f'id="assist-row-{legal.pk}"')
        return body[start : body.index("</tr>", start)]

    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert "已超期" not in row() and "临期" not in row()
    deadline_sweep(now=WARN_AT + timedelta(minutes=1))
    with time_machine.travel(WARN_AT + timedelta(minutes=2), tick=False):
        assert "deadline-warned" in row() and "临期" in row() and "已超期" not in row()
    deadline_sweep(now=DUE + timedelta(minutes=1))
    with time_machine.travel(DUE + timedelta(minutes=2), tick=False):
        assert "assist-overdue" in row() and "已超期" in row()


# --- the admin -------------------------------------------------------------------------------------------

PARTS = "/admin/cases/caseassist/"


@pytest.fixture
def admin_client(jt: Joint) -> Client:
    client = Client()
    client.force_login(make_user(Role.SYSTEM_ADMIN, jt.w.d.district, username="sys-assist"))
    return client


def test_admin_lists_filters_and_searches_parts(admin_client: Client, jt: Joint) -> None:
    w = jt.w
    [legal, police] = request_at(jt, jt.legal, w.police)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        joint.case_assist_decline(actor=fresh(w.officer), assist=police, expected_version=1, note="不涉及治安")
        other = bring_to(w, S.HANDLING)
    deadline_sweep(now=DUE + timedelta(minutes=1))

    def listed(**params: str) -> set[int]:
        response = admin_client.get(PARTS, params)
        assert response.status_code == 200, response.status_code
        return {obj.pk for obj in response.context["cl"].result_list}

    assert listed() == {legal.pk, police.pk}
    assert listed(status__exact=AS.DECLINED) == {police.pk}
    assert listed(department__id__exact=str(jt.legal.pk)) == {legal.pk}
    assert listed(overdue="1") == {legal.pk}
    assert listed(overdue="0") == {police.pk}
    assert listed(q=jt.case.tracking_code) == {legal.pk, police.pk}
    assert listed(q=other.tracking_code) == set()
    body = admin_client.get(PARTS).content.decode()
    assert jt.case.tracking_code in body and "清泉街社区法务室" in body


def test_admin_is_read_only_and_scoped(admin_client: Client, jt: Joint) -> None:
    [legal] = request_at(jt, jt.legal)
    change = f"{PARTS}{legal.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="status"' not in page.content.decode()
    # No free editing, adding or deleting: status changes go through joint.py's table only.
    assert admin_client.post(change, {"status": AS.DONE, "note": "x"}).status_code == 403
    assert admin_client.get(f"{PARTS}add/").status_code == 403
    assert admin_client.post(f"{PARTS}{legal.pk}/delete/", {"post": "yes"}).status_code == 403
    legal.refresh_from_db()
    assert (legal.status, legal.version, legal.note) == (AS.REQUESTED, 1, "请协助调解邻里纠纷")

    # Scope: a cases administrator of the other street does not see the part.
    other = Client()
    other.force_login(make_user(Role.SYSTEM_ADMIN, jt.w.d.streets[1], username="sys-street1"))
    assert other.get(PARTS).context["cl"].result_count == 0
    assert other.get(change).status_code == 302  # the admin's "does not exist" redirect
    # No cases capability: no access at all.
    outsider = Client()
    outsider.force_login(jt.lawyer)
    assert outsider.get(PARTS).status_code in (302, 403)


def test_case_admin_shows_the_parts_inline(admin_client: Client, jt: Joint) -> None:
    [legal] = request_at(jt, jt.legal)
    response = admin_client.get(f"/admin/cases/case/{jt.case.pk}/change/")
    assert response.status_code == 200
    formsets = [f for f in response.context["inline_admin_formsets"] if f.formset.model is CaseAssist]
    assert len(formsets) == 1
    assert [form.instance.pk for form in formsets[0].formset.forms] == [legal.pk]
    assert "清泉街社区法务室" in response.content.decode()


def test_demo_world_helpers_still_reach_handling(world: World) -> None:
    # The sweep leaves the case's own flow alone: a handled case with a part still reports back.
    jt = build_joint(world)
    [legal] = jt.request(jt.legal)
    deadline_sweep(now=legal.due_at + timedelta(minutes=1))
    legal = joint.case_assist_acknowledge(actor=fresh(jt.lawyer), assist=legal.pk, expected_version=1)
    joint.case_assist_report(actor=fresh(jt.lawyer), assist=legal.pk, expected_version=2, note="已调解")
    case = act(world, Case.objects.get(pk=jt.case.pk), A.REPORT_BACK, actor=world.chief, note="已处置")
    assert case.status == S.REPORTED
