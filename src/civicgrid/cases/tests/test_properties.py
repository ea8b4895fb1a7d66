"""Property-based: random sequences of actions by random actors through the workflow.

Invariants after every step, accepted or refused:
- the status changed only as the transition table says (or not at all when refused);
- an assigned case has exactly one current owner, a queued case none (case_owner_ok);
- a closed case has its closing record: closed_at, an outcome and a closing CaseEvent;
- every case event is audited: AuditEvent count == CaseEvent count, and the version counts
  the status-changing events;
- a refused action writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import services, workflow
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import action_args
from civicgrid.common.errors import DomainError

ACTIONS = sorted({action for (_s, action) in workflow.TRANSITIONS})
CLOSING = {A.VERIFY_PASS, A.ANSWER_DIRECTLY}


def _actors(w: World) -> list[Any]:
    return [w.operator, w.chief, w.worker, w.other_worker, w.officer, w.street_admin, w.leader, None]


def _check(case: Case) -> None:
    case.refresh_from_db()
    assert services.case_owner_ok(case), (case.status, case.current_handler_id, case.current_department_id)
    events = CaseEvent.objects.filter(case=case)
    audits = AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count()
    assert audits == events.count()
    # Version 1 at receipt, +1 for every later transition event (sweep and moderation aside).
    assert case.version == events.filter(is_transition=True).count()
    if case.status in (S.CLOSED, S.EVALUATED):
        assert case.closed_at is not None and case.outcome
        last_close = events.filter(to_status=S.CLOSED).order_by("-id").first()
        assert last_close is not None and last_close.action in CLOSING
    if case.status == S.MERGED:
        assert case.duplicate_of_id and case.duplicate_of_id != case.pk
    if case.status == S.NOT_ACCEPTED:
        assert case.not_accepted_reason


@pytest.mark.django_db
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start_in_queue=st.booleans(),
    steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 7)), min_size=1, max_size=30),
)
def test_random_action_sequences_keep_the_invariants(
    world: World, start_in_queue: bool, steps: list[tuple[str, int]]
) -> None:
    actors = _actors(world)
    with transaction.atomic():
        case = world.intake(register=False, grid=world.d.grids[1] if start_in_queue else world.d.grids[0])
        _check(case)
        for action, who in steps:
            case.refresh_from_db()
            before = (case.status, case.version, CaseEvent.objects.filter(case=case).count())
            default_actor, payload = action_args(world, case, action)
            actor = actors[who] if who < 7 else default_actor
            if action == A.DISPATCH and case.grid_id != world.d.grids[0].pk:
                payload = {"unit": world.d.communities[0].pk}
            allowed = workflow.target_status(case.status, action)
            try:
                after = services.case_transition(
                    actor=actor, case=case, action=action, expected_version=case.version, **payload
                )
            except (DomainError, ValidationError, PermissionDenied):
                case.refresh_from_db()
                assert (case.status, case.version, CaseEvent.objects.filter(case=case).count()) == before
            else:
                assert allowed is not None
                assert after.status in {allowed, S.REGISTERED, S.DISPATCHED}  # register/reopen route on
                assert workflow.may_take(actor, case, action)
            _check(case)
        transaction.set_rollback(True)
