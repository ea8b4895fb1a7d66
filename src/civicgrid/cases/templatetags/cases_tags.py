"""Template helpers of the case pages: the deadline badge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from civicgrid.cases.enums import CaseStatus
from civicgrid.cases.models import Case

register = template.Library()


def current_deadline(case: Case) -> datetime | None:
    """The deadline that matters in the case's status (签收, 处置 or 结案)."""
    if case.status in (CaseStatus.DISPATCHED, CaseStatus.TRANSFER_PENDING):
        return case.acknowledge_due
    if case.status == CaseStatus.HANDLING:
        return case.handle_due
    if case.status in (CaseStatus.RECEIVED, CaseStatus.REGISTERED, CaseStatus.REPORTED):
        return case.close_due
    return None


def deadline_state(case: Case, now: datetime | None = None) -> str:
    """ "overdue" (red), "warned" (amber), "ok" or "" (no running deadline)."""
    due = current_deadline(case)
    if due is None:
        return ""
    now = now or timezone.now()
    if due <= now or case.overdue_at is not None:
        return "overdue"
    if case.warned_at is not None:
        return "warned"
    return "ok"


@register.inclusion_tag("cases/_deadline.html")
def deadline_badge(case: Case) -> dict[str, Any]:
    return {"due": current_deadline(case), "state": deadline_state(case)}
