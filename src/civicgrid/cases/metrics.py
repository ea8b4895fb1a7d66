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
  median and 90th percentile in hours, continuous percentiles (linear interpolation, as SQL's
  percentile_cont): PostgreSQL computes them in the query, SQLite in Python, same formula;
- resolution rate = evaluated and resolved / evaluated; satisfaction rate = evaluated with a
  satisfaction of 4 or 5 / evaluated (evaluated: a satisfaction score is recorded);
- re-handling rate (发回重办率) = cases sent back at least once (verification failed or
  reopened: ``rehandle_count`` > 0) / received;
- repeat-complaint rate = cases whose caller (phone blind index) reported a case of the same
  category in the 30 days before / received."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Aggregate, Count, Exists, F, FloatField, Func, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import code_range_q, user_scope_code
from civicgrid.cases.enums import CaseStatus, Channel
from civicgrid.cases.models import Case, Category
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


class _Epoch(Func):
    """Seconds between two datetimes (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "
    output_field = FloatField()


class _PercentileCont(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=float(percentile), **extra)


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


def _counts(qs: QuerySet[Case]) -> dict[str, int]:
    return qs.aggregate(**_count_expressions())


def _count_expressions() -> dict[str, Any]:
    closed = Q(closed_at__isnull=False)
    evaluated = Q(satisfaction__isnull=False)
    return dict(
        received=Count("id"),
        closed=Count("id", filter=closed),
        dispatched=Count("id", filter=Q(dispatched_at__isnull=False, acknowledge_due__isnull=False)),
        signed_on_time=Count(
            "id",
            filter=Q(
                dispatched_at__isnull=False, acknowledged_at__isnull=False, acknowledged_at__lte=F("acknowledge_due")
            ),
        ),
        closed_on_time=Count("id", filter=closed & Q(close_due__isnull=False, closed_at__lte=F("close_due"))),
        evaluated=Count("id", filter=evaluated),
        resolved=Count("id", filter=evaluated & Q(resolved=True)),
        satisfied=Count("id", filter=evaluated & Q(satisfaction__gte=SATISFIED_MIN)),
        rehandled=Count("id", filter=Q(rehandle_count__gt=0)),
    )


def _repeat_count(qs: QuerySet[Case]) -> int:
    earlier = Case.objects.filter(
        reporter_phone_digest=OuterRef("reporter_phone_digest"),
        category_id=OuterRef("category_id"),
        received_at__lt=OuterRef("received_at"),
        received_at__gte=OuterRef("received_at") - dt.timedelta(days=REPEAT_WINDOW_DAYS),
    )
    return qs.exclude(reporter_phone_digest="").filter(Exists(earlier)).count()


def _percentile_expressions() -> dict[str, Any]:
    """PostgreSQL: the four percentiles as aggregates (computed in the counts' scan)."""
    acked = Q(acknowledged_at__isnull=False)
    closed = Q(closed_at__isnull=False)
    response = _Epoch(F("acknowledged_at"), F("received_at"))
    handling = _Epoch(F("closed_at"), F("received_at"))
    return {
        "response_p50": _PercentileCont(response, 0.5, filter=acked),
        "response_p90": _PercentileCont(response, 0.9, filter=acked),
        "handling_p50": _PercentileCont(handling, 0.5, filter=closed),
        "handling_p90": _PercentileCont(handling, 0.9, filter=closed),
    }


def _counts_and_percentiles(qs: QuerySet[Case]) -> dict[str, Any]:
    """One scan on PostgreSQL (counts and percentile_cont together); on SQLite the counts in
    SQL and the percentiles in Python (same formula)."""
    if connection.vendor == "postgresql":
        # percentile_cont sorts its input: give this one query enough memory to sort in RAM
        # instead of spilling to disk (SET LOCAL ends with the transaction).
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL work_mem = %s", [str(getattr(settings, "CASES_METRICS_WORK_MEM", "128MB"))])
            return qs.aggregate(**_count_expressions(), **_percentile_expressions())
    return {**_counts(qs), **_percentiles(qs)}


def _percentiles(qs: QuerySet[Case]) -> dict[str, float | None]:
    """Median and p90 of response and handling time, in seconds."""
    acked = Q(acknowledged_at__isnull=False)
    closed = Q(closed_at__isnull=False)
    if connection.vendor == "postgresql":
        return qs.aggregate(**_percentile_expressions())
    response_s: list[float] = []
    handling_s: list[float] = []
    for received, acked_at, closed_at in qs.filter(acked | closed).values_list(
        "received_at", "acknowledged_at", "closed_at"
    ):
        if acked_at is not None:
            response_s.append((acked_at - received).total_seconds())
        if closed_at is not None:
            handling_s.append((closed_at - received).total_seconds())
    return {
        "response_p50": percentile_cont(response_s, 0.5),
        "response_p90": percentile_cont(response_s, 0.9),
        "handling_p50": percentile_cont(handling_s, 0.5),
        "handling_p90": percentile_cont(handling_s, 0.9),
    }


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
    area, category = area_code or None, category_code or None
    start_at, end_at, qs = _period_queryset(user, start, end, area, department_id, category)
    c = p = _counts_and_percentiles(qs)
    repeat = _repeat_count(qs) if c["received"] else 0
    return CaseMetrics(
        start=start_at,
        end=end_at,
        area_code=area,
        department_id=department_id,
        category_code=category,
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
        repeat_complaints=repeat,
        repeat_complaint_rate=rate(repeat, c["received"]),
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
    _start, _end, qs = _period_queryset(user, start, end, area_code, department_id, category_code)
    rows = (
        qs.annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(received=Count("id"), closed=Count("id", filter=Q(closed_at__isnull=False)))
        .order_by("week")
    )
    out = []
    for r in rows:
        week = r["week"].date() if isinstance(r["week"], dt.datetime) else r["week"]
        out.append(
            Breakdown(week.isoformat(), week.isoformat(), r["received"], r["closed"], rate(r["closed"], r["received"]))
        )
    return out


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
    _start, _end, qs = _period_queryset(user, start, end, area_code, department_id, category_code)
    rows = (
        qs.values("category__parent_id", "category_id")
        .annotate(received=Count("id"), closed=Count("id", filter=Q(closed_at__isnull=False)))
        .order_by()
    )
    totals: dict[int, list[int]] = {}
    for r in rows:
        top = r["category__parent_id"] or r["category_id"]
        acc = totals.setdefault(top, [0, 0])
        acc[0] += r["received"]
        acc[1] += r["closed"]
    cats = {c.pk: c for c in Category.objects.filter(pk__in=list(totals))}
    out = [
        Breakdown(cats[pk].code, cats[pk].name, rec, clo, rate(clo, rec))
        for pk, (rec, clo) in totals.items()
        if pk in cats
    ]
    out.sort(key=lambda b: (-b.received, b.key))
    return out


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


def _repeat_q() -> Q:
    """The case's caller (phone blind index) reported a case of the same category in the
    REPEAT_WINDOW_DAYS before it."""
    earlier = Case.objects.filter(
        reporter_phone_digest=OuterRef("reporter_phone_digest"),
        category_id=OuterRef("category_id"),
        received_at__lt=OuterRef("received_at"),
        received_at__gte=OuterRef("received_at") - dt.timedelta(days=REPEAT_WINDOW_DAYS),
    )
    return ~Q(reporter_phone_digest="") & Q(Exists(earlier))


def _group_counts(qs: QuerySet[Case], column: str | None) -> dict[Any, dict[str, int]]:
    """Counts per value of ``column`` (a Case column, or "day": the local day of receipt)."""
    exprs = {**_count_expressions(), "repeat_complaints": Count("id", filter=_repeat_q())}
    if column is None:
        return {None: {k: int(v or 0) for k, v in qs.aggregate(**exprs).items()}}
    if column == "day":
        qs = qs.annotate(day=TruncDate("received_at"))
    out: dict[Any, dict[str, int]] = {}
    for row in qs.values(column).annotate(**exprs).order_by():
        out[row[column]] = {k: int(row[k] or 0) for k in exprs}
    return out


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
        if value is None or value == "":
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
    "department": "current_department_id",
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
    area, category = area_code or None, category_code or None
    _start, _end, qs = _period_queryset(user, start, end, area, department_id, category)
    grouper = _Grouper(user, group_by, area, level)
    raw = _group_counts(qs, GROUP_COLUMNS[group_by])
    totals: dict[str, dict[str, int]] = {}
    for value, counts in raw.items():
        _add(totals.setdefault(grouper.key(value), _zero()), counts)
    rows = [grouped_row(k, grouper.label(k), c) for k, c in totals.items()]
    if group_by in ("day", "week", "month"):
        rows.sort(key=lambda r: r.key)
    else:
        rows.sort(key=lambda r: (r.key == "", -r.received, r.key))
    return rows
