"""/api/cases/metrics: the closure metrics of ``civicgrid.cases.metrics.case_metrics`` (the
same numbers as the page /cases/metrics/ and its Excel export)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from civicgrid.cases.metrics import case_metrics

router = Router(tags=["cases"])


class CaseMetricsOut(Schema):
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
