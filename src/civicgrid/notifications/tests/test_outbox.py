"""The outbox: written with the change, delivered once, retried, redelivered after a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act
from civicgrid.notifications import dispatch
from civicgrid.notifications.enums import NotificationChannel as C
from civicgrid.notifications.enums import NotificationStatus as NS
from civicgrid.notifications.models import Notification
from civicgrid.notifications.services import Recipient, notification_enqueue
from civicgrid.notifications.tests import fakes

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_dispatch_notifies_the_new_handler_in_app_and_by_sms(world: World) -> None:
    world.chief.mobile = "13900001111"
    world.chief.save(update_fields=["mobile"])
    case = world.intake()  # hotline: registered and routed to the grid chief at once
    assert case.status == S.DISPATCHED and case.current_handler_id == world.chief.pk
    rows = Notification.objects.filter(recipient=world.chief, object_id=str(case.pk))
    assert {r.channel for r in rows} == {C.IN_APP, C.SMS}
    in_app = rows.get(channel=C.IN_APP)
    assert in_app.status == NS.SENT and case.title in in_app.subject
    sms = rows.get(channel=C.SMS)
    assert sms.status == NS.PENDING and sms.address_masked.startswith("139")
    assert "13900001111" not in sms.address_cipher


def test_rolled_back_transition_leaves_no_notification(world: World) -> None:
    case = world.intake(register=False)
    before = Notification.objects.count()
    with pytest.raises(Boom), transaction.atomic():
        act(world, case, A.REGISTER)  # routes and dispatches to the chief: would notify
        assert Notification.objects.count() > before  # written inside the transaction...
        raise Boom
    assert Notification.objects.count() == before  # ...and gone with it
    case.refresh_from_db()
    assert case.status == S.RECEIVED


def test_return_notifies_the_dispatcher_who_dispatched(world: World) -> None:
    case = world.intake(register=False)
    case = act(world, case, A.REGISTER, route=False)
    case = act(world, case, A.DISPATCH)  # the operator dispatches to the chief by hand
    case = act(world, case, A.RETURN_TO_DISPATCHER)
    note = Notification.objects.get(recipient=world.operator, channel=C.IN_APP)
    assert "退单" in note.subject and "不属于本网格" in note.body


def test_transfer_notifies_the_department_and_escalation_the_unit(world: World) -> None:
    case = act(world, world.intake(), A.ACKNOWLEDGE)
    case = act(world, case, A.TRANSFER)
    assert Notification.objects.filter(recipient=world.officer, channel=C.IN_APP).count() == 1
    case2 = world.intake(title="另一件事")
    act(world, case2, A.ESCALATE)  # grid -> community 0: its worker may sign for it
    assert Notification.objects.filter(recipient=world.worker, object_id=str(case2.pk)).exists()


def test_actor_is_not_told_of_their_own_action(world: World) -> None:
    case = world.intake(register=False)
    act(world, case, A.REGISTER, route=False)
    case.refresh_from_db()
    act(world, case, A.DISPATCH, handler=world.operator.pk)  # the operator sends it to themself
    assert not Notification.objects.filter(recipient=world.operator).exists()


def test_enqueue_is_deduplicated_by_cause() -> None:
    from civicgrid.testing.factories import make_user

    user = make_user("command_operator", None, username="dedupe")
    for _ in range(3):
        notification_enqueue(recipients=[Recipient(C.IN_APP, user_id=user.pk)] * 2, subject="x", cause="test:1")
    notification_enqueue(recipients=[Recipient(C.SMS, address="13800000000")], subject="y", cause="test:1")
    notification_enqueue(recipients=[Recipient(C.SMS, address="138-0000-0000")], subject="y", cause="test:1")
    assert Notification.objects.filter(dedupe_key__startswith="test:1:").count() == 2


def _pending_sms(n: int = 1) -> list[Notification]:
    for i in range(n):
        notification_enqueue(recipients=[Recipient(C.SMS, address=f"1380000000{i}")], subject=f"s{i}", cause=f"t:{i}")
    return list(Notification.objects.filter(channel=C.SMS).order_by("id"))


def test_delivered_exactly_once(db: None) -> None:
    rows = _pending_sms(3)
    report = dispatch.deliver_pending(10)
    assert (report.claimed, report.sent) == (3, 3)
    assert sorted(m.address for m in fakes.SENT) == ["13800000000", "13800000001", "13800000002"]
    assert dispatch.deliver_pending(10).claimed == 0  # nothing twice
    assert len(fakes.SENT) == 3
    assert {m.message_id for m in fakes.SENT} == {r.dedupe_key for r in rows}
    assert all(r.status == NS.SENT and r.sent_at and r.attempts == 1 for r in Notification.objects.all())


def test_crash_between_claim_and_send_is_redelivered_once_after_the_lease(db: None, settings: object) -> None:
    _pending_sms(1)
    now = timezone.now()
    token, rows = dispatch.claim(10, now=now)  # a worker claims ... and dies before sending
    assert len(rows) == 1
    row = Notification.objects.get()
    assert row.status == NS.SENDING and row.attempts == 1
    # Within the lease nobody else takes it.
    assert dispatch.deliver_pending(10, now=now + dt.timedelta(seconds=10)).claimed == 0
    later = now + dt.timedelta(seconds=dispatch.lease_seconds() + 1)
    report = dispatch.deliver_pending(10, now=later)
    assert (report.claimed, report.sent) == (1, 1)
    assert len(fakes.SENT) == 1
    row.refresh_from_db()
    assert row.status == NS.SENT and row.attempts == 2
    # The dead worker's late settle cannot touch the row any more (stale token).
    assert dispatch.settle(rows[0], token, ok=False, error="late") == ""
    assert dispatch.deliver_pending(10, now=later + dt.timedelta(days=1)).claimed == 0
    assert len(fakes.SENT) == 1


def test_failing_gateway_is_retried_with_backoff_then_fails(db: None, settings: object) -> None:
    _pending_sms(1)
    now = timezone.now()
    fakes.FAIL_NEXT.extend([True, True])
    r1 = dispatch.deliver_pending(10, now=now)
    assert (r1.retried, r1.sent) == (1, 0)
    row = Notification.objects.get()
    assert row.status == NS.PENDING and row.available_at == now + dispatch.backoff(1)
    assert "provider unavailable" in row.last_error
    assert dispatch.deliver_pending(10, now=now + dispatch.backoff(1) - dt.timedelta(seconds=1)).claimed == 0
    t2 = now + dispatch.backoff(1)
    assert dispatch.deliver_pending(10, now=t2).retried == 1
    row.refresh_from_db()
    assert row.available_at == t2 + dispatch.backoff(2) and dispatch.backoff(2) == 2 * dispatch.backoff(1)
    r3 = dispatch.deliver_pending(10, now=t2 + dispatch.backoff(2))
    assert r3.sent == 1 and len(fakes.SENT) == 1


def test_gives_up_after_max_attempts(db: None, settings: object) -> None:
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2  # type: ignore[attr-defined]
    _pending_sms(1)
    fakes.FAIL_NEXT.extend([True, True, True])
    now = timezone.now()
    dispatch.deliver_pending(10, now=now)
    report = dispatch.deliver_pending(10, now=now + dt.timedelta(days=1))
    assert report.failed == 1
    assert Notification.objects.get().status == NS.FAILED
    assert dispatch.deliver_pending(10, now=now + dt.timedelta(days=2)).claimed == 0


def test_batches_and_two_dispatchers_never_share_a_row(db: None) -> None:
    _pending_sms(5)
    now = timezone.now()
    _t1, first = dispatch.claim(3, now=now)
    _t2, second = dispatch.claim(3, now=now)
    assert len(first) == 3 and len(second) == 2
    assert not {r.pk for r in first} & {r.pk for r in second}


def test_periodic_job_and_task_are_registered(db: None) -> None:
    from civicgrid.common.scheduler import registered_jobs
    from civicgrid.notifications.tasks import DELIVER_JOB, deliver_pending_task

    assert DELIVER_JOB in {j.name for j in registered_jobs()}
    _pending_sms(2)
    assert deliver_pending_task.apply().result["sent"] == 2
