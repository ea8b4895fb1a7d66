"""Reads of the indicators register, always through the caller's territorial scope.

``indicator_progress(indicator, year)`` and ``indicators_for_dashboard(user, year)`` are the
figures the wall screen (dashboards app) and reports read: the year's target, the year's
figure (the sum of the periods for a flow, the latest period for a stock or a rate), the
percentage of the target, the share of the year reported (序时进度) and the per-period
series. ``progress_for`` computes them for many indicators in two queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, overload

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import scope_queryset
from civicgrid.common.errors import NotFound
from civicgrid.indicators.enums import Aggregation
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.indicators.periods import Period, parse_any, periods_of_year

ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class PeriodPoint:
    period: Period
    value: Decimal | None  # the current value entered for the period
    cumulative: Decimal | None  # the year's figure at this period (None when nothing entered)
    version: int  # the current version (0: nothing entered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "label": self.period.short_label,
            "value": _num(self.value),
            "cumulative": _num(self.cumulative),
            "version": self.version,
        }


@dataclass
class IndicatorProgress:
    indicator: Indicator
    year: int
    target: Decimal | None
    value: Decimal | None  # the year's figure compared with the target
    latest_period: Period | None
    percent: Decimal | None  # value / target, one decimal
    expected_percent: Decimal | None  # for a flow: the share of the year reported
    series: list[PeriodPoint] = field(default_factory=list)

    @property
    def bar_percent(self) -> Decimal:
        """The progress bar's width, 0-100."""
        return min(self.percent or Decimal(0), Decimal(100))

    @property
    def on_track(self) -> bool | None:
        """A flow is on track when it is at least at the share of the year reported; a stock
        or rate when it has reached the target. None without a target or a value."""
        if self.percent is None:
            return None
        if self.expected_percent is not None:
            return self.percent >= self.expected_percent
        return self.percent >= 100

    def as_dict(self) -> dict[str, Any]:
        ind = self.indicator
        return {
            "id": ind.pk,
            "code": ind.code,
            "name": ind.name,
            "unit": ind.unit,
            "period_kind": ind.period_kind,
            "aggregation": ind.aggregation,
            "department": ind.department.name,
            "area_code": ind.area_code,
            "is_public": ind.is_public,
            "year": self.year,
            "target": _num(self.target),
            "value": _num(self.value),
            "latest_period": self.latest_period.key if self.latest_period else None,
            "latest_period_label": self.latest_period.label if self.latest_period else None,
            "percent": _num(self.percent),
            "expected_percent": _num(self.expected_percent),
            "on_track": self.on_track,
            "series": [p.as_dict() for p in self.series],
        }


def _num(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _percent(value: Decimal | None, target: Decimal | None) -> Decimal | None:
    if value is None or not target:
        return None
    return (value * 100 / target).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _progress(
    indicator: Indicator, year: int, target: Decimal | None, current: dict[str, tuple[Decimal, int]]
) -> IndicatorProgress:
    points: list[PeriodPoint] = []
    running: Decimal | None = None
    latest: Period | None = None
    latest_value: Decimal | None = None
    is_sum = indicator.aggregation == Aggregation.SUM
    for period in periods_of_year(indicator.period_kind, year):
        entry = current.get(period.key)
        value, version = (entry[0], entry[1]) if entry else (None, 0)
        if value is not None:
            latest, latest_value = period, value
            running = (running or Decimal(0)) + value
        figure = None if value is None else (running if is_sum else value)
        points.append(PeriodPoint(period, value, figure, version))
    year_value = running if is_sum else latest_value
    expected = None
    if is_sum and latest is not None:
        expected = (Decimal(str(latest.share_of_year)) * 100).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    return IndicatorProgress(
        indicator=indicator,
        year=year,
        target=target,
        value=year_value,
        latest_period=latest,
        percent=_percent(year_value, target),
        expected_percent=expected,
        series=points,
    )


def progress_for(indicators: Iterable[Indicator], year: int) -> list[IndicatorProgress]:
    """The progress of each indicator for ``year``, in the given order: two queries."""
    items = list(indicators)
    ids = [i.pk for i in items]
    if not ids:
        return []
    targets = dict(
        IndicatorTarget.objects.filter(indicator_id__in=ids, year=year).values_list("indicator_id", "target")
    )
    current: dict[int, dict[str, tuple[Decimal, int]]] = defaultdict(dict)
    for ind_id, key, value, version in IndicatorValue.objects.filter(
        indicator_id__in=ids, year=year, is_current=True
    ).values_list("indicator_id", "period_key", "value", "version"):
        current[ind_id][key] = (value, version)
    return [_progress(i, year, targets.get(i.pk), current.get(i.pk, {})) for i in items]


def indicator_progress(indicator: Indicator, year: int) -> IndicatorProgress:
    """Target, year's figure, percentage and per-period series of one indicator (already
    obtained through a scoped selector)."""
    return progress_for([indicator], year)[0]


# --- Lists -------------------------------------------------------------------------------


def _base() -> QuerySet[Indicator]:
    return Indicator.objects.select_related("department", "area")


def indicator_list(
    user: Any, *, department: int | None = None, include_inactive: bool = False, public_only: bool = False
) -> QuerySet[Indicator]:
    """The indicators ``user`` may read (scoped), in register order."""
    if not has_capability(user, Capability.VIEW_INDICATORS):
        return Indicator.objects.none()
    qs = scope_queryset(user, _base())
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if department:
        qs = qs.filter(department_id=department)
    if public_only:
        qs = qs.filter(is_public=True)
    return qs.order_by("sort_order", "code")


def indicator_get(user: Any, pk: int) -> Indicator:
    indicator = indicator_list(user, include_inactive=True).filter(pk=pk).first()
    if indicator is None:
        raise NotFound(_("指标不存在或不在您的辖区范围内。"))
    return indicator


def indicators_for_dashboard(user: Any, year: int, *, public_only: bool = False) -> list[IndicatorProgress]:
    """Every active indicator ``user`` may read with its progress for ``year`` (register order)."""
    return progress_for(indicator_list(user, public_only=public_only), year)


def public_indicators_for_dashboard(year: int, *, area_code: str = "") -> list[IndicatorProgress]:
    """The indicators marked public (for a public screen or a printed report): no user, no
    scope, only ``is_public`` and active ones, optionally under one territory node."""
    from civicgrid.accounts.scope import code_range_q

    qs = _base().filter(is_active=True, is_public=True).filter(code_range_q("area_code", area_code))
    return progress_for(qs.order_by("sort_order", "code"), year)


class ProgressList(Sequence[IndicatorProgress]):
    """A lazily paginated list of progress rows over a queryset of indicators: slicing
    computes the progress of that slice only (Django's Paginator and ninja's pagination
    both count, then slice)."""

    def __init__(self, queryset: QuerySet[Indicator], year: int) -> None:
        self.queryset = queryset
        self.year = year
        self._count: int | None = None

    def count(self) -> int:  # type: ignore[override]
        if self._count is None:
            self._count = self.queryset.count()
        return self._count

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> IndicatorProgress: ...

    @overload
    def __getitem__(self, index: slice) -> list[IndicatorProgress]: ...

    def __getitem__(self, index: int | slice) -> IndicatorProgress | list[IndicatorProgress]:
        if isinstance(index, slice):
            return progress_for(self.queryset[index], self.year)
        return progress_for(self.queryset[index : index + 1], self.year)[0]

    def __iter__(self) -> Iterator[IndicatorProgress]:
        return iter(progress_for(self.queryset, self.year))


def value_history(user: Any, indicator: Indicator, *, year: int | None = None) -> QuerySet[IndicatorValue]:
    """Every version of every period's value (newest period first, then newest version),
    with who entered it: corrections stay visible."""
    qs = scope_queryset(user, IndicatorValue.objects.filter(indicator=indicator)).select_related("entered_by")
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-period_start", "-version")


def enterable_indicators(user: Any) -> QuerySet[Indicator]:
    """The active indicators ``user`` may enter values for: owned by one of their
    departments, inside their scope."""
    if not has_capability(user, Capability.ENTER_INDICATORS):
        return Indicator.objects.none()
    return (
        scope_queryset(user, _base())
        .filter(is_active=True, department__in=Department.objects.filter(members=user))
        .order_by("sort_order", "code")
    )


def department_choices(user: Any) -> list[tuple[int, str]]:
    """Departments owning an indicator ``user`` can read (for the list filter)."""
    ids = indicator_list(user).values("department_id")
    return list(Department.objects.filter(pk__in=ids).order_by("code").values_list("pk", "name"))


def period_of(value: str) -> Period:
    return parse_any(value)
