"""Joint handling (联合处置): the lead asks co-handling departments for help; each part is
signed for, reported back or declined (or cancelled by the lead); the lead reports the case
back only when no part is open (or with an override reason). Through the services, the API
and the pages: the table, permissions, optimistic locking, the report-back guard, a
co-handler's read access (and no more), audit, timeline, notifications, the 协办 inbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.accounts.models import Department, User
from civicgrid.audit.models import AuditEvent
from civicgrid.cases import joint, metrics, selectors, services, workflow
from civicgrid.cases.enums import AssistAction as AA
from civicgrid.cases.enums import AssistStatus as AS
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseAssist, CaseEvent
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act, bring_to
from civicgrid.common.errors import Conflict, DomainError, Forbidden, NotFound
from civicgrid.notifications.models import Notification
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


@dataclass
class Joint:
    w: World
    legal: Department  # 清泉街 legal office (community 0)
    lawyer: User
    judicial: Department  # the other street's judicial office: does not serve grid 0
    clerk: User
    case: Case  # in handling by the grid chief of grid 0

    def request(self, *depts: Department, actor: Any = None, note: str = "请协助调解邻里纠纷") -> list[CaseAssist]:
        self.case.refresh_from_db()
        return joint.case_assist_request(
            actor=actor or self.w.chief,
            case=self.case,
            department_ids=[d.pk for d in depts],
            note=note,
            expected_version=self.case.version,
        )


def build_joint(w: World) -> Joint:
    legal = Department.objects.create(
        code="legal0", name="清泉街社区法务室", kind=DepartmentKind.LEGAL, area=w.d.communities[0]
    )
    lawyer = make_user(Role.DEPARTMENT_HANDLER, w.d.communities[0], username="lawyer0")
    lawyer.departments.set([legal])
    judicial = Department.objects.create(
        code="judicial1", name="小召司法所", kind=DepartmentKind.JUDICIAL, area=w.d.streets[1]
    )
    clerk = make_user(Role.DEPARTMENT_HANDLER, w.d.streets[1], username="clerk1")
    clerk.departments.set([judicial])
    case = bring_to(w, S.HANDLING)
    return Joint(w, legal, lawyer, judicial, clerk, case)


@pytest.fixture
def j(world: World) -> Joint:
    return build_joint(world)


def fresh(user: User) -> User:
    """The user as a new request sees it (no cached department ids)."""
    return User.objects.get(pk=user.pk)


def events(case: Case, *actions: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, action__in=actions).order_by("id"))


def audits(part: CaseAssist) -> list[str]:
    qs = AuditEvent.objects.filter(object_type="cases.caseassist", object_id=str(part.pk)).order_by("id")
    return list(qs.values_list("action", flat=True))


# --- the table -----------------------------------------------------------------------------------


def test_the_part_table_is_explicit_and_small() -> None:
    assert workflow.ASSIST_TRANSITIONS == {
        (AS.REQUESTED, AA.ACKNOWLEDGE): AS.ACKNOWLEDGED,
        (AS.REQUESTED, AA.DECLINE): AS.DECLINED,
        (AS.REQUESTED, AA.CANCEL): AS.CANCELLED,
        (AS.ACKNOWLEDGED, AA.REPORT): AS.DONE,
        (AS.ACKNOWLEDGED, AA.DECLINE): AS.DECLINED,
        (AS.ACKNOWLEDGED, AA.CANCEL): AS.CANCELLED,
    }
    # Finished parts are final; every action has a rule and a timeline event.
    finished = {AS.DONE, AS.DECLINED, AS.CANCELLED}
    assert not [key for key in workflow.ASSIST_TRANSITIONS if key[0] in finished]
    assert set(workflow.ASSIST_RULES) == set(AA.values) == set(workflow.ASSIST_EVENT)


# --- the full flow through the services ------------------------------------------------------------


def test_full_joint_flow(j: Joint) -> None:
    w = j.w
    version = j.case.version
    legal, police = j.request(j.legal, w.police)
    j.case.refresh_from_db()
    assert j.case.version == version + 1 and j.case.status == S.HANDLING  # one case, status unchanged
    assert (legal.status, legal.requested_by, legal.area_code) == (AS.REQUESTED, w.chief, j.case.area_code)
    hours = j.case.category.hours_for(j.case.priority)["handle"]
    assert legal.due_at == legal.requested_at + dt.timedelta(hours=hours)

    # The co-handling departments' members are told; the lead is not told of their own request.
    assert Notification.objects.filter(recipient=j.lawyer, subject__contains="请求协办").count() == 1
    assert Notification.objects.filter(recipient=w.officer, subject__contains="请求协办").count() == 1
    assert not Notification.objects.filter(recipient=w.chief, subject__contains="协办").exists()

    legal = joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=legal, expected_version=legal.version)
    assert legal.status == AS.ACKNOWLEDGED and legal.acknowledged_by == j.lawyer and legal.version == 2
    legal = joint.case_assist_report(
        actor=fresh(j.lawyer), assist=legal, expected_version=legal.version, note="已出具法律意见, 双方签订调解协议"
    )
    assert legal.status == AS.DONE and legal.response.startswith("已出具") and legal.responded_at
    police = joint.case_assist_decline(
        actor=fresh(w.officer), assist=police, expected_version=police.version, note="不涉及治安, 无需出警"
    )
    assert police.status == AS.DECLINED and police.response == "不涉及治安, 无需出警"

    # The lead hears back about each step.
    subjects = list(Notification.objects.filter(recipient=w.chief).values_list("subject", flat=True))
    assert sum("协办已签收" in s for s in subjects) == 1
    assert sum("协办已反馈" in s for s in subjects) == 1
    assert sum("协办被拒绝" in s for s in subjects) == 1

    # Every part finished or declined: the lead may report the whole case back.
    case = act(w, Case.objects.get(pk=j.case.pk), A.REPORT_BACK)
    assert case.status == S.REPORTED
    report = events(case, A.REPORT_BACK)[-1]
    assert report.data["assists"] == {"done": 1, "declined": 1, "open": 0}

    # Timeline: one line per part action, none of them a transition (residents never see them).
    timeline = [e.action for e in events(case, *[a for a in A.values if a.startswith("assist_")])]
    assert timeline == [A.ASSIST_REQUEST, A.ASSIST_REQUEST, A.ASSIST_ACKNOWLEDGE, A.ASSIST_REPORT, A.ASSIST_DECLINE]
    assert not [e for e in selectors.public_timeline(case) if e.action.startswith("assist_")]
    assert events(case, A.ASSIST_REPORT)[0].data["assist"]["department"]["name"] == "清泉街社区法务室"
    # Audit: each change of each part, in order.
    assert audits(legal) == ["create", "transition", "transition"]
    assert audits(police) == ["create", "transition"]


def test_a_case_dispatched_to_a_department_may_ask_another(j: Joint) -> None:
    w = j.w
    case = bring_to(w, S.DISPATCHED)
    case = services.case_dispatch(actor=w.operator, case=case, expected_version=case.version, department=w.police.pk)
    assert case.current_department == w.police and case.current_handler is None
    # The department (lead) may ask the legal office; it may not ask itself.
    with pytest.raises(ValidationError) as exc:
        joint.case_assist_request(
            actor=fresh(w.officer), case=case, department_ids=[w.police.pk], note="x", expected_version=case.version
        )
    assert "牵头单位不能请求本单位协办" in str(exc.value)
    [part] = joint.case_assist_request(
        actor=fresh(w.officer),
        case=case,
        department_ids=[j.legal.pk],
        note="请法务室出具意见",
        expected_version=case.version,
    )
    # The co-handler's report goes back to the one who asked (the officer) only once.
    part = joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=part, expected_version=part.version)
    assert Notification.objects.filter(recipient=w.officer, subject__contains="协办已签收").count() == 1


def test_a_dispatcher_may_lead(j: Joint) -> None:
    [part] = j.request(j.legal, actor=j.w.operator)
    assert part.requested_by == j.w.operator
    part = joint.case_assist_cancel(actor=j.w.operator, assist=part, expected_version=part.version, note="已另行处理")
    assert part.status == AS.CANCELLED and part.cancel_reason == "已另行处理"
    assert Notification.objects.filter(recipient=j.lawyer, subject__contains="协办已撤回").count() == 1


# --- illegal actions, permissions, bad input: clear errors, nothing written ----------------------------


def test_illegal_part_actions_name_the_allowed_ones(j: Joint) -> None:
    [part] = j.request(j.legal)
    with pytest.raises(DomainError) as exc:
        joint.case_assist_report(actor=fresh(j.lawyer), assist=part, expected_version=part.version, note="已办")
    assert exc.value.code == "illegal_transition"
    assert (
        str(exc.value.message)
        == "协办任务当前状态为“待签收”, 不能执行“反馈协办结果”。当前可执行的操作: 签收协办、拒绝协办、撤回协办"
    )
    part = joint.case_assist_decline(
        actor=fresh(j.lawyer), assist=part, expected_version=part.version, note="非法律问题"
    )
    before = CaseEvent.objects.count(), AuditEvent.objects.count()
    for action in (AA.ACKNOWLEDGE, AA.REPORT, AA.DECLINE, AA.CANCEL):
        with pytest.raises(DomainError, match="当前可执行的操作: 无"):
            joint.case_assist_act(
                actor=fresh(j.lawyer), assist=part, action=action, expected_version=part.version, note="x"
            )
    with pytest.raises(DomainError) as unknown:
        joint.case_assist_act(actor=fresh(j.lawyer), assist=part, action="approve", expected_version=part.version)
    assert "未知的协办操作" in str(unknown.value.message)
    assert (CaseEvent.objects.count(), AuditEvent.objects.count()) == before


def test_who_may_act(j: Joint) -> None:
    w = j.w
    # Only the lead (owner or dispatcher) asks; a colleague, a co-handler or a leader may not.
    for outsider in (w.worker, j.lawyer, w.officer):
        with pytest.raises(Forbidden, match="只有案件的当前处置人"):
            j.request(j.legal, actor=fresh(outsider))
    with pytest.raises(PermissionDenied):
        j.request(j.legal, actor=w.leader)  # read-only role
    [part] = j.request(j.legal)
    # Only members of the part's department sign, report or decline - not the lead, not the police.
    for other in (w.chief, w.officer, w.operator):
        with pytest.raises(Forbidden, match="只有协办单位“清泉街社区法务室”的处置人员"):
            joint.case_assist_acknowledge(actor=fresh(other), assist=part, expected_version=part.version)
    # Only the lead cancels; the co-handler declines instead.
    with pytest.raises(Forbidden, match="撤回协办"):
        joint.case_assist_cancel(actor=fresh(j.lawyer), assist=part, expected_version=part.version, note="不想做")
    assert CaseAssist.objects.get(pk=part.pk).status == AS.REQUESTED


def test_request_validation(j: Joint) -> None:
    w = j.w
    cases: list[tuple[list[Any], str]] = [
        ([], "请选择至少一个协办单位"),
        ([j.judicial.pk], "不服务该案件所在辖区"),  # another street's office
        ([999999], "不存在"),
        (["abc"], "协办单位编号不正确"),
        (list(range(1, 13)), "一次最多请求10个协办单位"),
    ]
    for ids, message in cases:
        with pytest.raises(ValidationError, match=message):
            joint.case_assist_request(
                actor=w.chief, case=j.case, department_ids=ids, note="x", expected_version=j.case.version
            )
    with pytest.raises(ValidationError, match="请填写协办事项"):
        j.request(j.legal, note="   ")
    with pytest.raises(ValidationError, match="不能超过2000个字"):
        j.request(j.legal, note="字" * 2001)
    j.legal.is_active = False
    j.legal.save()
    with pytest.raises(ValidationError, match="已停用"):
        j.request(j.legal)
    j.legal.is_active = True
    j.legal.save()
    j.request(j.legal)
    with pytest.raises(ValidationError, match="清泉街社区法务室已在协办该案件"):
        j.request(j.legal, w.police)
    assert CaseAssist.objects.count() == 1  # nothing half-written (the police part was not made)


def test_text_required_for_report_decline_cancel(j: Joint) -> None:
    [part] = j.request(j.legal)
    with pytest.raises(ValidationError, match="请填写拒绝原因"):
        joint.case_assist_decline(actor=fresh(j.lawyer), assist=part, expected_version=part.version, note=" ")
    with pytest.raises(ValidationError, match="请填写撤回原因"):
        joint.case_assist_cancel(actor=j.w.chief, assist=part, expected_version=part.version, note="")
    part = joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=part, expected_version=part.version)
    with pytest.raises(ValidationError, match="请填写协办结果"):
        joint.case_assist_report(actor=fresh(j.lawyer), assist=part, expected_version=part.version, note="")


def test_request_only_while_the_case_is_worked(j: Joint) -> None:
    w = j.w
    for status in (S.RECEIVED, S.REGISTERED, S.REPORTED, S.CLOSED):
        case = bring_to(w, status)
        with pytest.raises((DomainError, Forbidden)) as exc:
            joint.case_assist_request(
                actor=w.operator, case=case, department_ids=[j.legal.pk], note="x", expected_version=case.version
            )
        assert getattr(exc.value, "code", "") == "illegal_assist", status
        assert "只有已派遣或处置中的案件可以请求协办" in str(exc.value.message)


def test_parts_of_a_finished_case_are_frozen(j: Joint) -> None:
    w = j.w
    case = bring_to(w, S.DISPATCHED)
    [part] = joint.case_assist_request(
        actor=w.operator, case=case, department_ids=[j.legal.pk], note="x", expected_version=case.version
    )
    case.refresh_from_db()
    other = w.intake(register=False, title="同一问题")
    services.case_transition(
        actor=w.operator, case=case, action=A.MERGE, expected_version=case.version, duplicate_of=other.pk
    )
    with pytest.raises(DomainError) as exc:
        joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=part, expected_version=part.version)
    assert exc.value.code == "case_finished"
    # ... and they leave the 协办 inbox.
    assert list(selectors.assist_inbox(fresh(j.lawyer))) == []


# --- optimistic locking ------------------------------------------------------------------------------


def test_stale_versions_are_conflicts(j: Joint) -> None:
    stale_case_version = j.case.version
    [part] = j.request(j.legal)
    with pytest.raises(Conflict, match="该案件已被他人更新"):
        joint.case_assist_request(
            actor=j.w.chief, case=j.case, department_ids=[j.w.police.pk], note="x", expected_version=stale_case_version
        )
    stale = part.version
    joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=part, expected_version=stale)
    with pytest.raises(Conflict, match="该协办任务已被他人更新"):
        joint.case_assist_decline(actor=fresh(j.lawyer), assist=part, expected_version=stale, note="晚了")
    with pytest.raises(Conflict):
        joint.case_assist_cancel(actor=j.w.chief, assist=part, expected_version=stale, note="晚了")
    assert CaseAssist.objects.get(pk=part.pk).status == AS.ACKNOWLEDGED


def test_the_update_guard_catches_a_change_between_read_and_write(j: Joint, monkeypatch: pytest.MonkeyPatch) -> None:
    [part] = j.request(j.legal)
    real = joint._load_assist

    def load_then_someone_else_signs(assist: Any) -> CaseAssist:
        loaded = real(assist)
        CaseAssist.objects.filter(pk=loaded.pk).update(version=loaded.version + 1)
        return loaded

    monkeypatch.setattr(joint, "_load_assist", load_then_someone_else_signs)
    before = CaseEvent.objects.count()
    with pytest.raises(Conflict):
        joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=part, expected_version=part.version)
    assert CaseEvent.objects.count() == before


# --- the lead's report-back guard -----------------------------------------------------------------------


def test_report_back_waits_for_open_parts(j: Joint) -> None:
    w = j.w
    [legal, police] = j.request(j.legal, w.police)
    case = Case.objects.get(pk=j.case.pk)
    with pytest.raises(DomainError) as exc:
        act(w, case, A.REPORT_BACK)
    assert exc.value.code == "assists_open"
    assert "以下协办单位尚未办结: 清泉街社区法务室、兴隆巷派出所" in str(exc.value.message)
    assert "assist_override" in exc.value.fields
    assert Case.objects.get(pk=case.pk).status == S.HANDLING  # nothing written
    assert not events(case, A.REPORT_BACK)

    # Declining and reporting finish the parts: then the report goes through.
    police = joint.case_assist_decline(actor=fresh(w.officer), assist=police, expected_version=1, note="非治安问题")
    legal = joint.case_assist_acknowledge(actor=fresh(j.lawyer), assist=legal, expected_version=1)
    with pytest.raises(DomainError, match="清泉街社区法务室"):
        act(w, Case.objects.get(pk=case.pk), A.REPORT_BACK)
    joint.case_assist_report(actor=fresh(j.lawyer), assist=legal, expected_version=legal.version, note="已调解")
    assert act(w, Case.objects.get(pk=case.pk), A.REPORT_BACK).status == S.REPORTED


def test_report_back_override_cancels_open_parts_and_is_recorded(j: Joint) -> None:
    w = j.w
    [legal] = j.request(j.legal)
    case = Case.objects.get(pk=j.case.pk)
    case = services.case_transition(
        actor=w.chief,
        case=case,
        action=A.REPORT_BACK,
        expected_version=case.version,
        note="已现场处理完毕",
        assist_override="当事人已和解, 无需法务室继续协办",
    )
    assert case.status == S.REPORTED
    legal.refresh_from_db()
    assert legal.status == AS.CANCELLED and "当事人已和解" in legal.cancel_reason
    report = events(case, A.REPORT_BACK)[-1]
    assert report.data["assist_override"] == {
        "reason": "当事人已和解, 无需法务室继续协办",
        "cancelled": [{"id": legal.pk, "department": "清泉街社区法务室"}],
    }
    cancel = events(case, A.ASSIST_CANCEL)[-1]
    assert cancel.data["assist"]["override"] is True and cancel.id < report.id
    assert audits(legal) == ["create", "transition"]
    assert Notification.objects.filter(recipient=j.lawyer, subject__contains="协办已撤回").count() == 1


def test_override_rolls_back_when_the_case_update_conflicts(j: Joint, monkeypatch: pytest.MonkeyPatch) -> None:
    w = j.w
    [legal] = j.request(j.legal)
    case = Case.objects.get(pk=j.case.pk)
    real = services._apply

    def apply_then_bump(current: Case, *args: Any) -> Any:
        result = real(current, *args)
        Case.objects.filter(pk=current.pk).update(version=current.version + 5)
        return result

    monkeypatch.setattr(services, "_apply", apply_then_bump)
    with pytest.raises(Conflict):
        services.case_transition(
            actor=w.chief,
            case=case,
            action=A.REPORT_BACK,
            expected_version=case.version,
            note="已处理",
            assist_override="和解",
        )
    assert CaseAssist.objects.get(pk=legal.pk).status == AS.REQUESTED  # the cancellation rolled back too


# --- read access of a co-handler: the case and its timeline, nothing else ---------------------------------


def test_co_handler_reads_the_case_and_nothing_else(j: Joint) -> None:
    w = j.w
    lawyer = fresh(j.lawyer)
    with pytest.raises(NotFound):
        selectors.case_get(lawyer, j.case.pk)
    other = w.intake(title="另一件事")  # a case in the same grid, not co-handled
    [part] = j.request(j.legal)
    lawyer = fresh(j.lawyer)
    assert selectors.case_get(lawyer, j.case.pk).pk == j.case.pk
    assert selectors.timeline(lawyer, j.case.pk).count() > 0
    assert selectors.assist_get(lawyer, part.pk).pk == part.pk
    with pytest.raises(NotFound):
        selectors.case_get(lawyer, other.pk)
    assert selectors.reads_only_as_co_handler(lawyer, j.case)
    assert not selectors.reads_only_as_co_handler(fresh(w.chief), j.case)
    # No workflow action on the case itself.
    assert workflow.available_actions(lawyer, selectors.case_get(lawyer, j.case.pk)) == []
    with pytest.raises(Forbidden):
        services.case_transition(
            actor=lawyer,
            case=j.case.pk,
            action=A.REPORT_BACK,
            expected_version=Case.objects.get(pk=j.case.pk).version,
            note="x",
        )
    # The other street's clerk sees neither the case nor the part.
    clerk = fresh(j.clerk)
    with pytest.raises(NotFound):
        selectors.assist_get(clerk, part.pk)
    # Visibility survives the part's end (the history stays readable).
    joint.case_assist_decline(actor=lawyer, assist=part, expected_version=part.version, note="非法律问题")
    assert selectors.case_get(fresh(j.lawyer), j.case.pk)


def test_a_case_with_several_parts_is_still_one_case(j: Joint) -> None:
    w = j.w
    today = dt.date.today()
    start, end = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    before = metrics.case_metrics(w.operator, start=start, end=end)
    [legal] = j.request(j.legal)
    joint.case_assist_decline(actor=fresh(j.lawyer), assist=legal, expected_version=1, note="非法律问题")
    j.request(j.legal, w.police)  # asked again after declining: two parts of one department
    # The officer's department co-handles it AND the lawyer's twice: one row each.
    for user in (w.operator, w.officer, j.lawyer):
        assert selectors.visible_cases(fresh(user)).filter(pk=j.case.pk).count() == 1
    after = metrics.case_metrics(w.operator, start=start, end=end)
    assert after.as_dict() == before.as_dict() and after.received == 1
    assert metrics.case_metrics(fresh(j.lawyer), start=start, end=end).received == 1


# --- the 协办 inbox ---------------------------------------------------------------------------------------


def test_assist_inbox_lists_open_parts_by_deadline(j: Joint) -> None:
    w = j.w
    [first] = j.request(j.legal)
    second_case = bring_to(w, S.HANDLING)
    [second] = joint.case_assist_request(
        actor=w.chief, case=second_case, department_ids=[j.legal.pk], note="y", expected_version=second_case.version
    )
    CaseAssist.objects.filter(pk=second.pk).update(due_at=first.due_at - dt.timedelta(hours=1))
    assert [p.pk for p in selectors.assist_inbox(fresh(j.lawyer))] == [second.pk, first.pk]
    joint.case_assist_decline(actor=fresh(j.lawyer), assist=second, expected_version=1, note="非法律问题")
    assert [p.pk for p in selectors.assist_inbox(fresh(j.lawyer))] == [first.pk]
    assert list(selectors.assist_inbox(fresh(w.chief))) == []  # no department
    assert list(selectors.assist_inbox(fresh(w.officer))) == []  # the police were not asked


# --- the API ----------------------------------------------------------------------------------------------


def post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, content_type="application/json")


def test_api_joint_flow(client: Client, j: Joint) -> None:
    w = j.w
    client.force_login(w.chief)
    case_version = Case.objects.get(pk=j.case.pk).version
    body = {"department_ids": [j.legal.pk, w.police.pk], "note": "请协助调解", "expected_version": case_version}
    created = post(client, f"/api/cases/{j.case.pk}/assists", body)
    assert created.status_code == 201, created.content
    parts = created.json()
    assert [p["department_name"] for p in parts] == ["清泉街社区法务室", "兴隆巷派出所"]
    assert parts[0]["status"] == "requested" and parts[0]["requested_by"] == str(w.chief)
    # A replay with the old version is a conflict, with the JSON error body.
    again = post(client, f"/api/cases/{j.case.pk}/assists", body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    listed = client.get(f"/api/cases/{j.case.pk}/assists").json()
    assert listed["count"] == 2 and [p["id"] for p in listed["items"]] == [p["id"] for p in parts]

    client.force_login(j.lawyer)
    inbox = client.get("/api/cases/assists/inbox").json()
    assert [p["id"] for p in inbox["items"]] == [parts[0]["id"]]
    url = f"/api/cases/assists/{parts[0]['id']}/actions"
    signed = post(client, url, {"action": "acknowledge", "expected_version": 1})
    assert signed.status_code == 200 and signed.json()["status"] == "acknowledged"
    stale = post(client, url, {"action": "report", "expected_version": 1, "note": "已办"})
    assert stale.status_code == 409 and stale.json()["error"]["message"] == "该协办任务已被他人更新, 请刷新后重试"
    illegal = post(client, url, {"action": "acknowledge", "expected_version": 2})
    assert illegal.status_code == 400 and illegal.json()["error"]["code"] == "illegal_transition"
    missing = post(client, url, {"action": "report", "expected_version": 2, "note": ""})
    assert missing.status_code == 400 and "note" in missing.json()["error"]["fields"]
    done = post(client, url, {"action": "report", "expected_version": 2, "note": "已调解"})
    assert done.json()["status"] == "done" and done.json()["response"] == "已调解"
    # The lawyer may not act on the police's part (it can read it: same case) ...
    other = post(
        client,
        f"/api/cases/assists/{parts[1]['id']}/actions",
        {"action": "decline", "expected_version": 1, "note": "x"},
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    # ... nor take the case's own actions.
    version = Case.objects.get(pk=j.case.pk).version
    assert client.get(f"/api/cases/{j.case.pk}/actions").json()["actions"] == []
    refused = post(
        client,
        f"/api/cases/{j.case.pk}/transitions",
        {"action": "report_back", "expected_version": version, "note": "x"},
    )
    assert refused.status_code == 403

    # The lead: report back is refused while the police part is open, then passes with an override.
    client.force_login(w.chief)
    blocked = post(
        client,
        f"/api/cases/{j.case.pk}/transitions",
        {"action": "report_back", "expected_version": version, "note": "已处理"},
    )
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "assists_open"
    assert "兴隆巷派出所" in blocked.json()["error"]["message"]
    passed = post(
        client,
        f"/api/cases/{j.case.pk}/transitions",
        {"action": "report_back", "expected_version": version, "note": "已处理", "assist_override": "派出所无需参与"},
    )
    assert passed.status_code == 200 and passed.json()["status"] == "reported"
    assert CaseAssist.objects.get(pk=parts[1]["id"]).status == AS.CANCELLED


def test_api_scope_and_bad_input(client: Client, j: Joint) -> None:
    [part] = j.request(j.legal)
    client.force_login(j.clerk)  # another street's office: the case does not exist for them
    assert client.get(f"/api/cases/{j.case.pk}/assists").status_code == 404
    response = post(client, f"/api/cases/assists/{part.pk}/actions", {"action": "acknowledge", "expected_version": 1})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    client.force_login(j.w.chief)
    version = Case.objects.get(pk=j.case.pk).version
    bad = post(
        client,
        f"/api/cases/{j.case.pk}/assists",
        {"department_ids": [j.judicial.pk], "note": "x", "expected_version": version},
    )
    assert bad.status_code == 400 and "department_ids" in bad.json()["error"]["fields"]
    schema_error = post(client, f"/api/cases/{j.case.pk}/assists", {"department_ids": "x"})
    assert schema_error.status_code == 422
    assert CaseAssist.objects.count() == 1


def test_openapi_documents_the_joint_endpoints(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    operations = {
        ("/api/cases/{case_id}/assists", "get"),
        ("/api/cases/{case_id}/assists", "post"),
        ("/api/cases/assists/{assist_id}/actions", "post"),
        ("/api/cases/assists/inbox", "get"),
    }
    for path, method in operations:
        op = schema["paths"][path][method]
        assert op["summary"] and op["security"], (method, path)
    assert "201" in schema["paths"]["/api/cases/{case_id}/assists"]["post"]["responses"]
    out = schema["components"]["schemas"]["CaseAssistOut"]["properties"]
    assert {"status", "version", "due_at", "department_name", "response"} <= set(out)
    assert "assist_override" in schema["components"]["schemas"]["TransitionIn"]["properties"]


# --- the pages ------------------------------------------------------------------------------------------

HTMX = {"HX-Request": "true"}


def test_pages_joint_flow(client: Client, j: Joint) -> None:
    w = j.w
    detail = reverse("cases:detail", args=[j.case.pk])
    client.force_login(w.chief)
    page = client.get(detail).content.decode()
    panel = page[page.index('id="case-joint"') :]
    panel = panel[: panel.index("</section>")]
    assert 'id="no-parts"' in panel and 'id="joint-request"' in panel
    # Only the departments serving the case's territory are offered.
    assert "清泉街社区法务室" in panel and "兴隆巷派出所" in panel and "小召司法所" not in panel

    version = Case.objects.get(pk=j.case.pk).version
    missing = client.post(
        reverse("cases:joint_request", args=[j.case.pk]), {"expected_version": version, "note": "x"}, headers=HTMX
    )
    assert missing.status_code == 400 and "请选择至少一个协办单位" in missing.content.decode()
    done = client.post(
        reverse("cases:joint_request", args=[j.case.pk]),
        {"expected_version": version, "note": "请协助调解", "department_ids": [j.legal.pk, w.police.pk]},
        headers=HTMX,
    )
    assert done.status_code == 204 and done["HX-Redirect"] == detail
    legal, police = CaseAssist.objects.order_by("id")
    stale = client.post(
        reverse("cases:joint_request", args=[j.case.pk]),
        {"expected_version": version, "note": "再请", "department_ids": [j.legal.pk]},
        headers=HTMX,
    )
    assert stale.status_code == 409 and "该案件已被他人更新" in stale.content.decode()

    # The lead's page: both parts, a cancel button each, and the report back needs an override.
    page = client.get(detail).content.decode()
    assert f'id="part-{legal.pk}"' in page and 'data-assist-action="cancel"' in page
    assert 'name="assist_override"' in page and "已办结 0 / 共 2" in page

    # The co-handler: the 协办 tab, the case (read only) with its part's buttons.
    client.force_login(j.lawyer)
    inbox = client.get(reverse("cases:inbox"), {"box": "assist"}).content.decode()
    assert 'id="tab-assist"' in inbox and f'id="assist-row-{legal.pk}"' in inbox
    assert f'id="assist-row-{police.pk}"' not in inbox
    page = client.get(detail).content.decode()
    assert 'id="no-actions"' in page and 'id="joint-request"' not in page
    assert 'name="photos"' not in page  # no photo upload for a co-handler
    assert page.count('data-assist-action="acknowledge"') == 1  # only its own part
    assert 'data-assist-action="cancel"' not in page
    act_url = reverse("cases:joint_act", args=[legal.pk])
    illegal = client.post(act_url, {"action": "report", "expected_version": 1, "note": "已办"}, headers=HTMX)
    assert illegal.status_code == 400 and "不能执行“反馈协办结果”" in illegal.content.decode()
    assert client.post(act_url, {"action": "acknowledge", "expected_version": 1}, headers=HTMX).status_code == 204
    conflict = client.post(act_url, {"action": "decline", "expected_version": 1, "note": "x"}, headers=HTMX)
    assert conflict.status_code == 409 and "该协办任务已被他人更新" in conflict.content.decode()
    assert 'id="joint-error"' in conflict.content.decode()
    reported = client.post(act_url, {"action": "report", "expected_version": 2, "note": "已出具法律意见"})
    assert reported.status_code == 302  # without htmx: back to the page
    forbidden = client.post(
        reverse("cases:joint_act", args=[police.pk]),
        {"action": "decline", "expected_version": 1, "note": "x"},
        headers=HTMX,
    )
    assert forbidden.status_code == 403
    photo = client.post(reverse("cases:photo_upload", args=[j.case.pk]), {"kind": "report"})
    assert photo.status_code == 403

    # The lead reports back: refused while the police part is open, accepted with an override.
    client.force_login(w.chief)
    version = Case.objects.get(pk=j.case.pk).version
    act_case = reverse("cases:act", args=[j.case.pk])
    blocked = client.post(
        act_case, {"action": "report_back", "expected_version": version, "note": "已处理"}, headers=HTMX
    )
    assert blocked.status_code == 400 and "以下协办单位尚未办结: 兴隆巷派出所" in blocked.content.decode()
    passed = client.post(
        act_case,
        {"action": "report_back", "expected_version": version, "note": "已处理", "assist_override": "派出所无需参与"},
        headers=HTMX,
    )
    assert passed.status_code == 204
    page = client.get(detail).content.decode()
    assert "强制反馈理由: 派出所无需参与" in page and "协办结果: 已出具法律意见" in page
    assert CaseAssist.objects.get(pk=police.pk).status == AS.CANCELLED


def test_pages_outsiders_get_404(client: Client, j: Joint) -> None:
    [part] = j.request(j.legal)
    client.force_login(j.clerk)
    assert client.get(reverse("cases:detail", args=[j.case.pk])).status_code == 404
    response = client.post(reverse("cases:joint_act", args=[part.pk]), {"action": "acknowledge", "expected_version": 1})
    assert response.status_code == 404
    inbox = client.get(reverse("cases:inbox"), {"box": "assist"}).content.decode()
    assert "暂无协办任务" in inbox
    # No department: no 协办 tab at all.
    client.force_login(j.w.chief)
    assert client.get(reverse("cases:inbox"), {"box": "assist"}).status_code == 404


def test_assist_inbox_query_count_does_not_grow(client: Client, j: Joint, django_assert_max_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = j.w
    j.request(j.legal)
    client.force_login(j.lawyer)
    url = reverse("cases:inbox")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"box": "assist"}).status_code == 200
    for i in range(12):
        case = w.intake(title=f"纠纷{i}")
        assert case.status == S.DISPATCHED
        joint.case_assist_request(
            actor=w.operator, case=case, department_ids=[j.legal.pk], note="调解", expected_version=case.version
        )
    assert selectors.assist_inbox(fresh(j.lawyer)).count() == 13
    with CaptureQueriesContext(connection) as many:
        body = client.get(url, {"box": "assist"}).content.decode()
    assert body.count('class="assist-row"') == 13
    assert len(many.captured_queries) == len(few.captured_queries)
    with django_assert_max_num_queries(15):
        client.get(url, {"box": "assist"})


# --- the demo -----------------------------------------------------------------------------------------------


def test_demo_joint_cases(j: Joint) -> None:
    from django.utils import timezone

    from civicgrid.demo.cases import build_joint_cases

    Case.objects.filter(pk=j.case.pk).update(idempotency_key="demo:5:0")
    assert build_joint_cases(seed=5, anchor=timezone.now()) == 2
    legal = CaseAssist.objects.get(department=j.legal)
    police = CaseAssist.objects.get(department=j.w.police)
    # The case is in handling: the legal office is at work, the police have not signed yet.
    assert (legal.status, legal.acknowledged_by, police.status) == (AS.ACKNOWLEDGED, j.lawyer, AS.REQUESTED)
    assert legal.requested_by == j.w.chief and legal.version == 2
    assert [e.action for e in events(j.case, A.ASSIST_REQUEST, A.ASSIST_ACKNOWLEDGE)] == [
        A.ASSIST_REQUEST,
        A.ASSIST_ACKNOWLEDGE,
        A.ASSIST_REQUEST,
    ]
    assert [p.pk for p in selectors.assist_inbox(fresh(j.lawyer))] == [legal.pk]
    assert build_joint_cases(seed=5, anchor=timezone.now()) == 0  # idempotent
    # The demo parts go on through the services like any other.
    legal = joint.case_assist_report(actor=fresh(j.lawyer), assist=legal, expected_version=2, note="已调解")
    assert legal.status == AS.DONE
