"""The metrics aggregates: per received day (the cohort), the counts behind every closure
metric, in two levels (see ``models.CaseCohortAggregate``), kept fresh by a periodic job.

- ``row_expressions()``: THE definitions of the counts and the duration histograms, as SQL
  aggregates over ``Case`` rows. The refresh, the real-time overlay of ``metrics`` and the
  recount all use them, so the three can only agree.
- ``case_aggregates_refresh(full=False)``: recomputes the days of every case changed since the
  watermark (``Case.updated_at`` >= watermark, plus the days whose repeat-complaint flag such a
  change may move), one INSERT ... SELECT per level; ``full=True`` rebuilds everything. It is
  idempotent and serialised on the state row (several workers may run it at once).
- ``dirty_days(watermark)``: the days the aggregate rows may not reflect yet; the metrics read
  those days from the cases themselves, so every figure is exact in real time.
- ``aggregate_recount(first, last)``: recomputes the rows of the clean days from the cases and
  returns the differences (``civicgrid metrics_recount``).

The watermark trails the refresh's start by ``CASES_AGGREGATE_LAG_SECONDS`` (default 600): a
transaction that set ``updated_at`` before the refresh but committed after it is still seen as
dirty, as long as it lasted less than that."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Substr, TruncDate, TruncMonth
from django.utils import timezone

from civicgrid.cases.enums import CaseStatus
from civicgrid.cases.models import (
    AGG_BUCKET_RATIO,
    AGG_COUNT_FIELDS,
    AGG_EDGES,
    AGG_HANDLING_BASE_S,
    AGG_HIST_FIELDS,
    AGG_RESPONSE_BASE_S,
    Case,
    CaseAggregateState,
    CaseCohortAggregate,
    Category,
)

REPEAT_WINDOW_DAYS = 30
SATISFIED_MIN = 4
EXCLUDED_STATUSES = (CaseStatus.MERGED, CaseStatus.NOT_ACCEPTED)
STREET_CODE_LENGTH = 9
KEY_FIELDS = ("day", "area_code", "category_id", "department_id", "channel")
ROW_FIELDS = AGG_COUNT_FIELDS + AGG_HIST_FIELDS
# Refresh this many days per statement (a long outage leaves many dirty days).
DAYS_PER_CHUNK = 62


def local_tz() -> ZoneInfo:
    return ZoneInfo(str(settings.TIME_ZONE))


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=local_tz())


def local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(local_tz()).date()


def edges(base_s: float) -> list[float]:
    """The histogram's bucket edges in seconds: base * ratio**k, k = 0 .. AGG_EDGES-1."""
    return [base_s * AGG_BUCKET_RATIO**k for k in range(AGG_EDGES)]


RESPONSE_EDGES = edges(AGG_RESPONSE_BASE_S)
HANDLING_EDGES = edges(AGG_HANDLING_BASE_S)


def counted_cases() -> QuerySet[Case]:
    """The cases that count ("received"): all but merged duplicates and 不予受理."""
    return Case.objects.exclude(status__in=EXCLUDED_STATUSES)


def repeat_q() -> Q:
    """The case's caller (phone blind index) reported a case of the same category in the
    REPEAT_WINDOW_DAYS before it."""
    earlier = Case.objects.filter(
        reporter_phone_digest=OuterRef("reporter_phone_digest"),
        category_id=OuterRef("category_id"),
        received_at__lt=OuterRef("received_at"),
        received_at__gte=OuterRef("received_at") - dt.timedelta(days=REPEAT_WINDOW_DAYS),
    )
    return ~Q(reporter_phone_digest="") & Q(Exists(earlier))


def row_expressions(*, histograms: bool = True) -> dict[str, Any]:
    """The aggregate of each stored column over a set of Case rows."""
    closed = Q(closed_at__isnull=False)
    evaluated = Q(satisfaction__isnull=False)
    acked = Q(acknowledged_at__isnull=False)
    exprs: dict[str, Any] = dict(
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
        repeat_complaints=Count("id", filter=repeat_q()),
        acknowledged=Count("id", filter=acked),
    )
    if histograms:
        for k, edge in enumerate(RESPONSE_EDGES):
            limit = dt.timedelta(seconds=edge)
            exprs[f"rc{k:02d}"] = Count("id", filter=Q(acknowledged_at__lt=F("received_at") + limit))
        for k, edge in enumerate(HANDLING_EDGES):
            limit = dt.timedelta(seconds=edge)
            exprs[f"hc{k:02d}"] = Count("id", filter=Q(closed_at__lt=F("received_at") + limit))
    return exprs


def level_keys(level: int) -> dict[str, Any]:
    """The key columns of a level, as expressions over Case rows."""
    day = TruncDate("received_at", tzinfo=local_tz())
    if level == CaseCohortAggregate.FINE:
        return {
            "k_day": day,
            "k_area": F("area_code"),
            "k_category": F("category_id"),
            "k_department": Coalesce("current_department_id", Value(0)),
            "k_channel": F("channel"),
        }
    return {
        "k_day": day,
        "k_area": Substr("area_code", 1, STREET_CODE_LENGTH),
        "k_category": Coalesce("category__parent_id", "category_id"),
        "k_department": Value(0, output_field=IntegerField()),
        "k_channel": F("channel"),
    }


KEY_ALIASES = {
    "k_day": "day",
    "k_area": "area_code",
    "k_category": "category_id",
    "k_department": "department_id",
    "k_channel": "channel",
}


def level_rows(level: int, qs: QuerySet[Case]) -> QuerySet[Case, dict[str, Any]]:
    """One row per key of ``level`` with every stored column, computed from ``qs``."""
    keys = level_keys(level)
    rows: QuerySet[Case, dict[str, Any]] = qs.annotate(**keys).values(*keys).annotate(**row_expressions()).order_by()
    return rows


def _insert_fine(qs: QuerySet[Case]) -> int:
    """INSERT INTO the aggregate table the fine rows computed from the cases ``qs`` (one
    statement; the database does the work)."""
    level = CaseCohortAggregate.FINE
    return _insert_select(level_rows(level, qs).annotate(k_level=Value(level, output_field=IntegerField())))


def _insert_coarse(days: list[dt.date] | None) -> int:
    """The coarse rows of ``days`` (None: all), summed from the fine rows (cheaper than a
    second pass over the cases, and equal to it: every coarse key is a union of fine keys)."""
    parent = Subquery(
        Category.objects.filter(pk=OuterRef("category_id")).values("parent_id")[:1], output_field=IntegerField()
    )
    top = Coalesce(parent, F("category_id"), output_field=IntegerField())
    fine = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.FINE)
    if days is not None:
        fine = fine.filter(day__in=days)
    rows = (
        fine.annotate(
            k_level=Value(CaseCohortAggregate.COARSE, output_field=IntegerField()),
            k_day=F("day"),
            k_area=Substr("area_code", 1, STREET_CODE_LENGTH),
            k_category=top,
            k_department=Value(0, output_field=IntegerField()),
            k_channel=F("channel"),
        )
        .values("k_level", "k_day", "k_area", "k_category", "k_department", "k_channel")
        .annotate(**{f: Sum(f) for f in ROW_FIELDS})
        .order_by()
    )
    return _insert_select(rows)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _insert_months(months: list[dt.date] | None) -> int:
    """The month rows of ``months`` (None: all), summed from the coarse rows."""
    coarse = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.COARSE)
    if months is not None:
        q = Q(pk__in=[])
        for m in months:
            q |= Q(day__gte=m, day__lt=next_month(m))
        coarse = coarse.filter(q)
    rows = (
        coarse.annotate(
            k_level=Value(CaseCohortAggregate.MONTH, output_field=IntegerField()),
            k_day=TruncMonth("day"),
            k_area=F("area_code"),
            k_category=F("category_id"),
            k_department=F("department_id"),
            k_channel=F("channel"),
        )
        .values("k_level", "k_day", "k_area", "k_category", "k_department", "k_channel")
        .annotate(**{f: Sum(f) for f in ROW_FIELDS})
        .order_by()
    )
    return _insert_select(rows)


def _insert_days(days: list[dt.date] | None) -> int:
    """The channel-less day rows of ``days`` (None: all), summed from the coarse rows."""
    coarse = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.COARSE)
    if days is not None:
        coarse = coarse.filter(day__in=days)
    rows = (
        coarse.annotate(
            k_level=Value(CaseCohortAggregate.DAY, output_field=IntegerField()),
            k_day=F("day"),
            k_area=F("area_code"),
            k_category=F("category_id"),
            k_department=F("department_id"),
            k_channel=Value("", output_field=CharField()),
        )
        .values("k_level", "k_day", "k_area", "k_category", "k_department", "k_channel")
        .annotate(**{f: Sum(f) for f in ROW_FIELDS})
        .order_by()
    )
    return _insert_select(rows)


def _insert_select(rows: QuerySet[Any, Any]) -> int:
    compiler = rows.query.get_compiler(using=rows.db)
    sql, params = compiler.as_sql()
    aliases = [str(alias) for _expr, _sql, alias in compiler.select]
    columns = ["level" if a == "k_level" else KEY_ALIASES.get(a, a) for a in aliases]
    table = connection.ops.quote_name(CaseCohortAggregate._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {table} ({quoted}) {sql}", params)
        return int(cur.rowcount or 0)


def _day_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days merged into [first, last] ranges."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] + dt.timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def received_q(days: Iterable[dt.date]) -> Q:
    """Cases received on any of ``days`` (local days), as a few index-friendly ranges."""
    q = Q(pk__in=[])
    for first, last in _day_ranges(days):
        q |= Q(received_at__gte=day_start(first), received_at__lt=day_start(last + dt.timedelta(days=1)))
    return q


def dirty_days(watermark: dt.datetime) -> set[dt.date]:
    """The days whose aggregate rows may be stale: the receipt days of the cases changed at
    or after ``watermark``, and of their callers' later cases within the repeat window (a
    changed case can make them repeat complaints, or stop them being). One indexed read
    (Case.updated_at), and one more on the phone blind index when callers are involved."""
    changed = list(Case.objects.filter(updated_at__gte=watermark).values_list("received_at", "reporter_phone_digest"))
    days = {local_day(received) for received, _digest in changed}
    window = dt.timedelta(days=REPEAT_WINDOW_DAYS)
    by_caller: dict[str, list[dt.datetime]] = {}
    for received, digest in changed:
        if digest:
            by_caller.setdefault(digest, []).append(received)
    if by_caller:
        first = min(min(v) for v in by_caller.values())
        last = max(max(v) for v in by_caller.values()) + window
        later = Case.objects.filter(
            reporter_phone_digest__in=list(by_caller), received_at__gt=first, received_at__lte=last
        ).values_list("received_at", "reporter_phone_digest")
        for received, digest in later:
            if any(r < received <= r + window for r in by_caller[digest]):
                days.add(local_day(received))
    return days


def aggregate_state() -> CaseAggregateState:
    state, _created = CaseAggregateState.objects.get_or_create(pk=1)
    return state


@dataclass
class RefreshResult:
    full: bool
    days: int
    rows: int
    seconds: float
    watermark: dt.datetime | None = None
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "days": self.days,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "watermark": self.watermark.isoformat() if self.watermark else None,
        }


def _lag() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "CASES_AGGREGATE_LAG_SECONDS", 600)))


@transaction.atomic
def case_aggregates_refresh(*, full: bool = False) -> RefreshResult:
    """Bring the aggregate rows up to date (see the module docstring). Runs in one
    transaction: readers see the old rows until it commits, never half a day."""
    started = time.perf_counter()
    CaseAggregateState.objects.get_or_create(pk=1)
    state = CaseAggregateState.objects.select_for_update().get(pk=1)  # one refresher at a time
    now = timezone.now()
    new_watermark = now - _lag()
    full = full or state.watermark is None
    rows = 0
    if full:
        CaseCohortAggregate.objects.all().delete()
        rows += _insert_fine(counted_cases())
        rows += _insert_coarse(None)
        rows += _insert_days(None)
        rows += _insert_months(None)
        days = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.FINE).values("day").distinct().count()
        state.full_refreshed_at = now
    else:
        assert state.watermark is not None
        dirty = sorted(dirty_days(state.watermark))
        days = len(dirty)
        for i in range(0, len(dirty), DAYS_PER_CHUNK):
            chunk = dirty[i : i + DAYS_PER_CHUNK]
            CaseCohortAggregate.objects.filter(day__in=chunk).exclude(level=CaseCohortAggregate.MONTH).delete()
            rows += _insert_fine(counted_cases().filter(received_q(chunk)))
            rows += _insert_coarse(chunk)
            rows += _insert_days(chunk)
        months = sorted({month_start(d) for d in dirty})
        CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.MONTH, day__in=months).delete()
        if months:
            rows += _insert_months(months)
    seconds = time.perf_counter() - started
    # Never move the watermark back (a full refresh right after an incremental one).
    if state.watermark is None or new_watermark > state.watermark:
        state.watermark = new_watermark
    state.refreshed_at = now
    state.last_days = days
    state.last_seconds = seconds
    state.save()
    return RefreshResult(full=full, days=days, rows=rows, seconds=seconds, watermark=state.watermark)


# --- the recount ---------------------------------------------------------------------------


@dataclass
class Difference:
    level: int
    key: tuple[Any, ...]
    stored: dict[str, int] | None
    recounted: dict[str, int] | None
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        name = {0: "fine", 1: "coarse", 2: "month", 3: "day"}.get(self.level, str(self.level))
        key = "(" + ", ".join(str(k) for k in self.key) + ")"
        if self.stored is None:
            return f"{name} {key}: missing (recount {self._brief(self.recounted)})"
        if self.recounted is None:
            return f"{name} {key}: stored {self._brief(self.stored)} but no such cases"
        parts = ", ".join(f"{f}: {self.stored[f]} != {self.recounted[f]}" for f in self.fields[:6])
        return f"{name} {key}: {parts}"

    @staticmethod
    def _brief(row: dict[str, int] | None) -> str:
        return "" if row is None else f"received={row.get('received')} closed={row.get('closed')}"


@dataclass
class RecountResult:
    first: dt.date
    last: dt.date
    rows_checked: int
    dirty_days: list[dt.date]
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not self.differences


def aggregate_recount(first: dt.date, last: dt.date) -> RecountResult:
    """Recompute every aggregate row of the days ``first`` .. ``last`` from the cases and
    compare with the stored rows. Days changed since the watermark are skipped (the metrics
    read those from the cases anyway; they are listed in ``dirty_days``)."""
    state = aggregate_state()
    if state.watermark is None:
        return RecountResult(first, last, 0, [], [Difference(-1, ("never refreshed",), None, None)])
    dirty = sorted(d for d in dirty_days(state.watermark) if first <= d <= last)
    period = Q(received_at__gte=day_start(first), received_at__lt=day_start(last + dt.timedelta(days=1)))
    cases = counted_cases().filter(period)
    if dirty:
        cases = cases.exclude(received_q(dirty))
    differences: list[Difference] = []
    checked = 0
    coarse_recounted: dict[tuple[Any, ...], dict[str, int]] = {}
    for level in (CaseCohortAggregate.FINE, CaseCohortAggregate.COARSE):
        recounted: dict[tuple[Any, ...], dict[str, int]] = {}
        for row in level_rows(level, cases):
            key = tuple(row[k] for k in KEY_ALIASES)
            recounted[key] = {f: int(row[f] or 0) for f in ROW_FIELDS}
        stored_qs = CaseCohortAggregate.objects.filter(level=level, day__gte=first, day__lte=last).exclude(
            day__in=dirty
        )
        stored: dict[tuple[Any, ...], dict[str, int]] = {}
        for row in stored_qs.values(*KEY_FIELDS, *ROW_FIELDS):
            stored[tuple(row[k] for k in KEY_FIELDS)] = {f: int(row[f]) for f in ROW_FIELDS}
        checked += len(stored)
        for key in sorted(set(recounted) | set(stored), key=str):
            a, b = stored.get(key), recounted.get(key)
            if a is None or b is None:
                differences.append(Difference(level, key, a, b))
            elif a != b:
                differences.append(Difference(level, key, a, b, [f for f in ROW_FIELDS if a[f] != b[f]]))
        if level == CaseCohortAggregate.COARSE:
            coarse_recounted = recounted
    # Day rows: the recounted coarse rows summed over the channel.
    days_recounted: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, counts in coarse_recounted.items():
        target = days_recounted.setdefault((*key[:4], ""), dict.fromkeys(ROW_FIELDS, 0))
        for f in ROW_FIELDS:
            target[f] += counts[f]
    day_rows = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.DAY, day__gte=first, day__lte=last)
    stored_days = {
        tuple(row[k] for k in KEY_FIELDS): {f: int(row[f]) for f in ROW_FIELDS}
        for row in day_rows.exclude(day__in=dirty).values(*KEY_FIELDS, *ROW_FIELDS)
    }
    checked += len(stored_days)
    differences += _compare(CaseCohortAggregate.DAY, stored_days, days_recounted)
    # Month rows: the sum of the month's recounted coarse rows, for the months wholly inside
    # the period and without a dirty day.
    dirty_months = {month_start(d) for d in dirty}
    months: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, counts in coarse_recounted.items():
        m = month_start(key[0])
        if m < first or next_month(m) - dt.timedelta(days=1) > last or m in dirty_months:
            continue
        target = months.setdefault((m, *key[1:]), dict.fromkeys(ROW_FIELDS, 0))
        for f in ROW_FIELDS:
            target[f] += counts[f]
    stored_months: dict[tuple[Any, ...], dict[str, int]] = {}
    month_rows = CaseCohortAggregate.objects.filter(level=CaseCohortAggregate.MONTH, day__gte=first, day__lte=last)
    for row in month_rows.values(*KEY_FIELDS, *ROW_FIELDS):
        m = row["day"]
        if next_month(m) - dt.timedelta(days=1) > last or m in dirty_months:
            continue
        stored_months[tuple(row[k] for k in KEY_FIELDS)] = {f: int(row[f]) for f in ROW_FIELDS}
    checked += len(stored_months)
    differences += _compare(CaseCohortAggregate.MONTH, stored_months, months)
    return RecountResult(first, last, checked, dirty, differences)


def _compare(
    level: int, stored: dict[tuple[Any, ...], dict[str, int]], recounted: dict[tuple[Any, ...], dict[str, int]]
) -> list[Difference]:
    out: list[Difference] = []
    for key in sorted(set(recounted) | set(stored), key=str):
        a, b = stored.get(key), recounted.get(key)
        if a is None or b is None:
            out.append(Difference(level, key, a, b))
        elif a != b:
            out.append(Difference(level, key, a, b, [f for f in ROW_FIELDS if a[f] != b[f]]))
    return out
