"""Patrol reads. A worker reads their own patrols; supervisors read through scope_queryset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from civicgrid.accounts.scope import scope_queryset
from civicgrid.patrols.enums import PatrolStatus
from civicgrid.patrols.models import Patrol
from civicgrid.patrols.policy import policy_for


def today() -> dt.date:
    return timezone.localdate()


def patrols_mine(worker: Any, day: dt.date | None = None) -> QuerySet[Patrol]:
    qs = scope_queryset(worker, Patrol.objects.filter(worker=worker))
    if day is not None:
        qs = qs.filter(day=day)
    return qs.order_by("-started_at")


def patrols_visible(user: Any) -> QuerySet[Patrol]:
    return scope_queryset(user, Patrol.objects.select_related("worker"))


def active_patrol(worker: Any) -> Patrol | None:
    return Patrol.objects.filter(worker=worker, status=PatrolStatus.ACTIVE).first()


@dataclass(frozen=True)
class WindowStatus:
    label: str
    met: bool


@dataclass(frozen=True)
class DutyStatus:
    day: dt.date
    required: int
    counted: int
    patrols: int
    windows: list[WindowStatus]
    met: bool
    coverage_threshold: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "required": self.required,
            "counted": self.counted,
            "patrols": self.patrols,
            "windows": [{"label": w.label, "met": w.met} for w in self.windows],
            "met": self.met,
            "coverage_threshold": self.coverage_threshold,
        }


def duty_status(worker: Any, day: dt.date | None = None) -> DutyStatus:
    """How the worker stands against their duty on ``day``: counted patrols (coverage met,
    not flagged) against the required number, and each time window (met when a counted
    patrol started inside it, local time)."""
    day = day or today()
    area_code = worker.area.code if worker.area_id else ""
    policy = policy_for(area_code)
    rows = list(Patrol.objects.filter(worker=worker, day=day).values_list("started_at", "counts_toward_duty"))
    counted_starts = [timezone.localtime(s).time() for s, counts in rows if counts]
    windows = [WindowStatus(w.label, any(w.contains(t) for t in counted_starts)) for w in policy.windows]
    counted = len(counted_starts)
    return DutyStatus(
        day=day,
        required=policy.times_per_day,
        counted=counted,
        patrols=len(rows),
        windows=windows,
        met=counted >= policy.times_per_day and all(w.met for w in windows),
        coverage_threshold=policy.coverage_threshold,
    )
