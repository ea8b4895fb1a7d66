"""/api/indicators: the register with progress (scoped, paginated), one indicator with its
series, its value history, and entering a value (owner department only)."""

from collections.abc import Sequence
from typing import Any, overload

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from civicgrid.accounts.permissions import Capability, require_capability
from civicgrid.indicators import selectors, services
from civicgrid.indicators.enums import ValueSource
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.schemas import EntryOut, IndicatorDetailOut, IndicatorOut, ValueIn, ValueOut

router = Router(tags=["indicators"])


class ListQuery(Schema):
    year: int | None = None
    department: int | None = None
    public_only: bool = False


class _Dicts(Sequence[dict[str, Any]]):
    """A ProgressList that hands out dicts (count, then slice: one page's progress)."""

    def __init__(self, inner: selectors.ProgressList) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [p.as_dict() for p in self.inner[index]]
        return self.inner[index].as_dict()


def _year(year: int | None) -> int:
    return year or timezone.localdate().year


def value_out(row: IndicatorValue) -> dict[str, Any]:
    user = row.entered_by
    return {
        "id": row.pk,
        "period": row.period_key,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "value": float(row.value),
        "note": row.note,
        "version": row.version,
        "is_current": row.is_current,
        "source": row.source,
        "supersedes_id": row.supersedes_id,
        "entered_by": str(user) if user else "",
        "entered_at": row.entered_at,
    }


@router.get("/", response=list[IndicatorOut], summary="指标台账: 年度目标、完成值与进度 (按辖区, 分页)")
@paginate(PageNumberPagination, page_size=50)
def list_indicators(request: HttpRequest, q: Query[ListQuery]) -> Any:
    require_capability(request.user, Capability.VIEW_INDICATORS)
    qs = selectors.indicator_list(request.user, department=q.department, public_only=q.public_only)
    return _Dicts(selectors.ProgressList(qs, _year(q.year)))


@router.get("/{indicator_id}", response=IndicatorDetailOut, summary="单个指标: 进度与各期数值")
def get_indicator(request: HttpRequest, indicator_id: int, year: int | None = None) -> dict[str, Any]:
    require_capability(request.user, Capability.VIEW_INDICATORS)
    indicator = selectors.indicator_get(request.user, indicator_id)
    progress = selectors.indicator_progress(indicator, _year(year))
    return {
        **progress.as_dict(),
        "description": indicator.description,
        "is_active": indicator.is_active,
        "can_enter": services.can_enter(request.user, indicator),
    }


@router.get("/{indicator_id}/values", response=list[ValueOut], summary="数值历史: 每期各版本, 含更正与填报人")
@paginate(PageNumberPagination, page_size=50)
def list_values(request: HttpRequest, indicator_id: int, year: int | None = None) -> Any:
    require_capability(request.user, Capability.VIEW_INDICATORS)
    indicator = selectors.indicator_get(request.user, indicator_id)
    return _ValueDicts(selectors.value_history(request.user, indicator, year=year))


class _ValueDicts:
    def __init__(self, qs: Any) -> None:
        self.qs = qs

    def __len__(self) -> int:
        return int(self.qs.count())

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [value_out(row) for row in self.qs[index]]


@router.post(
    "/{indicator_id}/values",
    response={201: EntryOut, 200: EntryOut},
    summary="填报或更正一期数值 (仅责任部门; 更正保留原版本)",
)
def enter_value(request: HttpRequest, indicator_id: int, body: ValueIn) -> Status[dict[str, Any]]:
    require_capability(request.user, Capability.ENTER_INDICATORS)
    indicator = selectors.indicator_get(request.user, indicator_id)
    result = services.indicator_value_enter(
        actor=request.user,
        indicator=indicator,
        period=body.period,
        value=body.value,
        note=body.note,
        expected_version=body.expected_version,
        source=ValueSource.API,
    )
    row = IndicatorValue.objects.select_related("entered_by").get(pk=result.value.pk)
    return Status(201 if result.changed else 200, {"outcome": result.outcome, "value": value_out(row)})
