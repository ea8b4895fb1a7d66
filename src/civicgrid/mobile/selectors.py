"""Reads of the phone app. Everything goes through the owning apps' selectors (cases:
``selectors.inbox`` / ``case_get`` / ``timeline``, all scoped by ``visible_cases``; patrols:
``patrols_mine`` / ``active_patrol`` / ``duty_status``; notifications: ``inbox``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.cases import selectors as case_selectors
from civicgrid.cases.enums import CaseStatus, Channel
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.patrols import selectors as patrol_selectors
from civicgrid.patrols.models import Patrol

# The task groups of "我的任务": (key, label, the deadline it is sorted by).
GROUPS: list[tuple[str, Any, str]] = [
    ("redo", _("发回重办"), "handle_due"),
    ("sign", _("待签收"), "acknowledge_due"),
    ("handle", _("处置中"), "handle_due"),
]
GROUP_KEYS = tuple(key for key, _label, _field in GROUPS)
GROUP_DEADLINE = {key: field for key, _label, field in GROUPS}
# A case sent back for re-handling: reopened after closing, or failed verification.
_REDO = Q(last_reopened_at__isnull=False)


def task_group(user: Any, group: str) -> QuerySet[Case]:
    """One group of the worker's tasks, soonest deadline first (paginate it).

    - ``sign`` 待签收: dispatched to the worker (or their unit / department) and not signed for;
    - ``handle`` 处置中: signed for by the worker and being handled;
    - ``redo`` 发回重办: either of those, when the case was reopened or failed verification."""
    to_sign = case_selectors.inbox(user, "to_sign_for")
    handling = case_selectors.inbox(user, "mine").filter(status=CaseStatus.HANDLING)
    if group == "sign":
        qs = to_sign.exclude(_REDO)
    elif group == "handle":
        qs = handling.exclude(_REDO)
    elif group == "redo":
        qs = (to_sign | handling).filter(_REDO)
    else:
        raise ValueError(group)
    field = GROUP_DEADLINE[group]
    return qs.order_by(f"{field}", "id")


def task_counts(user: Any) -> dict[str, int]:
    return {key: task_group(user, key).count() for key in GROUP_KEYS}


def due_of(case: Case) -> dt.datetime | None:
    """The deadline that matters now: signing for a dispatched case, else handling it."""
    if case.status in (CaseStatus.DISPATCHED, CaseStatus.TRANSFER_PENDING):
        return case.acknowledge_due
    return case.handle_due


def is_overdue(case: Case, now: dt.datetime | None = None) -> bool:
    due = due_of(case)
    return case.overdue_at is not None or (due is not None and due < (now or timezone.now()))


def task_get(user: Any, pk: int) -> Case:
    """A case the worker may read (NotFound outside their visibility, so nothing leaks)."""
    return case_selectors.case_get(user, pk)


def recent_events(user: Any, case: Case, limit: int = 10) -> list[CaseEvent]:
    """The latest timeline lines of a case, newest first."""
    events = case_selectors.timeline(user, case).order_by("-occurred_at", "-id")[:limit]
    return list(events)


def event_for_client_action(user: Any, case: Case, client_id: str) -> CaseEvent | None:
    """The event an earlier submission of the same queued action wrote (offline replay)."""
    if not client_id:
        return None
    return (
        case_selectors.timeline(user, case).filter(actor_id=user.pk, data__client_id=client_id).order_by("id").first()
    )


@dataclass(frozen=True)
class PatrolPanel:
    active: Patrol | None
    duty: patrol_selectors.DutyStatus
    today: QuerySet[Patrol]


def patrol_panel(user: Any) -> PatrolPanel:
    return PatrolPanel(
        active=patrol_selectors.active_patrol(user),
        duty=patrol_selectors.duty_status(user),
        today=patrol_selectors.patrols_mine(user, patrol_selectors.today()),
    )


def my_patrol(user: Any, patrol_id: int | None) -> Patrol | None:
    """The worker's own patrol with this id, else their active patrol (or None)."""
    if patrol_id:
        found = patrol_selectors.patrols_mine(user).filter(pk=patrol_id).first()
        if found is not None:
            return found
    return patrol_selectors.active_patrol(user)


def reported_today(user: Any, limit: int = 20) -> list[Case]:
    """The problems this worker reported from the field today (channel patrol)."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    qs = case_selectors.visible_cases(user).filter(
        created_by_id=user.pk, channel=Channel.PATROL, received_at__gte=start
    )
    return list(qs.select_related("category").order_by("-received_at", "-id")[:limit])
