"""The deadline sweep under time-machine: warn, overdue, escalate, and idempotence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import services
from civicgrid.cases.deadlines import deadline_sweep
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.enums import Tier
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def policy(settings: Any) -> None:
    settings.CASES_WARN_BEFORE_FRACTION = 0.25
    settings.CASES_ESCALATION_POLICY = {"acknowledge": {"after_hours": 2}, "handle": {"after_hours": 4}}
    settings.CASES_MAX_ESCALATIONS = 3


def _state(case: Case) -> tuple[Any, ...]:
    case.refresh_from_db()
    return (
        case.status,
        case.version,
        case.deadline_marks,
        case.warned_at,
        case.overdue_at,
        case.escalation_count,
        CaseEvent.objects.filter(case=case).count(),
        AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count(),
    )


def _sweep_twice(at: datetime) -> Any:
    first = deadline_sweep(now=at)
    second = deadline_sweep(now=at)
    assert second.changed == 0, second
    return first


def test_warn_then_overdue_then_escalate_and_idempotent(world: World) -> None:
    with time_machine.travel(T0, tick=False):
        case = world.intake()  # normal priority: acknowledge 4 h, handle 72 h, close 120 h
    assert case.status == S.DISPATCHED and case.acknowledge_due == T0 + timedelta(hours=4)

    # 2 h in: nothing yet.
    assert _sweep_twice(T0 + timedelta(hours=2)).changed == 0

    # 3.5 h in: inside the last quarter of the acknowledge span: one warning.
    result = _sweep_twice(T0 + timedelta(hours=3, minutes=30))
    assert result.warned == [case.pk] and not result.overdue
    state = _state(case)
    assert case.warned_at == T0 + timedelta(hours=3, minutes=30) and case.overdue_at is None
    assert case.events.filter(action=A.DEADLINE_WARNING).count() == 1
    assert _sweep_twice(T0 + timedelta(hours=3, minutes=45)).changed == 0
    assert _state(case) == state

    # 4.5 h in: overdue, not yet escalated (2 h grace).
    result = _sweep_twice(T0 + timedelta(hours=4, minutes=30))
    assert result.overdue == [case.pk] and not result.escalated
    assert _state(case)[4] == T0 + timedelta(hours=4, minutes=30)
    assert case.version == 1 + 2  # received(1) -> registered(2) -> dispatched(3): marks do not bump it

    # 6.5 h in: escalated one tier, to the community; a fresh acknowledge deadline.
    at = T0 + timedelta(hours=6, minutes=30)
    result = _sweep_twice(at)
    assert result.escalated == [case.pk]
    case.refresh_from_db()
    assert case.status == S.DISPATCHED and case.current_tier == Tier.COMMUNITY
    assert case.current_unit == world.d.communities[0] and case.current_handler is None
    assert case.escalation_count == 1 and case.acknowledge_due == at + timedelta(hours=4)
    event = case.events.get(action=A.ESCALATE)
    assert event.actor is None and event.data["deadline"] == "acknowledge"
    # The timeline and the audit trail agree.
    assert _state(case)[6] == _state(case)[7]


def test_handle_deadline_escalates_once(world: World) -> None:
    with time_machine.travel(T0, tick=False):
        case = world.intake()
        case = act(world, case, A.ACKNOWLEDGE)
    late = T0 + timedelta(hours=72 + 5)
    result = _sweep_twice(late)
    assert result.overdue == [case.pk] and result.escalated == [case.pk]
    case.refresh_from_db()
    assert case.current_tier == Tier.COMMUNITY and case.deadline_marks.get("handle:escalated")
    # The community signs for it and keeps it past the (unchanged) handle deadline: the handle
    # deadline already escalated once, so it does not climb again.
    with time_machine.travel(late, tick=False):
        case = act(world, case, A.ACKNOWLEDGE)
    assert _sweep_twice(late + timedelta(hours=10)).escalated == []
    case.refresh_from_db()
    assert case.current_tier == Tier.COMMUNITY


def test_closed_cases_are_left_alone_and_reported_cases_only_watch_closing(world: World) -> None:
    with time_machine.travel(T0, tick=False):
        done = world.intake()
        for action in (A.ACKNOWLEDGE, A.REPORT_BACK, A.VERIFY_PASS):
            done = act(world, done, action)
        waiting = world.intake(title="等待核查")
        for action in (A.ACKNOWLEDGE, A.REPORT_BACK):
            waiting = act(world, waiting, action)
    result = _sweep_twice(T0 + timedelta(days=30))
    assert done.pk not in result.overdue and done.pk not in result.warned
    assert result.overdue == [waiting.pk] and result.escalated == []
    waiting.refresh_from_db()
    assert set(waiting.deadline_marks) == {"close:overdue", "close:warned"}


def test_extension_gives_a_fresh_deadline(world: World) -> None:
    with time_machine.travel(T0, tick=False):
        case = act(world, world.intake(), A.ACKNOWLEDGE)
    deadline_sweep(now=T0 + timedelta(hours=70))  # handle warning
    case.refresh_from_db()
    assert "handle:warned" in case.deadline_marks
    with time_machine.travel(T0 + timedelta(hours=70), tick=False):
        case = act(world, case, A.REQUEST_EXTENSION, hours=48)
    assert "handle:warned" not in case.deadline_marks
    assert deadline_sweep(now=T0 + timedelta(hours=73)).overdue == []


def test_sweep_skips_a_case_changed_meanwhile(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with time_machine.travel(T0, tick=False):
        case = world.intake()
    from civicgrid.cases import deadlines

    real = deadlines._mark

    def racing(case_obj: Case, *args: Any, **kwargs: Any) -> bool:
        Case.objects.filter(pk=case_obj.pk).update(version=case_obj.version + 1)
        return real(case_obj, *args, **kwargs)

    monkeypatch.setattr(deadlines, "_mark", racing)
    result = deadline_sweep(now=T0 + timedelta(hours=3, minutes=30))
    assert result.warned == []
    assert CaseEvent.objects.filter(case=case, action=A.DEADLINE_WARNING).count() == 0


def test_periodic_job_is_registered() -> None:
    from civicgrid.common.scheduler import registered_jobs

    assert "cases.deadline_sweep" in {job.name for job in registered_jobs()}


def test_celery_task_runs_the_sweep(world: World) -> None:
    from civicgrid.cases.tasks import deadline_sweep_task

    with time_machine.travel(T0, tick=False):
        world.intake()
    with time_machine.travel(T0 + timedelta(hours=3, minutes=30), tick=False):
        assert deadline_sweep_task.apply().get() == {
            "warned": 1,
            "overdue": 0,
            "escalated": 0,
            "assist_warned": 0,
            "assist_overdue": 0,
        }
    assert services.case_owner_ok(Case.objects.get())
