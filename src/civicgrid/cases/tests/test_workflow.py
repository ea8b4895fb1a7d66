"""The transition table: every legal action works, every illegal one is refused clearly;
permissions; optimistic locking; every transition is on the timeline and audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import services, workflow
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.enums import Outcome, Tier
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act, bring_to
from civicgrid.common.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db

ALL_ACTIONS = sorted({action for (_s, action) in workflow.TRANSITIONS})


def _audits(case: Case) -> int:
    return AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count()


@pytest.mark.parametrize(("status", "action"), sorted(workflow.TRANSITIONS))
def test_every_legal_transition(world: World, status: str, action: str) -> None:
    case = bring_to(world, status)
    events_before = case.events.count()
    extra = {"route": False} if action == A.REGISTER else {}  # routing is tested on its own
    after = act(world, case, action, **extra)
    assert after.status == workflow.TRANSITIONS[(status, action)]
    assert after.version == case.version + 1
    stored = Case.objects.get(pk=case.pk)
    assert stored.status == after.status and stored.version == after.version
    last = stored.events.order_by("-id").first()
    assert last is not None and last.action == action
    assert last.from_status == status and last.to_status == after.status
    assert stored.events.count() == events_before + 1
    assert services.case_owner_ok(stored)
    assert _audits(stored) == stored.events.count()


@pytest.mark.parametrize("status", [s for s in S.values])
def test_illegal_actions_are_refused_with_the_allowed_list(world: World, status: str) -> None:
    case = bring_to(world, status)
    allowed = workflow.allowed_actions_from(status)
    for action in ALL_ACTIONS:
        if action in allowed:
            continue
        with pytest.raises(DomainError) as info:
            services.case_transition(
                actor=world.operator, case=case, action=action, expected_version=case.version, note="x"
            )
        assert info.value.code == "illegal_transition"
        message = str(info.value.message)
        assert workflow.status_label(status) in message
        assert workflow.action_label(action) in message
        for ok in allowed:
            assert workflow.action_label(ok) in message
    assert Case.objects.get(pk=case.pk).version == case.version


def test_unknown_action_is_illegal(world: World) -> None:
    case = bring_to(world, S.RECEIVED)
    with pytest.raises(DomainError) as info:
        services.case_transition(actor=world.operator, case=case, action="explode", expected_version=case.version)
    assert info.value.code == "illegal_transition"


def test_optimistic_locking_one_wins_one_conflicts(world: World) -> None:
    case = bring_to(world, S.REPORTED)
    stale = Case.objects.get(pk=case.pk)
    act(world, case, A.VERIFY_PASS)
    with pytest.raises(Conflict) as info:
        services.case_transition(
            actor=world.operator, case=stale, action=A.VERIFY_FAIL, expected_version=stale.version, note="未修复"
        )
    assert info.value.status == 409
    assert "该案件已被他人更新" in str(info.value.message)
    stored = Case.objects.get(pk=case.pk)
    assert stored.status == S.CLOSED
    assert stored.events.filter(action=A.VERIFY_FAIL).count() == 0


def test_conflict_when_the_row_changes_between_read_and_write(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The UPDATE ... WHERE version=? guard itself (not only the early check)."""
    case = bring_to(world, S.DISPATCHED)
    original = services._apply

    def racing_apply(*args: object, **kwargs: object) -> object:
        Case.objects.filter(pk=case.pk).update(version=case.version + 1)  # someone else wins
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "_apply", racing_apply)
    with pytest.raises(Conflict):
        act(world, case, A.ACKNOWLEDGE)
    assert CaseEvent.objects.filter(case=case, action=A.ACKNOWLEDGE).count() == 0


def test_only_the_current_handler_may_handle(world: World) -> None:
    case = bring_to(world, S.DISPATCHED)
    for outsider in (world.worker, world.officer, world.operator):
        with pytest.raises(PermissionDenied.__mro__[0] if False else DomainError) as info:
            act(world, case, A.ACKNOWLEDGE, actor=outsider)
        assert info.value.status == 403
        assert "当前处置人" in str(info.value.message)


def test_scope_and_capability_are_checked(world: World) -> None:
    case = bring_to(world, S.REPORTED)  # in community 0
    with pytest.raises(DomainError) as info:
        act(world, case, A.VERIFY_PASS, actor=world.other_worker)  # community 2: out of scope
    assert info.value.status == 403
    act(world, case, A.VERIFY_PASS, actor=world.worker)  # community 0 may verify
    with pytest.raises(PermissionDenied):
        act(world, Case.objects.get(pk=case.pk), A.EVALUATE, actor=world.leader)  # read-only


def test_reasons_are_required(world: World) -> None:
    case = bring_to(world, S.HANDLING)
    with pytest.raises(ValidationError):
        act(world, case, A.RETURN_TO_DISPATCHER, note="")
    assert Case.objects.get(pk=case.pk).status == S.HANDLING


def test_acknowledge_sets_its_timestamp_and_report_back_needs_a_note(world: World) -> None:
    case = bring_to(world, S.DISPATCHED)
    assert case.acknowledged_at is None
    case = act(world, case, A.ACKNOWLEDGE)
    assert case.acknowledged_at is not None
    with pytest.raises(ValidationError):
        act(world, case, A.REPORT_BACK, note="")


def test_closed_not_fixed_is_a_distinct_outcome(world: World) -> None:
    case = act(world, bring_to(world, S.REPORTED), A.VERIFY_PASS, outcome=Outcome.CLOSED_NOT_FIXED)
    assert case.outcome == Outcome.CLOSED_NOT_FIXED and case.closed_at is not None
    with pytest.raises(ValidationError):
        act(world, bring_to(world, S.REPORTED), A.VERIFY_PASS, outcome=Outcome.DUPLICATE)


def test_verify_fail_reopens_to_the_same_handler(world: World) -> None:
    case = act(world, bring_to(world, S.REPORTED), A.VERIFY_FAIL)
    assert case.status == S.HANDLING and case.current_handler == world.chief
    assert case.rehandle_count == 1 and case.last_reopened_at is not None


def test_reopen_after_evaluation_goes_back_to_the_handler(world: World) -> None:
    case = bring_to(world, S.EVALUATED)
    assert case.satisfaction == 5 and case.resolved is True
    case = act(world, case, A.REOPEN)
    assert case.status == S.DISPATCHED and case.current_handler == world.chief
    assert case.reopen_count == 1 and case.rehandle_count == 1
    assert case.closed_at is None and case.outcome == "" and case.satisfaction is None


def test_reopen_of_a_direct_answer_is_routed(world: World) -> None:
    case = act(world, bring_to(world, S.RECEIVED), A.ANSWER_DIRECTLY)
    assert case.status == S.CLOSED and case.outcome == Outcome.ANSWERED_DIRECTLY
    case = act(world, case, A.REOPEN)
    assert case.status == S.DISPATCHED and case.current_handler == world.chief


def test_escalation_climbs_one_tier_at_a_time(world: World) -> None:
    case = act(world, bring_to(world, S.HANDLING), A.ESCALATE)
    assert case.status == S.DISPATCHED and case.current_tier == Tier.COMMUNITY
    assert case.current_unit == world.d.communities[0] and case.current_handler is None
    case = act(world, case, A.ACKNOWLEDGE)  # the community worker signs for it
    assert case.current_handler == world.worker
    case = act(world, case, A.ESCALATE)
    assert case.current_tier == Tier.STREET and case.current_unit == world.d.streets[0]
    case = act(world, case, A.ESCALATE, actor=world.street_admin)
    assert case.current_tier == Tier.DISTRICT and case.current_unit == world.d.district
    assert case.escalation_count == 3
    with pytest.raises(DomainError) as info:
        act(world, case, A.ESCALATE, actor=world.operator)
    assert info.value.code == "cannot_escalate"


def test_transfer_accept_and_refuse(world: World) -> None:
    case = bring_to(world, S.TRANSFER_PENDING)
    assert case.current_department == world.police and case.current_handler is None
    with pytest.raises(DomainError):
        act(world, case, A.ACCEPT_TRANSFER, actor=world.chief)
    accepted = act(world, case, A.ACCEPT_TRANSFER)
    assert accepted.status == S.HANDLING and accepted.current_handler == world.officer
    refused = act(world, bring_to(world, S.TRANSFER_PENDING), A.REFUSE_TRANSFER)
    assert refused.status == S.REGISTERED and refused.in_manual_queue
    assert refused.current_department is None


def test_merge_points_at_the_surviving_case(world: World) -> None:
    target = bring_to(world, S.DISPATCHED)
    dup = act(world, bring_to(world, S.RECEIVED), A.MERGE, duplicate_of=target.pk)
    assert dup.status == S.MERGED and dup.duplicate_of == target and dup.outcome == Outcome.DUPLICATE
    with pytest.raises(ValidationError):
        act(world, bring_to(world, S.RECEIVED), A.MERGE, duplicate_of=999999)


def test_extension_moves_deadlines_and_is_limited(world: World) -> None:
    case = bring_to(world, S.HANDLING)
    due = case.handle_due
    assert due is not None
    case = act(world, case, A.REQUEST_EXTENSION, hours=24)
    assert case.status == S.HANDLING and case.extension_count == 1
    assert case.handle_due is not None and (case.handle_due - due).total_seconds() == 24 * 3600
    case = act(world, case, A.REQUEST_EXTENSION, hours=24)
    with pytest.raises(DomainError) as info:
        act(world, case, A.REQUEST_EXTENSION, hours=24)
    assert info.value.code == "extension_limit"
    with pytest.raises(ValidationError):
        act(world, bring_to(world, S.HANDLING), A.REQUEST_EXTENSION, hours=10_000)


def test_evaluation_validates_its_score(world: World) -> None:
    case = bring_to(world, S.CLOSED)
    for bad in (0, 6, None):
        with pytest.raises(ValidationError):
            act(world, case, A.EVALUATE, satisfaction=bad)


def test_resident_evaluates_by_tracking_code_and_may_reopen(world: World) -> None:
    case = bring_to(world, S.CLOSED)
    after = services.case_evaluate_by_resident(
        tracking_code=case.tracking_code.lower(),
        satisfaction=1,
        resolved=False,
        comment="没修好",
        reopen_if_unsatisfied=True,
    )
    assert after.status == S.DISPATCHED and after.reopen_count == 1
    events = list(after.events.order_by("-id").values_list("action", "actor_label")[:2])
    assert [e[0] for e in events] == [A.REOPEN, A.EVALUATE]
    other = bring_to(world, S.CLOSED)
    with pytest.raises(DomainError):  # a resident holding another code cannot act on this one
        services.case_transition(
            actor=workflow.ResidentActor(tracking_code=case.tracking_code),
            case=other,
            action=A.EVALUATE,
            expected_version=other.version,
            satisfaction=5,
            resolved=True,
        )


def test_available_actions_are_the_buttons(world: World) -> None:
    case = bring_to(world, S.DISPATCHED)
    assert workflow.available_actions(world.chief, case) == [
        A.ACKNOWLEDGE,
        A.RETURN_TO_DISPATCHER,
        A.TRANSFER,
        A.ESCALATE,
    ]
    assert workflow.available_actions(world.operator, case) == [A.DISPATCH, A.TRANSFER, A.MERGE]
    assert workflow.available_actions(world.leader, case) == []


def test_moderation_keeps_the_original(world: World) -> None:
    case = bring_to(world, S.DISPATCHED)
    lon, lat = world.point(world.d.grids[1])
    after = services.case_moderate(
        actor=world.operator,
        case=case,
        expected_version=case.version,
        reason="更正位置和错别字",
        title="小区门口路灯损坏",
        lon=lon,
        lat=lat,
        is_hidden=True,
    )
    assert after.status == S.DISPATCHED and after.version == case.version + 1
    assert after.grid == world.d.grids[1] and after.area_code == world.d.grids[1].code and after.is_hidden
    event = after.events.get(action=A.MODERATE)
    assert event.data["original"]["title"] == "小区门口路灯不亮"
    assert event.data["original"]["area_code"] == world.d.grids[0].code
    assert _audits(after) == after.events.count()
    with pytest.raises(DomainError):
        services.case_moderate(actor=world.chief, case=after, expected_version=after.version, reason="x", title="y")
    with pytest.raises(Conflict):
        services.case_moderate(actor=world.operator, case=after, expected_version=case.version, reason="x", title="y")


def test_on_commit_signal_and_in_transaction_signal(world: World, django_capture_on_commit_callbacks: object) -> None:
    from civicgrid.cases.signals import case_event_recorded, case_transitioned

    seen_inside: list[str] = []
    seen_after: list[str] = []

    def inside(sender: object, **kw: object) -> None:
        seen_inside.append(str(kw["action"]))

    def after(sender: object, **kw: object) -> None:
        seen_after.append(str(kw["action"]))

    case_event_recorded.connect(inside)
    case_transitioned.connect(after)
    try:
        case = bring_to(world, S.DISPATCHED)
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            act(world, case, A.ACKNOWLEDGE)
    finally:
        case_event_recorded.disconnect(inside)
        case_transitioned.disconnect(after)
    assert seen_inside[-1] == A.ACKNOWLEDGE
    assert seen_after == [A.ACKNOWLEDGE]
