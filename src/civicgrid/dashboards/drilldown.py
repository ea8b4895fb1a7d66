"""Drill-down: the list of cases behind any figure of the wall screen and the rankings.

A figure is a *metric* over a *filter*. Period metrics count the cases received in a period
(``cases.metrics.base_queryset``: the same rows ``case_metrics`` counts) narrowed by the
metric's condition, which mirrors the metric's definition in ``cases.metrics`` (the tests
assert that every list's length equals the figure). "Now" metrics (open, overdue) count the
open cases of a territory node whatever their date of receipt.

``drill_url(...)`` builds the link; ``drill_cases(user, DrillFilter)`` the queryset; the page
``/dashboards/cases/`` paginates it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import code_range_q
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import OPEN_STATUSES, Channel
from civicgrid.cases.models import Case, Category
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.selectors import LIST_RELATED, visible_cases
from civicgrid.territory.selectors import area_get

_CLOSED = Q(closed_at__isnull=False)
_DISPATCHED = Q(dispatched_at__isnull=False, acknowledge_due__isnull=False)
_SIGNED_ON_TIME = Q(
    dispatched_at__isnull=False, acknowledged_at__isnull=False, acknowledged_at__lte=F("acknowledge_due")
)
_EVALUATED = Q(satisfaction__isnull=False)

# metric -> (label (lazy: translated when shown), condition on the period's received cases)
PERIOD_METRICS: dict[str, tuple[str | Promise, Q]] = {
    "received": (pgettext_lazy("案件数", "受理"), Q()),
    "closed": (gettext_lazy("已办结"), _CLOSED),
    "not_closed": (gettext_lazy("未办结"), ~_CLOSED),
    "dispatched": (gettext_lazy("已派遣"), _DISPATCHED),
    "signed_on_time": (gettext_lazy("按时签收"), _SIGNED_ON_TIME),
    "signed_late": (gettext_lazy("未按时签收"), _DISPATCHED & ~_SIGNED_ON_TIME),
    "closed_on_time": (gettext_lazy("按时办结"), _CLOSED & Q(close_due__isnull=False, closed_at__lte=F("close_due"))),
    "evaluated": (gettext_lazy("已回访评价"), _EVALUATED),
    "resolved": (gettext_lazy("已解决"), _EVALUATED & Q(resolved=True)),
    "not_resolved": (gettext_lazy("未解决"), _EVALUATED & Q(resolved=False)),
    "satisfied": (gettext_lazy("满意"), _EVALUATED & Q(satisfaction__gte=m.SATISFIED_MIN)),
    "not_satisfied": (gettext_lazy("不满意"), _EVALUATED & Q(satisfaction__lt=m.SATISFIED_MIN)),
    "rehandled": (gettext_lazy("发回重办"), Q(rehandle_count__gt=0)),
}
# metric -> (label, condition on the node's visible cases, whatever their period)
NOW_METRICS: dict[str, tuple[str | Promise, Q]] = {
    "open": (gettext_lazy("在办"), Q(status__in=OPEN_STATUSES)),
    "overdue": (gettext_lazy("超期在办"), Q(status__in=OPEN_STATUSES, overdue_at__isnull=False)),
}
# The order each list is shown in.
_ORDER: dict[str, tuple[str, ...]] = {"overdue": ("handle_due", "id"), "open": ("handle_due", "id")}
MAX_PERIOD_DAYS = m.MAX_PERIOD_DAYS


@dataclass(frozen=True)
class DrillFilter:
    metric: str
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    area_code: str | None = None
    department_id: int | None = None
    category_code: str | None = None
    channel: str | None = None

    def query(self) -> dict[str, str]:
        values = {
            "metric": self.metric,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "area": self.area_code,
            "department": str(self.department_id) if self.department_id else None,
            "category": self.category_code,
            "channel": self.channel,
        }
        return {k: v for k, v in values.items() if v}

    def url(self) -> str:
        return f"{reverse('dashboards:drilldown')}?{urlencode(self.query())}"

    def with_metric(self, metric: str) -> DrillFilter:
        return replace(self, metric=metric)

    @property
    def is_period(self) -> bool:
        return self.metric in PERIOD_METRICS

    @property
    def label(self) -> str:
        table = PERIOD_METRICS if self.is_period else NOW_METRICS
        return str(table[self.metric][0])


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in local time: what case_metrics counts for dates."""
    first = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    after = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    return first, after


def drill_url(metric: str, **filters: Any) -> str:
    return DrillFilter(metric, **filters).url()


def _date(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({field: _("日期格式应为 YYYY-MM-DD")}) from exc


def parse_filter(params: Any) -> DrillFilter:
    """A DrillFilter from query parameters (a QueryDict or dict); ValidationError if bad."""
    metric = (params.get("metric") or "received").strip()
    if metric not in PERIOD_METRICS and metric not in NOW_METRICS:
        raise ValidationError({"metric": _("未知的统计口径")})
    start, end = _date(params.get("start"), "start"), _date(params.get("end"), "end")
    if metric in PERIOD_METRICS:
        if start is None or end is None:
            raise ValidationError({"start": _("请指定统计周期的开始和结束日期")})
        if end < start:
            raise ValidationError({"end": _("结束日期不能早于开始日期")})
        if (end - start).days > MAX_PERIOD_DAYS:
            raise ValidationError({"end": _("统计周期不能超过三年")})
    else:
        start = end = None
    area = (params.get("area") or "").strip() or None
    if area is not None and not area.isdigit():
        raise ValidationError({"area": _("辖区编码只能是数字")})
    department_raw = (params.get("department") or "").strip()
    department_id: int | None = None
    if department_raw:
        if not department_raw.isdigit():
            raise ValidationError({"department": _("部门编号只能是数字")})
        department_id = int(department_raw)
    category = (params.get("category") or "").strip() or None
    channel = (params.get("channel") or "").strip() or None
    if channel is not None and channel not in Channel.values:
        raise ValidationError({"channel": _("来源渠道不存在")})
    return DrillFilter(metric, start, end, area, department_id, category, channel)


def drill_cases(user: Any, f: DrillFilter) -> QuerySet[Case]:
    """The cases a figure counts, scoped to ``user``; a node outside their territory is a
    NotFound (404), an unknown department or category a ValidationError."""
    if not has_capability(user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看案件的权限"))
    if f.area_code:
        area_get(user, f.area_code)
    if f.department_id and not Department.objects.filter(pk=f.department_id).exists():
        raise ValidationError({"department": _("部门不存在")})
    if f.category_code and not Category.objects.filter(code=f.category_code).exists():
        raise ValidationError({"category": _("案件类别不存在")})
    if f.is_period:
        assert f.start is not None and f.end is not None
        start_at, end_at = day_bounds(f.start, f.end)
        qs = m.base_queryset(
            user,
            start=start_at,
            end=end_at,
            area_code=f.area_code,
            department_id=f.department_id,
            category_code=f.category_code,
        ).filter(PERIOD_METRICS[f.metric][1])
        order: tuple[str, ...] = ("-received_at", "-id")
    else:
        qs = visible_cases(user).filter(NOW_METRICS[f.metric][1])
        if f.area_code:
            qs = qs.filter(code_range_q("area_code", f.area_code))
        if f.department_id:
            qs = qs.filter(current_department_id=f.department_id)
        if f.category_code:
            qs = qs.filter(Q(category__code=f.category_code) | Q(category__parent__code=f.category_code))
        order = _ORDER.get(f.metric, ("-received_at", "-id"))
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs.select_related(*LIST_RELATED).order_by(*order)
