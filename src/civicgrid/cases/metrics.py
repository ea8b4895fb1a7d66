"""Closure metrics of the case engine: ONE function, ``case_metrics``, feeds the API
(/api/cases/metrics), the page (/cases/metrics/) and its Excel export, so the numbers are the
same everywhere. Everything is scoped through ``selectors.visible_cases(user)``.

Definitions (for a period [start, end) by ``received_at``, optionally a territory node, a
department and a category; see docs/cases-metrics.md):

- received: cases received in the period, except those merged into another case (a duplicate
  is not a second demand) and those not accepted (不予受理: not a case);
- closed: of those, the cases closed now (``closed_at`` set: 结案 or 回访 after it);
- closure rate (办结率) = closed / received;
- on-time sign-for rate = signed for (``acknowledged_at``) no later than ``acknowledge_due``
  / cases that were dispatched (have an acknowledge deadline and a dispatch time);
- on-time closing rate = closed no later than ``close_due`` / closed;
- response time = acknowledged_at - received_at; handling time = closed_at - received_at;
  median and 90th percentile in hours, read from log-scale histograms (buckets a factor
  2**(1/3) wide, ``hist_percentile``): the rank of percentile_cont, interpolated inside its
  bucket; histograms add up, so the aggregates can hold them;
- resolution rate = evaluated and resolved / evaluated; satisfaction rate = evaluated with a
  satisfaction of 4 or 5 / evaluated (evaluated: a satisfaction score is recorded);
- re-handling rate (发回重办率) = cases sent back at least once (verification failed or
  reopened: ``rehandle_count`` > 0) / received;
- repeat-complaint rate = cases whose caller (phone blind index) reported a case of the same
  category in the 30 days before / received.

Where the counts come from (``_collect``): the aggregate rows of ``cases.aggregates`` for the
whole days that have not changed since the last refresh, and the cases themselves for the
rest (days changed since the watermark, partial days, cases visible beyond the user's scope).
So every figure equals a raw recount at every moment; ``raw_only()`` forces the raw count."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import code_range_q, user_scope_code
from civicgrid.cases import aggregates as agg
from civicgrid.cases.enums import CaseStatus, Channel
from civicgrid.cases.models import (
    AGG_BUCKET_RATIO,
    AGG_COUNT_FIELDS,
    AGG_EDGES,
    Case,
    CaseAggregateState,
    CaseAssist,
    CaseCohortAggregate,
    Category,
)
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.selectors import visible_cases
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

REPEAT_WINDOW_DAYS = 30
SATISFIED_MIN = 4
MAX_PERIOD_DAYS = 3 * 366
EXCLUDED_STATUSES = (CaseStatus.MERGED, CaseStatus.NOT_ACCEPTED)


@dataclass(frozen=True)
class CaseMetrics:
    start: dt.datetime
    end: dt.datetime
    area_code: str | None
    department_id: int | None
    category_code: str | None
    received: int
    closed: int
    closure_rate: float | None
    dispatched: int
    signed_on_time: int
    on_time_sign_for_rate: float | None
    closed_on_time: int
    on_time_closing_rate: float | None
    response_median_hours: float | None
    response_p90_hours: float | None
    handling_median_hours: float | None
    handling_p90_hours: float | None
    evaluated: int
    resolved: int
    satisfied: int
    resolution_rate: float | None
    satisfaction_rate: float | None
    rehandled: int
    rehandling_rate: float | None
    repeat_complaints: int
    repeat_complaint_rate: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data


# The rows of the page table and the Excel sheet: (field, Chinese label, kind); the labels are
# marked with gettext_noop for extraction and translated where they are shown.
METRIC_ROWS: list[tuple[str, str, str]] = [
    ("received", gettext_noop("受理量"), "count"),
    ("closed", gettext_noop("办结量"), "count"),
    ("closure_rate", gettext_noop("办结率"), "rate"),
    ("on_time_sign_for_rate", gettext_noop("按时签收率"), "rate"),
    ("on_time_closing_rate", gettext_noop("按时办结率"), "rate"),
    ("response_median_hours", gettext_noop("响应时长中位数(小时)"), "hours"),
    ("response_p90_hours", gettext_noop("响应时长90分位(小时)"), "hours"),
    ("handling_median_hours", gettext_noop("办理时长中位数(小时)"), "hours"),
    ("handling_p90_hours", gettext_noop("办理时长90分位(小时)"), "hours"),
    ("evaluated", gettext_noop("回访评价数"), "count"),
    ("resolution_rate", gettext_noop("解决率"), "rate"),
    ("satisfaction_rate", gettext_noop("满意率"), "rate"),
    ("rehandling_rate", gettext_noop("发回重办率"), "rate"),
    ("repeat_complaint_rate", gettext_noop("重复投诉率"), "rate"),
]


def rate(part: int, whole: int) -> float | None:
    """A share rounded to 4 decimals (0.9872), or None when nothing was counted."""
    return round(part / whole, 4) if whole else None


def percentile_cont(values: Iterable[float], p: float) -> float | None:
    """SQL's percentile_cont: linear interpolation between the closest ranks."""
    data = sorted(values)
    if not data:
        return None
    pos = p * (len(data) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600.0, 2)


def _as_datetime(value: dt.date | dt.datetime, *, end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    day = value + dt.timedelta(days=1) if end else value  # an end DATE is inclusive
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def base_queryset(
    user: Any,
    *,
    start: dt.datetime,
    end: dt.datetime,
    area_code: str | None = None,
    department_id: int | None = None,
    category_code: str | None = None,
) -> QuerySet[Case]:
    """The counted cases ("received"), scoped to the user."""
    qs = visible_cases(user).filter(received_at__gte=start, received_at__lt=end).exclude(status__in=EXCLUDED_STATUSES)
    if area_code:
        qs = qs.filter(code_range_q("area_code", area_code))
    if department_id:
        qs = qs.filter(current_department_id=department_id)
    if category_code:
        qs = qs.filter(Q(category__code=category_code) | Q(category__parent__code=category_code))
    return qs


def _check(user: Any, start: dt.datetime, end: dt.datetime, category_code: str | None, area_code: str | None) -> None:
    if not has_capability(user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看案件的权限"))
    if end <= start:
        raise ValidationError({"end": _("结束日期必须晚于开始日期")})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationError({"end": _("统计周期不能超过三年")})
    if category_code and not Category.objects.filter(code=category_code).exists():
        raise ValidationError({"category": _("案件类别不存在")})
    if area_code and not area_code.isdigit():
        raise ValidationError({"area_code": _("辖区编码只能是数字")})


def _period_queryset(
    user: Any,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    area_code: str | None,
    department_id: int | None,
    category_code: str | None,
) -> tuple[dt.datetime, dt.datetime, QuerySet[Case]]:
    """Validate the filters and return the period's bounds and its cases (one place for all
    the figures, so the chart, the table and the export count the same rows)."""
    start_at, end_at = _as_datetime(start, end=False), _as_datetime(end, end=True)
    _check(user, start_at, end_at, category_code, area_code)
    qs = base_queryset(
        user, start=start_at, end=end_at, area_code=area_code, department_id=department_id, category_code=category_code
    )
    return start_at, end_at, qs


# --- where the counts come from: aggregate rows for settled days, the cases for the rest -----

_RAW_ONLY: ContextVar[bool] = ContextVar("cases_metrics_raw_only", default=False)


@contextmanager
def raw_only() -> Iterator[None]:
    """Inside this block every figure is counted from the cases themselves (the recount and
    the tests compare the two ways)."""
    token = _RAW_ONLY.set(True)
    try:
        yield
    finally:
        _RAW_ONLY.reset(token)


@dataclass(frozen=True)
class _Request:
    user: Any
    start: dt.datetime
    end: dt.datetime
    area_code: str | None
    department_id: int | None
    category_ids: list[int] | None
    category_is_top: bool


# Group columns: on the cases and on the aggregate rows.
RAW_COLUMNS = {
    "area_code": "area_code",
    "department_id": "current_department_id",
    "category_id": "category_id",
    "channel": "channel",
    "day": "day",
}


def _raw_counts(qs: QuerySet[Case], column: str | None, histograms: bool) -> dict[Any, dict[str, int]]:
    exprs = agg.row_expressions(histograms=histograms)
    if column is None:
        return {None: {k: int(v or 0) for k, v in qs.aggregate(**exprs).items()}}
    raw_column = RAW_COLUMNS[column]
    if raw_column == "day":
        qs = qs.annotate(day=TruncDate("received_at", tzinfo=agg.local_tz()))
    out: dict[Any, dict[str, int]] = {}
    for row in qs.values(raw_column).annotate(**exprs).order_by():
        value = row[raw_column]
        if column == "department_id":
            value = value or 0
        out[value] = {k: int(row[k] or 0) for k in exprs}
    return out


def _agg_counts(qs: QuerySet[CaseCohortAggregate], column: str | None, histograms: bool) -> dict[Any, dict[str, int]]:
    fields = agg.ROW_FIELDS if histograms else AGG_COUNT_FIELDS
    sums = {f: Sum(f) for f in fields}
    if column is None:
        return {None: {k: int(v or 0) for k, v in qs.aggregate(**sums).items()}}
    out: dict[Any, dict[str, int]] = {}
    for row in qs.values(column).annotate(**sums).order_by():
        out[row[column]] = {k: int(row[k] or 0) for k in fields}
    return out


def _merge(into: dict[Any, dict[str, int]], more: dict[Any, dict[str, int]]) -> None:
    for key, counts in more.items():
        target = into.setdefault(key, dict.fromkeys(counts, 0))
        for k, v in counts.items():
            target[k] = target.get(k, 0) + v


def _full_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    """The local days wholly inside [start, end): [first, stop)."""
    first = agg.local_day(start)
    if agg.day_start(first) < start:
        first += dt.timedelta(days=1)
    stop = agg.local_day(end)
    return first, max(first, stop)


def _scope_filter(user: Any, level: int) -> tuple[Q, Q] | None:
    """The user's own scope as (a filter on aggregate rows, the same filter on cases), or
    None when it cannot be read from rows of ``level`` (then everything is counted raw)."""
    if str(user.role) == Role.DEPARTMENT_HANDLER:
        if level != CaseCohortAggregate.FINE:
            return None
        depts = sorted(set(user.departments.values_list("pk", flat=True)))
        return Q(department_id__in=depts), Q(current_department_id__in=depts)
    code = user_scope_code(user)
    if code is None:
        return Q(pk__in=[]), Q(pk__in=[])
    if level == CaseCohortAggregate.COARSE and len(code) > agg.STREET_CODE_LENGTH:
        return None
    return code_range_q("area_code", code), code_range_q("area_code", code)


def _beyond_scope(user: Any) -> list[Q]:
    """What ``visible_cases`` grants beyond the user's territory or departments: the cases
    they hold, and those their departments co-handle. Counted from the cases (few rows, by
    index); tests compare every role with the raw count."""
    found = [Q(current_handler_id=user.pk)]
    depts = list(user.departments.values_list("pk", flat=True))
    if depts:
        assisted = list(CaseAssist.objects.filter(department_id__in=depts).values_list("case_id", flat=True).distinct())
        if assisted:
            found.append(Q(pk__in=assisted))
    return found


def _level_for(req: _Request, column: str | None, fine_areas: bool) -> int:
    coarse_ok = (
        req.department_id is None
        and column != "department_id"
        and not fine_areas
        and (req.category_ids is None or req.category_is_top)
        and (req.area_code is None or len(req.area_code) <= agg.STREET_CODE_LENGTH)
        and str(req.user.role) != Role.DEPARTMENT_HANDLER
        and len(user_scope_code(req.user) or "") <= agg.STREET_CODE_LENGTH
    )
    return CaseCohortAggregate.COARSE if coarse_ok else CaseCohortAggregate.FINE


def _collect(
    req: _Request, column: str | None, *, histograms: bool, fine_areas: bool = False, months_ok: bool = True
) -> dict[Any, dict[str, int]]:
    """The counts of the visible cases received in the period, per value of ``column``
    (None: one total). Settled whole days come from the aggregate rows; the days changed
    since the last refresh, the partial days at the edges and the cases visible beyond the
    user's scope come from the cases: the result equals a raw count at every moment."""
    raw_base = base_queryset(
        req.user, start=req.start, end=req.end, area_code=req.area_code, department_id=req.department_id
    )
    if req.category_ids is not None:
        raw_base = raw_base.filter(category_id__in=req.category_ids)
    state = None if _RAW_ONLY.get() else CaseAggregateState.objects.filter(pk=1, watermark__isnull=False).first()
    first, stop = _full_days(req.start, req.end)
    level = _level_for(req, column, fine_areas)
    scope = _scope_filter(req.user, level)
    if state is None or state.watermark is None or first >= stop or scope is None:
        return _raw_counts(raw_base, column, histograms)
    dirty = sorted(d for d in agg.dirty_days(state.watermark) if first <= d < stop)
    row_scope, case_scope = scope
    # Whole clean months come from the month rows (coarse level, when the grouping is not
    # by day or week), the other clean days from the day rows.
    months: list[dt.date] = []
    if level == CaseCohortAggregate.COARSE and months_ok:
        dirty_months = {agg.month_start(d) for d in dirty}
        m = agg.month_start(first)
        m = m if m == first else agg.next_month(m)
        while agg.next_month(m) <= stop:
            if m not in dirty_months:
                months.append(m)
            m = agg.next_month(m)

    def narrowed(rows: QuerySet[CaseCohortAggregate]) -> QuerySet[CaseCohortAggregate]:
        rows = rows.filter(row_scope)
        if req.area_code:
            rows = rows.filter(code_range_q("area_code", req.area_code))
        if req.department_id:
            rows = rows.filter(department_id=req.department_id)
        if req.category_ids is not None:
            coarse = level == CaseCohortAggregate.COARSE
            rows = rows.filter(category_id__in=req.category_ids[:1] if coarse else req.category_ids)
        return rows

    # The day rows: [first, stop) less the months, as index ranges.
    spans: list[tuple[dt.date, dt.date]] = []
    cursor = first
    for m in months:
        if cursor < m:
            spans.append((cursor, m))
        cursor = agg.next_month(m)
    if cursor < stop:
        spans.append((cursor, stop))
    result: dict[Any, dict[str, int]] = {}
    if spans:
        in_spans = Q(pk__in=[])
        for lo, hi in spans:
            in_spans |= Q(day__gte=lo, day__lt=hi)
        # Without a channel grouping, the coarse day rows summed over the channel will do.
        coarse = level == CaseCohortAggregate.COARSE
        day_level = CaseCohortAggregate.DAY if coarse and column != "channel" else level
        rows = narrowed(CaseCohortAggregate.objects.filter(in_spans, level=day_level))
        if dirty:
            rows = rows.exclude(day__in=dirty)
        result = _agg_counts(rows, column, histograms)
    if months:
        month_rows = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.MONTH, day__in=months)
        _merge(result, _agg_counts(narrowed(month_rows), column, histograms))
    # From the cases: the partial edge days and the dirty days ...
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    if req.start < agg.day_start(first):
        ranges.append((req.start, agg.day_start(first)))
    if agg.day_start(stop) < req.end:
        ranges.append((agg.day_start(stop), req.end))
    raw_q = Q(pk__in=[])
    for lo, hi in ranges:
        raw_q |= Q(received_at__gte=lo, received_at__lt=hi)
    if dirty:
        raw_q |= agg.received_q(dirty)
    if ranges or dirty:
        _merge(result, _raw_counts(raw_base.filter(raw_q), column, histograms))
    # ... and, in the settled days, the visible cases the rows' scope does not cover.
    settled = raw_base.exclude(case_scope)
    if ranges or dirty:
        settled = settled.exclude(raw_q)
    for q in _beyond_scope(req.user):
        _merge(result, _raw_counts(settled.filter(q), column, histograms))
        settled = settled.exclude(q)
    return result


def _request(
    user: Any,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    area_code: str | None,
    department_id: int | None,
    category_code: str | None,
) -> _Request:
    start_at, end_at = _as_datetime(start, end=False), _as_datetime(end, end=True)
    _check(user, start_at, end_at, category_code, area_code)
    ids: list[int] | None = None
    is_top = False
    if category_code:
        cat = Category.objects.get(code=category_code)
        is_top = cat.parent_id is None
        ids = [cat.pk, *Category.objects.filter(parent_id=cat.pk).values_list("pk", flat=True)]
    return _Request(user, start_at, end_at, area_code or None, department_id or None, ids, is_top)


def hist_percentile(cumulative: list[int], n: int, edges: list[float], p: float) -> float | None:
    """The p-quantile (seconds) of a cumulative histogram (``cumulative[k]``: the values below
    ``edges[k]``; ``n`` values in all), by percentile_cont's formula over estimated order
    statistics: the i-th smallest value is placed inside its bucket as if the bucket's values
    were spread evenly over it; the result interpolates between ranks floor(p*(n-1)) and the
    next. Each estimate lies in the bucket of the true value (a factor 2**(1/3) wide). The
    last bucket is open: it is taken to end one ratio above its start."""
    if n <= 0:
        return None
    counts, prev = [], 0
    for c in cumulative:
        counts.append(c - prev)
        prev = c
    counts.append(n - prev)

    def value_at(rank: int) -> float:
        before = 0
        for k, c in enumerate(counts):
            if c > 0 and rank < before + c:
                lo = 0.0 if k == 0 else edges[k - 1]
                hi = edges[k] if k < len(edges) else edges[-1] * AGG_BUCKET_RATIO
                return lo + (hi - lo) * (rank - before + 0.5) / c
            before += c
        return edges[-1] * AGG_BUCKET_RATIO  # pragma: no cover - the counts add up to n

    pos = p * (n - 1)
    lo_rank = math.floor(pos)
    low = value_at(lo_rank)
    return low + (value_at(min(lo_rank + 1, n - 1)) - low) * (pos - lo_rank)


def _percentiles(c: dict[str, int]) -> dict[str, float | None]:
    rc = [c[f"rc{k:02d}"] for k in range(AGG_EDGES)]
    hc = [c[f"hc{k:02d}"] for k in range(AGG_EDGES)]
    return {
        "response_p50": hist_percentile(rc, c["acknowledged"], agg.RESPONSE_EDGES, 0.5),
        "response_p90": hist_percentile(rc, c["acknowledged"], agg.RESPONSE_EDGES, 0.9),
        "handling_p50": hist_percentile(hc, c["closed"], agg.HANDLING_EDGES, 0.5),
        "handling_p90": hist_percentile(hc, c["closed"], agg.HANDLING_EDGES, 0.9),
    }


def case_metrics(
    user: Any,
    *,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    area_code: str | None = None,
    department_id: int | None = None,
    category_code: str | None = None,
) -> CaseMetrics:
    """The closure metrics for a period (``end`` exclusive for datetimes, inclusive for dates)."""
    req = _request(user, start, end, area_code, department_id, category_code)
    c = _collect(req, None, histograms=True)[None]
    p = _percentiles(c)
    return CaseMetrics(
        start=req.start,
        end=req.end,
        area_code=req.area_code,
        department_id=req.department_id,
        category_code=category_code or None,
        received=c["received"],
        closed=c["closed"],
        closure_rate=rate(c["closed"], c["received"]),
        dispatched=c["dispatched"],
        signed_on_time=c["signed_on_time"],
        on_time_sign_for_rate=rate(c["signed_on_time"], c["dispatched"]),
        closed_on_time=c["closed_on_time"],
        on_time_closing_rate=rate(c["closed_on_time"], c["closed"]),
        response_median_hours=_hours(p["response_p50"]),
        response_p90_hours=_hours(p["response_p90"]),
        handling_median_hours=_hours(p["handling_p50"]),
        handling_p90_hours=_hours(p["handling_p90"]),
        evaluated=c["evaluated"],
        resolved=c["resolved"],
        satisfied=c["satisfied"],
        resolution_rate=rate(c["resolved"], c["evaluated"]),
        satisfaction_rate=rate(c["satisfied"], c["evaluated"]),
        rehandled=c["rehandled"],
        rehandling_rate=rate(c["rehandled"], c["received"]),
        repeat_complaints=c["repeat_complaints"],
        repeat_complaint_rate=rate(c["repeat_complaints"], c["received"]),
    )


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: str
    received: int
    closed: int
    closure_rate: float | None


def case_metrics_by_week(
    user: Any,
    *,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    area_code: str | None = None,
    department_id: int | None = None,
    category_code: str | None = None,
) -> list[Breakdown]:
    """Received and closed per week (Monday, local time) of receipt: the trend chart."""
    rows = case_metrics_grouped(
        user,
        start=start,
        end=end,
        group_by="week",
        area_code=area_code,
        department_id=department_id,
        category_code=category_code,
    )
    return [Breakdown(r.key, r.key, r.received, r.closed, r.closure_rate) for r in rows]


def case_metrics_by_category(
    user: Any,
    *,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    area_code: str | None = None,
    department_id: int | None = None,
    category_code: str | None = None,
) -> list[Breakdown]:
    """Received and closed per top-level category (大类): the category chart."""
    rows = case_metrics_grouped(
        user,
        start=start,
        end=end,
        group_by="category",
        area_code=area_code,
        department_id=department_id,
        category_code=category_code,
    )
    return [Breakdown(r.key, r.label, r.received, r.closed, r.closure_rate) for r in rows if r.key]


# --- grouped metrics: the rows behind rankings and the wall screen -------------------------

GROUP_BYS = ("area", "department", "category", "channel", "day", "week", "month")
AREA_LEVELS = (AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID)
# The counts every rate is made of (additive: a group's counts are the sums of its parts).
COUNT_FIELDS = (
    "received",
    "closed",
    "dispatched",
    "signed_on_time",
    "closed_on_time",
    "evaluated",
    "resolved",
    "satisfied",
    "rehandled",
    "repeat_complaints",
)


@dataclass(frozen=True)
class GroupedMetrics:
    """One group (an area, a department, a top-level category, a channel or a period) of the
    cases received in the period: the counts of ``CaseMetrics`` and their rates."""

    key: str
    label: str
    received: int
    closed: int
    closure_rate: float | None
    dispatched: int
    signed_on_time: int
    on_time_sign_for_rate: float | None
    closed_on_time: int
    on_time_closing_rate: float | None
    evaluated: int
    resolved: int
    satisfied: int
    resolution_rate: float | None
    satisfaction_rate: float | None
    rehandled: int
    rehandling_rate: float | None
    repeat_complaints: int
    repeat_complaint_rate: float | None

    @property
    def open(self) -> int:
        return self.received - self.closed

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "open": self.open}


def grouped_row(key: str, label: str, c: dict[str, int]) -> GroupedMetrics:
    return GroupedMetrics(
        key=key,
        label=label,
        received=c["received"],
        closed=c["closed"],
        closure_rate=rate(c["closed"], c["received"]),
        dispatched=c["dispatched"],
        signed_on_time=c["signed_on_time"],
        on_time_sign_for_rate=rate(c["signed_on_time"], c["dispatched"]),
        closed_on_time=c["closed_on_time"],
        on_time_closing_rate=rate(c["closed_on_time"], c["closed"]),
        evaluated=c["evaluated"],
        resolved=c["resolved"],
        satisfied=c["satisfied"],
        resolution_rate=rate(c["resolved"], c["evaluated"]),
        satisfaction_rate=rate(c["satisfied"], c["evaluated"]),
        rehandled=c["rehandled"],
        rehandling_rate=rate(c["rehandled"], c["received"]),
        repeat_complaints=c["repeat_complaints"],
        repeat_complaint_rate=rate(c["repeat_complaints"], c["received"]),
    )


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNT_FIELDS, 0)


def _add(into: dict[str, int], row: dict[str, Any]) -> None:
    for k in COUNT_FIELDS:
        into[k] += int(row.get(k) or 0)


def _area_nodes(user: Any, area_code: str | None, level: str | None) -> list[Area]:
    """The nodes an area grouping reports on: the given level under the root, or the root's
    children (root: the area filter, else the user's scope node, else the whole tree)."""
    root = area_code or user_scope_code(user) or ""
    if level:
        qs = Area.objects.filter(level=level)
        if root:
            qs = qs.filter(code_range_q("code", root))
    elif root:
        qs = Area.objects.filter(parent__code=root)
    else:
        qs = Area.objects.filter(parent__isnull=True)
    return list(qs.only("code", "name", "level").order_by("code"))


class _Grouper:
    """Maps a raw group value (an area code, a department id, a category id, a channel, a
    day) to the reported group (key, label)."""

    def __init__(self, user: Any, group_by: str, area_code: str | None, level: str | None) -> None:
        self.group_by = group_by
        self.labels: dict[str, str] = {}
        self._cache: dict[Any, str] = {}
        if group_by == "area":
            nodes = _area_nodes(user, area_code, level)
            self.nodes = {n.code: n.name for n in nodes}
            self.lengths = sorted({len(c) for c in self.nodes}, reverse=True)
            self.labels.update(self.nodes)
        elif group_by == "category":
            cats = list(Category.objects.values_list("pk", "code", "name", "parent_id"))
            by_pk = {pk: (code, name, parent) for pk, code, name, parent in cats}
            self.top: dict[Any, str] = {}
            for pk, (code, name, parent) in by_pk.items():
                top = by_pk.get(parent) if parent else (code, name, None)
                assert top is not None
                self.top[pk] = top[0]
                if parent is None:
                    self.labels[code] = name
        elif group_by == "department":
            self.labels.update({str(pk): name for pk, name in Department.objects.values_list("pk", "name")})
        elif group_by == "channel":
            self.labels.update({str(v): str(label) for v, label in Channel.choices})

    def key(self, value: Any) -> str:
        found = self._cache.get(value)
        if found is not None:
            return found
        key = self._key(value)
        self._cache[value] = key
        return key

    def _key(self, value: Any) -> str:
        if value is None or value == "" or (value == 0 and self.group_by == "department"):
            return ""
        if self.group_by == "area":
            code = str(value)
            for n in self.lengths:
                if code[:n] in self.nodes:
                    return code[:n]
            return ""
        if self.group_by == "category":
            return self.top.get(value, "")
        if self.group_by in ("department", "channel"):
            return str(value)
        day: dt.date = value.date() if isinstance(value, dt.datetime) else value
        if self.group_by == "week":
            day = day - dt.timedelta(days=day.weekday())
        elif self.group_by == "month":
            return f"{day:%Y-%m}"
        return day.isoformat()

    def label(self, key: str) -> str:
        if key == "":
            return {
                "area": _("未归属下级辖区"),
                "department": _("未交部门办理"),
            }.get(self.group_by, _("其他"))
        return self.labels.get(key, key)


GROUP_COLUMNS = {
    "area": "area_code",
    "department": "department_id",
    "category": "category_id",
    "channel": "channel",
    "day": "day",
    "week": "day",
    "month": "day",
}


def case_metrics_grouped(
    user: Any,
    *,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    group_by: str,
    area_code: str | None = None,
    department_id: int | None = None,
    category_code: str | None = None,
    level: str | None = None,
) -> list[GroupedMetrics]:
    """The counts and rates of ``case_metrics`` per group of the cases received in the period.

    ``group_by``: "area" (the children of ``area_code`` - or of the user's scope node - or,
    with ``level`` = street/community/grid, the nodes of that level under it), "department"
    (current department), "category" (top-level), "channel", "day", "week" (Monday) or
    "month" (YYYY-MM). Area, department and category groups are sorted by received (most
    first), period groups by time. Cases outside every group (e.g. a case located only to
    the district when grouping by street) form a group with the key "". The groups' counts
    add up to ``case_metrics``' counts for the same filters."""
    if group_by not in GROUP_BYS:
        raise ValidationError({"group_by": _("不支持的分组方式")})
    if level and (group_by != "area" or level not in AREA_LEVELS):
        raise ValidationError({"level": _("层级只能是街道、社区或网格, 且仅用于按辖区分组")})
    req = _request(user, start, end, area_code, department_id, category_code)
    grouper = _Grouper(user, group_by, req.area_code, level)
    fine_areas = group_by == "area" and any(n > agg.STREET_CODE_LENGTH for n in grouper.lengths)
    counts = _collect(
        req, GROUP_COLUMNS[group_by], histograms=False, fine_areas=fine_areas, months_ok=group_by not in ("day", "week")
    )
    totals: dict[str, dict[str, int]] = {}
    for value, c in counts.items():
        _add(totals.setdefault(grouper.key(value), _zero()), c)
    rows = [grouped_row(k, grouper.label(k), c) for k, c in totals.items() if c["received"]]
    if group_by in ("day", "week", "month"):
        rows.sort(key=lambda r: r.key)
    else:
        rows.sort(key=lambda r: (r.key == "", -r.received, r.key))
    return rows
