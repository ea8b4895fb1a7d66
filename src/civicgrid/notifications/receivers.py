"""Case notifications, written INSIDE the transaction of the case change.

``civicgrid.cases.signals.case_event_recorded`` is sent by the case engine right after it
writes a timeline event, inside the same transaction; the receiver here turns the event into
outbox rows (``services.notification_enqueue``), so a rolled-back transition leaves no
message and a committed one always has its messages. Who is told:

- the new owner when a case is dispatched, escalated, reopened or transferred (the handler;
  else the members of the department; else the case staff of the tier unit), in-app, and
  by SMS to a handler's mobile when NOTIFICATIONS_SMS_TO_HANDLERS is on;
- the dispatcher when a handler returns the case (退单) or a department refuses a transfer:
  the user who dispatched it last, else every dispatcher whose territory covers the case;
- the owner on a deadline warning or when the case becomes overdue;
- staff who follow the case, or its grid or community, on every status change;
- residents who follow the case by its tracking code (SMS / WeChat) when it is closed or
  not accepted.
The actor is never told about their own action.

A batch writer (case intake in batches) sends ``case_events_recorded`` once with all its
(case, event) pairs; ``on_case_events`` writes exactly the rows ``on_case_event`` would write
for each, with the subscriptions and owners of the whole batch read in one query each and the
rows inserted in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.accounts.permissions import ROLE_CAPABILITIES
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.signals import case_event_recorded, case_events_recorded
from civicgrid.notifications.enums import NotificationChannel as C
from civicgrid.notifications.models import ADDRESS_CONTEXT, Notification, Subscription
from civicgrid.notifications.services import Recipient, notification_rows, notification_write

DISPATCH_UID = "civicgrid.notifications.case_event"
BATCH_DISPATCH_UID = "civicgrid.notifications.case_events"
NEW_OWNER_ACTIONS = frozenset({A.DISPATCH, A.ESCALATE, A.REOPEN, A.TRANSFER})
BACK_TO_DISPATCHER = frozenset({A.RETURN_TO_DISPATCHER, A.REFUSE_TRANSFER})
DEADLINE_EVENTS = frozenset({A.DEADLINE_WARNING, A.DEADLINE_OVERDUE})
RESIDENT_STATUSES = frozenset({S.CLOSED, S.NOT_ACCEPTED})
# The (lazy) labels by value, built once: ``Enum.values`` builds a new list on every use.
STATUS_LABELS: dict[str, Any] = {member.value: member.label for member in S}
ACTION_LABELS: dict[str, Any] = {member.value: member.label for member in A}


def connect() -> None:
    case_event_recorded.connect(on_case_event, dispatch_uid=DISPATCH_UID)
    case_events_recorded.connect(on_case_events, dispatch_uid=BATCH_DISPATCH_UID)


def _prefixes(code: str) -> list[str]:
    """The area code and every ancestor code (6, 9, 12 digits)."""
    return [code[:n] for n in (6, 9, 12) if len(code) > n] + [code]


def _roles_with(capability: str) -> list[str]:
    return [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]


def _owner_users(case: Any) -> list[User]:
    if case.current_handler_id:
        user = User.objects.filter(pk=case.current_handler_id, is_active=True).first()
        return [user] if user else []
    return _group_owners(case)


def _group_owners(case: Any) -> list[User]:
    handlers = _roles_with(CaseCapability.HANDLE)
    if case.current_department_id:
        return list(User.objects.filter(departments=case.current_department_id, is_active=True, role__in=handlers)[:50])
    if case.current_unit_id:
        return list(User.objects.filter(area_id=case.current_unit_id, is_active=True, role__in=handlers)[:50])
    return []


def _dispatchers(case: Any) -> list[User]:
    from civicgrid.cases.models import CaseEvent

    last = (
        CaseEvent.objects.filter(case_id=case.pk, action=A.DISPATCH, actor__isnull=False, actor__is_active=True)
        .order_by("-occurred_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    if last is not None:
        return list(User.objects.filter(pk=last))
    return list(
        User.objects.filter(
            role__in=_roles_with(CaseCapability.DISPATCH),
            is_active=True,
            area__code__in=_prefixes(case.area_code),
        )[:50]
    )


def _split_subscriptions(case: Any, subs: Sequence[Subscription]) -> tuple[list[int], list[Subscription]]:
    """(user ids following the case or its area, residents' subscriptions of the case)."""
    prefixes = set(_prefixes(case.area_code))
    mine = [s for s in subs if s.case_id == case.pk or (s.case_id is None and s.area_code in prefixes)]
    users = sorted({s.user_id for s in mine if s.user_id is not None})
    residents = [s for s in mine if s.user_id is None and s.case_id == case.pk]
    return users, residents


def _subscribers(case: Any) -> tuple[list[int], list[Subscription]]:
    subs = list(
        Subscription.objects.filter(Q(case_id=case.pk) | Q(case__isnull=True, area_code__in=_prefixes(case.area_code)))
    )
    return _split_subscriptions(case, subs)


class _Lookups:
    """What the messages of one event need to read, one case at a time (a single event)."""

    def owners(self, case: Any) -> list[User]:
        return _owner_users(case)

    def dispatchers(self, case: Any) -> list[User]:
        return _dispatchers(case)

    def subscribers(self, case: Any) -> tuple[list[int], list[Subscription]]:
        return _subscribers(case)


class _BatchLookups(_Lookups):
    """The same reads for a batch of cases: every subscription of the batch's cases and areas
    in one query, the handlers in one query; department and unit owners once per department
    or unit (dispatchers, rare in a batch, case by case)."""

    def __init__(self, cases: Sequence[Any]) -> None:
        case_ids = sorted({c.pk for c in cases})
        prefixes = sorted({p for c in cases for p in _prefixes(c.area_code)})
        self.subs = list(
            Subscription.objects.filter(Q(case_id__in=case_ids) | Q(case__isnull=True, area_code__in=prefixes))
        )
        handler_ids = {c.current_handler_id for c in cases if c.current_handler_id}
        self.handlers = User.objects.filter(is_active=True).in_bulk(handler_ids) if handler_ids else {}
        self._groups: dict[tuple[int | None, int | None], list[User]] = {}

    def owners(self, case: Any) -> list[User]:
        if case.current_handler_id:
            user = self.handlers.get(case.current_handler_id)
            return [user] if user else []
        key = (case.current_department_id, case.current_unit_id)
        if key not in self._groups:
            self._groups[key] = _group_owners(case)
        return self._groups[key]

    def subscribers(self, case: Any) -> tuple[list[int], list[Subscription]]:
        return _split_subscriptions(case, self.subs)


def _sms_to_handlers() -> bool:
    return bool(getattr(settings, "NOTIFICATIONS_SMS_TO_HANDLERS", True))


def _messages(
    case: Any, event: Any, action: str, from_status: str, to_status: str, lookups: _Lookups
) -> list[Notification]:
    """The outbox rows of one case event (not saved)."""
    actor_id = event.actor_id
    title = case.title
    link = f"/cases/{case.pk}/"
    cause = f"case:{case.pk}:event:{event.pk}"
    common: dict[str, Any] = {
        "object_type": "cases.case",
        "object_id": str(case.pk),
        "link": link,
        "area_code": case.area_code,
    }

    # Texts are translated only for rows that have recipients: a drained batch writes three
    # events per case, most of which notify nobody but the new owner.
    def status_label() -> str:
        return str(STATUS_LABELS[to_status]) if to_status in STATUS_LABELS else to_status

    def action_label() -> str:
        return str(ACTION_LABELS[action]) if action in ACTION_LABELS else action

    rows: list[Notification] = []

    # 1. The new owner.
    if action in NEW_OWNER_ACTIONS and to_status in (S.DISPATCHED, S.TRANSFER_PENDING):
        owners = [u for u in lookups.owners(case) if u.pk != actor_id]
        recipients = [Recipient(C.IN_APP, user_id=u.pk) for u in owners]
        if _sms_to_handlers():
            recipients += [Recipient(C.SMS, user_id=u.pk, address=u.mobile) for u in owners if u.mobile]
        if recipients:
            label = action_label()
            rows += notification_rows(
                recipients=recipients,
                subject=_("新案件待签收(%(action)s): %(title)s") % {"action": label, "title": title},
                body=_("案件 %(code)s “%(title)s” 已%(action)s给您, 请及时签收处置。%(note)s")
                % {"code": case.tracking_code, "title": title, "action": label, "note": event.note or ""},
                cause=cause + ":owner",
                **common,
            )
    # 2. The dispatcher, when the case comes back.
    if action in BACK_TO_DISPATCHER:
        rows += notification_rows(
            recipients=[Recipient(C.IN_APP, user_id=u.pk) for u in lookups.dispatchers(case) if u.pk != actor_id],
            subject=_("案件被%(action)s, 请重新派遣: %(title)s") % {"action": action_label(), "title": title},
            body=_("原因: %(note)s") % {"note": event.note or "-"},
            cause=cause + ":dispatcher",
            **common,
        )
    # 3. Deadlines: the owner.
    if action in DEADLINE_EVENTS:
        rows += notification_rows(
            recipients=[Recipient(C.IN_APP, user_id=u.pk) for u in lookups.owners(case)],
            subject=_("%(what)s: %(title)s") % {"what": action_label(), "title": title},
            body=event.note or "",
            cause=cause + ":deadline",
            **common,
        )
    if not event.is_transition or (from_status == to_status and action not in (A.DISPATCH, A.ESCALATE)):
        return rows
    # 4. Staff who follow the case or its area.
    users, residents = lookups.subscribers(case)
    followers = [Recipient(C.IN_APP, user_id=uid) for uid in users if uid != actor_id]
    if followers:
        rows += notification_rows(
            recipients=followers,
            subject=_("关注的案件有新进展: %(title)s") % {"title": title},
            body=_("%(action)s, 当前状态: %(status)s") % {"action": action_label(), "status": status_label()},
            cause=cause + ":followers",
            **common,
        )
    # 5. Residents who follow it by tracking code: when it is closed or not accepted.
    if to_status in RESIDENT_STATUSES and residents:
        from civicgrid.common.protected import reveal

        status = status_label()
        rows += notification_rows(
            recipients=[
                Recipient(s.channel, address=reveal(s.address_cipher, context=ADDRESS_CONTEXT)) for s in residents
            ],
            subject=_("您反映的问题已%(status)s") % {"status": status},
            body=_("查询码 %(code)s: “%(title)s” %(status)s。请通过查询码查看办理结果并评价。")
            % {"code": case.tracking_code, "title": title, "status": status},
            cause=cause + ":resident",
            object_type="cases.case",
            object_id=str(case.pk),
            link=f"/cases/track/{case.tracking_code}/",
            area_code=case.area_code,
        )
    return rows


def on_case_event(
    sender: Any, *, case: Any, event: Any, action: str, from_status: str, to_status: str, **_kw: Any
) -> None:
    notification_write(_messages(case, event, action, from_status, to_status, _Lookups()))


def on_case_events(sender: Any, *, items: Sequence[tuple[Any, Any]], **_kw: Any) -> None:
    """The batch form: the same rows as ``on_case_event`` for each (case, event), one INSERT."""
    if not items:
        return
    lookups = _BatchLookups([case for case, _event in items])
    rows: list[Notification] = []
    for case, event in items:
        rows += _messages(case, event, event.action, event.from_status, event.to_status, lookups)
    notification_write(rows)
