"""The patrol duty that applies at a territory node: the nearest ancestor's PatrolPolicy,
else the PATROLS_DEFAULT_* settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Window:
    start: dt.time | None
    end: dt.time | None

    def contains(self, moment: dt.time) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    @property
    def label(self) -> str:
        if self.start and self.end:
            return f"{self.start:%H:%M}-{self.end:%H:%M}"
        if self.end:
            return _("%(t)s前") % {"t": f"{self.end:%H:%M}"}
        if self.start:
            return _("%(t)s后") % {"t": f"{self.start:%H:%M}"}
        return _("全天")


@dataclass(frozen=True)
class EffectivePolicy:
    times_per_day: int
    coverage_threshold: float
    windows: tuple[Window, ...] = field(default_factory=tuple)
    source_code: str = ""  # "" = the settings' default


def _time(value: Any) -> dt.time | None:
    if value in (None, ""):
        return None
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(_("时间格式应为 HH:MM: %(v)s") % {"v": value}) from exc


def parse_windows(raw: Any) -> tuple[Window, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list):
        raise ValidationError(_("时间段应为列表"))
    windows = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValidationError(_("时间段应为列表"))
        windows.append(Window(_time(item.get("start")), _time(item.get("end"))))
    return tuple(windows)


def default_policy() -> EffectivePolicy:
    return EffectivePolicy(
        times_per_day=int(getattr(settings, "PATROLS_DEFAULT_TIMES_PER_DAY", 2)),
        coverage_threshold=float(getattr(settings, "PATROLS_DEFAULT_COVERAGE_THRESHOLD", 0.8)),
        windows=parse_windows(getattr(settings, "PATROLS_DEFAULT_WINDOWS", [])),
    )


def policy_for(area_code: str) -> EffectivePolicy:
    """The policy of the nearest node at or above ``area_code`` that has one."""
    from civicgrid.patrols.models import PatrolPolicy

    prefixes = [area_code[:i] for i in range(1, len(area_code) + 1)]
    row = PatrolPolicy.objects.filter(area_code__in=prefixes).order_by("-area_code").first()
    if row is None:
        return default_policy()
    return EffectivePolicy(
        times_per_day=row.times_per_day,
        coverage_threshold=row.coverage_threshold,
        windows=parse_windows(row.windows),
        source_code=row.area_code,
    )


class PolicyResolver:
    """The effective policy of many nodes from one query: every policy row at or above
    ``root`` (its ancestors) and below it. ``for_code(code)`` then works without queries for
    any ``code`` under ``root`` (nearest policy at or above the code wins)."""

    def __init__(self, root: str) -> None:
        from civicgrid.accounts.scope import code_range_q
        from civicgrid.patrols.models import PatrolPolicy

        prefixes = [root[:i] for i in range(1, len(root))]
        rows = PatrolPolicy.objects.filter(code_range_q("area_code", root) | Q(area_code__in=prefixes)).values_list(
            "area_code", "times_per_day", "coverage_threshold", "windows"
        )
        self._rows = {
            code: EffectivePolicy(times, threshold, parse_windows(windows), code)
            for code, times, threshold, windows in rows
        }
        self._default: EffectivePolicy | None = None
        self._cache: dict[str, EffectivePolicy] = {}

    def for_code(self, code: str) -> EffectivePolicy:
        if code in self._cache:
            return self._cache[code]
        for i in range(len(code), 0, -1):
            row = self._rows.get(code[:i])
            if row is not None:
                break
        else:
            if self._default is None:
                self._default = default_policy()
            row = self._default
        self._cache[code] = row
        return row

    @property
    def windows(self) -> set[Window]:
        """Every window of every policy in play (and the default's)."""
        out = {w for p in self._rows.values() for w in p.windows}
        return out | set(default_policy().windows)
