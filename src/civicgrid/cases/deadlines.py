"""The deadline sweep: warn before a deadline, mark overdue after it, escalate by policy.

Idempotent: what the sweep did to a deadline is recorded in ``Case.deadline_marks``
("handle:warned", "handle:overdue", "handle:escalated"), so running it twice changes
nothing. The marks are dropped when the deadline is recomputed (dispatch, escalation,
extension, reopen), so a new deadline is watched afresh.

Settings:
- ``CASES_WARN_BEFORE_FRACTION`` (0.2): warn when this fraction of a deadline's span is left.
- ``CASES_ESCALATION_POLICY``: {deadline kind: {"after_hours": N}}: escalate one tier when
  that deadline has passed by N hours, at most once per deadline (kinds: acknowledge,
  handle, close). ``{}`` switches escalation off.
- ``CASES_MAX_ESCALATIONS`` (3): the sweep never escalates a case more often than this.

Joint-handling parts (``CaseAssist``, 协办) are swept too (``assist_sweep``): an open part of an
open case is warned when ``CASES_WARN_BEFORE_FRACTION`` of its span (requested -> due) is left
and marked overdue after ``due_at``; the marks are ``CaseAssist.warned_at`` / ``overdue_at``,
written once each (never escalated; the part's status is unchanged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.audit.enums import AuditAction
from civicgrid.cases import routing
from civicgrid.cases.enums import OPEN_ASSIST_STATUSES, OPEN_STATUSES, CaseAction, CaseStatus, DeadlineKind
from civicgrid.cases.models import Case, CaseAssist
from civicgrid.cases.workflow import SYSTEM_ACTOR, target_status
from civicgrid.common.errors import DomainError

logger = logging.getLogger(__name__)

# Which statuses each deadline watches.
WATCHED: dict[str, tuple[str, ...]] = {
    DeadlineKind.ACKNOWLEDGE: (CaseStatus.DISPATCHED, CaseStatus.TRANSFER_PENDING),
    DeadlineKind.HANDLE: (
        CaseStatus.REGISTERED,
        CaseStatus.DISPATCHED,
        CaseStatus.HANDLING,
        CaseStatus.TRANSFER_PENDING,
    ),
    DeadlineKind.CLOSE: (
        CaseStatus.RECEIVED,
        CaseStatus.REGISTERED,
        CaseStatus.DISPATCHED,
        CaseStatus.HANDLING,
        CaseStatus.REPORTED,
        CaseStatus.TRANSFER_PENDING,
    ),
}

DEFAULT_ESCALATION_POLICY: dict[str, dict[str, float]] = {"handle": {"after_hours": 4}}


@dataclass
class SweepResult:
    warned: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    # Joint-handling parts (CaseAssist ids).
    assist_warned: list[int] = field(default_factory=list)
    assist_overdue: list[int] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return (
            len(self.warned)
            + len(self.overdue)
            + len(self.escalated)
            + len(self.assist_warned)
            + len(self.assist_overdue)
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "warned": len(self.warned),
            "overdue": len(self.overdue),
            "escalated": len(self.escalated),
            "assist_warned": len(self.assist_warned),
            "assist_overdue": len(self.assist_overdue),
        }


def _policy() -> dict[str, dict[str, float]]:
    return dict(getattr(settings, "CASES_ESCALATION_POLICY", DEFAULT_ESCALATION_POLICY))


def _warn_fraction() -> float:
    return float(getattr(settings, "CASES_WARN_BEFORE_FRACTION", 0.2))


def _iso(value: datetime) -> str:
    return value.isoformat()


def _mark(case: Case, marks: dict[str, Any], *, event_action: str, kind: str, now: datetime, **fields: Any) -> bool:
    """Write new marks (and timestamps) if nobody changed the case meanwhile; add the event."""
    from civicgrid.cases.services import _record_event

    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, version=case.version).update(deadline_marks=marks, **fields)
        if not updated:
            return False  # changed by someone: the next sweep looks again
        case.deadline_marks = marks
        for name, value in fields.items():
            setattr(case, name, value)
        due = getattr(case, f"{kind}_due")
        label = DeadlineKind(kind).label
        if event_action == CaseAction.DEADLINE_WARNING:
            note = _("%(kind)s将于%(due)s到期") % {
                "kind": label,
                "due": timezone.localtime(due).strftime("%m-%d %H:%M"),
            }
        else:
            note = _("已超过%(kind)s(%(due)s)") % {
                "kind": label,
                "due": timezone.localtime(due).strftime("%m-%d %H:%M"),
            }
        _record_event(
            case=case,
            actor=SYSTEM_ACTOR,
            action=event_action,
            from_status=case.status,
            to_status=case.status,
            note=note,
            data={"deadline": kind, "due": _iso(due)},
            audit_action=AuditAction.UPDATE,
            is_transition=False,
            now=now,
        )
    return True


def _sweep_case(case: Case, kind: str, now: datetime, result: SweepResult) -> None:
    due: datetime | None = getattr(case, f"{kind}_due")
    if due is None:
        return
    marks = dict(case.deadline_marks or {})
    span = case.category.hours_for(case.priority)[kind]
    warn_at = due - timedelta(hours=span * _warn_fraction())
    if now >= due and f"{kind}:overdue" not in marks:
        marks[f"{kind}:overdue"] = _iso(now)
        marks.setdefault(f"{kind}:warned", _iso(now))  # no late warning after the fact
        if _mark(
            case,
            marks,
            event_action=CaseAction.DEADLINE_OVERDUE,
            kind=kind,
            now=now,
            overdue_at=case.overdue_at or now,
            warned_at=case.warned_at or now,
        ):
            result.overdue.append(case.pk)
    elif warn_at <= now < due and f"{kind}:warned" not in marks:
        marks[f"{kind}:warned"] = _iso(now)
        if _mark(
            case, marks, event_action=CaseAction.DEADLINE_WARNING, kind=kind, now=now, warned_at=case.warned_at or now
        ):
            result.warned.append(case.pk)
    rule = _policy().get(kind)
    if not rule or f"{kind}:escalated" in (case.deadline_marks or {}):
        return
    if now < due + timedelta(hours=float(rule.get("after_hours", 0))):
        return
    if case.escalation_count >= int(getattr(settings, "CASES_MAX_ESCALATIONS", 3)):
        return
    if target_status(case.status, CaseAction.ESCALATE) is None or routing.next_tier(case.current_tier) is None:
        return
    from civicgrid.cases.services import case_transition

    try:
        case_transition(
            actor=SYSTEM_ACTOR,
            case=case,
            action=CaseAction.ESCALATE,
            expected_version=case.version,
            note=_("%(kind)s已超期, 自动上报") % {"kind": DeadlineKind(kind).label},
            deadline=kind,
            at=now,
        )
    except DomainError as exc:  # a conflict or nothing to escalate to: try again next time
        logger.info("case %s not escalated: %s", case.pk, exc)
        return
    result.escalated.append(case.pk)


def deadline_sweep(now: datetime | None = None, *, batch_size: int = 500) -> SweepResult:
    """Warn, mark overdue and escalate every open case whose deadline is near or past."""
    now = now or timezone.now()
    result = SweepResult()
    max_fraction = _warn_fraction()
    for kind, statuses in WATCHED.items():
        # Candidates: due before now + the longest warning window any category could use.
        horizon = now + timedelta(hours=24 * 30 * max_fraction)
        ids = list(
            Case.objects.filter(status__in=statuses, **{f"{kind}_due__lte": horizon})
            .order_by(f"{kind}_due", "id")
            .values_list("id", flat=True)
        )
        for start in range(0, len(ids), batch_size):
            chunk = Case.objects.filter(pk__in=ids[start : start + batch_size]).select_related("category")
            for case in chunk.order_by(f"{kind}_due", "id"):
                if case.status not in statuses:
                    continue
                try:
                    _sweep_case(case, kind, now, result)
                except Exception:  # one broken case must not stop the sweep
                    logger.exception("deadline sweep failed for case %s", case.pk)
    assist_sweep(now, result=result, batch_size=batch_size)
    return result


# --- joint-handling parts ----------------------------------------------------------------------


def _sweep_assist(assist: CaseAssist, now: datetime, result: SweepResult) -> None:
    from civicgrid.cases import joint

    span = assist.due_at - assist.requested_at
    warn_at = assist.due_at - span * _warn_fraction()
    if now >= assist.due_at:
        if assist.overdue_at is None and joint.assist_deadline_mark(assist=assist, kind=joint.OVERDUE, now=now):
            result.assist_overdue.append(assist.pk)
        return
    if (
        now >= warn_at
        and assist.warned_at is None
        and joint.assist_deadline_mark(assist=assist, kind=joint.WARNING, now=now)
    ):
        result.assist_warned.append(assist.pk)


def assist_sweep(
    now: datetime | None = None, *, result: SweepResult | None = None, batch_size: int = 500
) -> SweepResult:
    """Warn the co-handling department before an open part's ``due_at`` (when the same fraction
    of the part's span is left as for case deadlines) and mark it overdue after it
    (``joint.assist_deadline_mark``: once each, audited, through the outbox). Parts of finished
    cases are left alone. Run by ``deadline_sweep``."""
    now = now or timezone.now()
    result = result if result is not None else SweepResult()
    # Candidates: not yet overdue, due before now + the longest warning window (as for cases).
    horizon = now + timedelta(hours=24 * 30 * _warn_fraction())
    ids = list(
        CaseAssist.objects.filter(
            status__in=OPEN_ASSIST_STATUSES,
            due_at__lte=horizon,
            overdue_at__isnull=True,
            case__status__in=OPEN_STATUSES,
        )
        .order_by("due_at", "id")
        .values_list("id", flat=True)
    )
    for start in range(0, len(ids), batch_size):
        chunk = CaseAssist.objects.filter(pk__in=ids[start : start + batch_size]).select_related("case", "department")
        for assist in chunk.order_by("due_at", "id"):
            if assist.status not in OPEN_ASSIST_STATUSES or assist.case.status not in OPEN_STATUSES:
                continue
            try:
                _sweep_assist(assist, now, result)
            except Exception:  # one broken part must not stop the sweep
                logger.exception("deadline sweep failed for case assist %s", assist.pk)
    return result
