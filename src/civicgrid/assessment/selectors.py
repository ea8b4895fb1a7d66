"""Assessment reads: the scheme that applies to a period, and the ranking of streets,
communities, grids or departments for a period under that scheme.

The rates come from ``cases.metrics.case_metrics_grouped`` (one grouped query, scoped through
``cases.selectors.visible_cases``), so a unit's figures are exactly those of
``case_metrics(area_code=unit)`` / ``case_metrics(department_id=unit)`` for the same period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.models import Department
from civicgrid.accounts.scope import code_range_q, scope_queryset, user_scope_code
from civicgrid.assessment.models import WEIGHT_FIELDS, AssessmentScheme
from civicgrid.assessment.periods import Period
from civicgrid.assessment.permissions import may_view_rankings
from civicgrid.assessment.scoring import competition_ranks, weighted_score
from civicgrid.cases import metrics as case_metrics
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.selectors import area_get, visible_areas

RANKING_LEVELS: dict[str, Any] = {
    AreaLevel.STREET.value: gettext_lazy("街道/镇"),
    AreaLevel.COMMUNITY.value: gettext_lazy("社区"),
    AreaLevel.GRID.value: gettext_lazy("网格"),
    "department": gettext_lazy("部门"),
}
# The counts and rates a ranking row carries (all from GroupedMetrics).
COUNT_FIELDS = ("received", "closed", "dispatched", "signed_on_time", "evaluated", "resolved", "satisfied", "rehandled")
RATE_FIELDS = tuple(metric for _f, metric, _inv, _label in WEIGHT_FIELDS)


def active_schemes() -> list[AssessmentScheme]:
    return list(AssessmentScheme.objects.filter(is_active=True).order_by("-effective_from", "-id"))


def scheme_for(period_end: dt.date, *, scheme_id: int | None = None) -> AssessmentScheme:
    """The scheme asked for (any active one), else the active scheme with the latest
    ``effective_from`` on or before ``period_end`` (else the earliest active one)."""
    qs = AssessmentScheme.objects.filter(is_active=True)
    if scheme_id is not None:
        chosen = qs.filter(pk=scheme_id).first()
        if chosen is None:
            raise ValidationError({"scheme": _("考核方案不存在或未启用")})
        return chosen
    scheme = qs.filter(effective_from__lte=period_end).order_by("-effective_from", "-id").first()
    scheme = scheme or qs.order_by("effective_from", "id").first()
    if scheme is None:
        raise ValidationError({"scheme": _("尚未设置启用的考核方案, 请管理员在系统管理中添加")})
    return scheme


@dataclass(frozen=True)
class RankingRow:
    key: str  # area code, or department id as text
    label: str
    received: int
    closed: int
    dispatched: int
    signed_on_time: int
    evaluated: int
    resolved: int
    satisfied: int
    rehandled: int
    on_time_sign_for_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    closure_rate: float | None
    rehandling_rate: float | None
    score: float | None
    rank: int | None

    @property
    def filters(self) -> dict[str, Any]:
        """The drill-down filter of this unit (besides the period)."""
        if self.key.startswith("dept:"):
            return {"department_id": int(self.key[5:])}
        return {"area_code": self.key}

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            **{name: getattr(self, name) for name in (*COUNT_FIELDS, *RATE_FIELDS, "score", "rank")},
        }


@dataclass(frozen=True)
class Ranking:
    period: Period
    level: str
    area_code: str | None
    scheme: AssessmentScheme
    rows: list[RankingRow] = field(default_factory=list)

    @property
    def level_label(self) -> str:
        return str(RANKING_LEVELS[self.level])


def _check(user: Any, level: str, area_code: str | None) -> None:
    if not may_view_rankings(user):
        raise PermissionDenied(_("您没有查看考核排名的权限"))
    if level not in RANKING_LEVELS:
        raise ValidationError({"level": _("排名层级只能是街道、社区、网格或部门")})
    if area_code is not None:
        if not area_code.isdigit():
            raise ValidationError({"area": _("辖区编码只能是数字")})
        area_get(user, area_code)  # NotFound (404) outside the user's territory


def _area_units(user: Any, level: str, area_code: str | None) -> list[tuple[str, str]]:
    qs = visible_areas(user).filter(level=level)
    if area_code:
        qs = qs.filter(code_range_q("code", area_code))
    return list(qs.order_by("code").values_list("code", "name"))


def _department_units(user: Any, area_code: str | None) -> list[tuple[str, str]]:
    qs = scope_queryset(user, Department.objects.filter(is_active=True), "area__code")
    if area_code:
        qs = qs.filter(code_range_q("area__code", area_code))
    return [(f"dept:{pk}", name) for pk, name in qs.order_by("code").values_list("pk", "name")]


def assessment_ranking(
    user: Any,
    *,
    period: Period,
    level: str,
    area_code: str | None = None,
    scheme_id: int | None = None,
) -> Ranking:
    """Every unit of ``level`` in the user's territory (under ``area_code`` if given) with its
    rates, weighted score and rank for ``period``; units without cases are listed unranked."""
    area_code = area_code or None
    _check(user, level, area_code)
    scheme = scheme_for(period.end, scheme_id=scheme_id)
    if user_scope_code(user) is None:
        return Ranking(period, level, area_code, scheme)
    if level == "department":
        grouped = case_metrics.case_metrics_grouped(
            user, start=period.start, end=period.end, group_by="department", area_code=area_code
        )
        units = _department_units(user, area_code)
        metrics_by_key = {f"dept:{g.key}": g for g in grouped if g.key}
    else:
        grouped = case_metrics.case_metrics_grouped(
            user, start=period.start, end=period.end, group_by="area", level=level, area_code=area_code
        )
        units = _area_units(user, level, area_code)
        metrics_by_key = {str(g.key): g for g in grouped if g.key}  # "": not in any unit
    labels = dict(units)
    for key, group in metrics_by_key.items():  # a unit with cases but outside the unit list
        labels.setdefault(key, str(group.label))
    rows_data: list[dict[str, Any]] = []
    for key, label in labels.items():
        found = metrics_by_key.get(key)
        counts = {name: int(getattr(found, name, 0) or 0) if found else 0 for name in COUNT_FIELDS}
        rates = {name: (getattr(found, name, None) if found else None) for name in RATE_FIELDS}
        score = weighted_score(rates, scheme, received=counts["received"])
        rows_data.append({"key": key, "label": label, **counts, **rates, "score": score})
    ranks = competition_ranks([r["score"] for r in rows_data])
    rows = [RankingRow(**data, rank=rank) for data, rank in zip(rows_data, ranks, strict=True)]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -r.received, r.key))
    return Ranking(period, level, area_code, scheme, rows)
