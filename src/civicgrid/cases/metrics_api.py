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
from ninja.params.functions import Query

from civicgrid.cases.metrics import case_metrics, case_metrics_grouped
from civicgrid.cases.schemas import CaseMetricsOut, GroupedMetricsOut

router = Router(tags=["cases"])
GROUPED_MAX_LIMIT = 500  # groups a page (the default: one page holds a year of days)


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
    offset: int = Query(0, ge=0),
    limit: int = Query(GROUPED_MAX_LIMIT, ge=1, le=GROUPED_MAX_LIMIT),
) -> Any:
    """``group_by``: area (children of ``area_code`` or of your scope node; or ``level``:
    street/community/grid), department, category (top level), channel, day, week, month.
    ``count`` is the number of groups; ``items`` are groups ``offset`` to ``offset + limit``
    (a district has 500+ grids, a three-year period 1,096 days)."""
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
        "items": [r.as_dict() for r in rows[offset : offset + limit]],
    }
