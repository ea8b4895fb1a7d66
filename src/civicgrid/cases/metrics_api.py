"""/api/cases/metrics: the closure metrics of ``civicgrid.cases.metrics.case_metrics`` (the
same numbers as the page /cases/metrics/ and its Excel export), and /api/cases/metrics/grouped:
the same counts and rates per area, department, category, channel or period
(``case_metrics_grouped``: rankings and the wall screen).

The response schemas are derived from the dataclasses ``CaseMetrics`` / ``GroupedMetrics``
(``schemas.schema_from_dataclass``): a new metric is one field in cases/metrics.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from civicgrid.cases.metrics import case_metrics, case_metrics_grouped
from civicgrid.cases.schemas import CaseMetricsOut, GroupedMetricsOut

router = Router(tags=["cases"])


@router.get("", response=CaseMetricsOut, summary="案件统计: 受理、办结、办结率、按时率、时长分位数、满意率等")
def metrics(
    request: HttpRequest,
    start: dt.date,
    end: dt.date,
    area_code: str | None = None,
    department_id: int | None = None,
    category: str | None = None,
) -> Any:
    """``start`` and ``end`` are dates (both inclusive, local time)."""
    return case_metrics(
        request.user, start=start, end=end, area_code=area_code, department_id=department_id, category_code=category
    )


class GroupedOut(Schema):
    group_by: str
    start: dt.date
    end: dt.date
    count: int
    items: list[GroupedMetricsOut]


@router.get(
    "/grouped",
    response=GroupedOut,
    summary="分组案件统计: 按辖区、部门、类别、渠道、日/周/月的受理、办结与各项比率",
)
def metrics_grouped(
    request: HttpRequest,
    start: dt.date,
    end: dt.date,
    group_by: str,
    area_code: str | None = None,
    department_id: int | None = None,
    category: str | None = None,
    level: str | None = None,
) -> Any:
    """``group_by``: area (children of ``area_code`` or of your scope node; or ``level``:
    street/community/grid), department, category (top level), channel, day, week, month.
    The list is bounded by the groups (at most one row per day of a three-year period), so
    it is not paginated."""
    rows = case_metrics_grouped(
        request.user,
        start=start,
        end=end,
        group_by=group_by,
        area_code=area_code,
        department_id=department_id,
        category_code=category,
        level=level,
    )
    return {
        "group_by": group_by,
        "start": start,
        "end": end,
        "count": len(rows),
        "items": [r.as_dict() for r in rows],
    }
