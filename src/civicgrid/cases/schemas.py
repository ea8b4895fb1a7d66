"""API schemas of the case engine."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Any

import pydantic
from ninja import Field, Schema

from civicgrid.cases.metrics import CaseMetrics, GroupedMetrics


class CaseIntakeIn(Schema):
    title: str = Field(..., max_length=100)
    description: str = Field(..., max_length=2000)
    category: str = Field(..., description="类别编码或id")
    channel: str = "api"
    priority: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    auto_register: bool | None = None


class SubmissionOut(Schema):
    """An accepted machine submission (202): the case is created moments later; poll
    ``GET /api/cases/submissions/{token}`` (or replay the Idempotency-Key) for its id."""

    token: str
    status: str = Field(..., description="pending 待生成案件 / processed 已生成案件 / failed 生成失败")
    case_id: int | None = None
    tracking_code: str | None = None
    error: str = ""


class CaseOut(Schema):
    id: int
    tracking_code: str
    title: str
    description: str
    category_id: int
    category_name: str = Field(..., alias="category.name")
    priority: str
    channel: str
    status: str
    version: int
    lon: float | None
    lat: float | None
    address: str
    area_code: str
    grid_id: int | None
    current_tier: str
    current_handler_id: int | None
    current_department_id: int | None
    current_unit_id: int | None
    in_manual_queue: bool
    reporter_phone_masked: str
    outcome: str
    satisfaction: int | None
    resolved: bool | None
    received_at: datetime
    dispatched_at: datetime | None
    acknowledged_at: datetime | None
    reported_at: datetime | None
    closed_at: datetime | None
    acknowledge_due: datetime | None
    handle_due: datetime | None
    close_due: datetime | None
    overdue_at: datetime | None
    reopen_count: int
    escalation_count: int


class CaseEventOut(Schema):
    id: int
    action: str
    from_status: str
    to_status: str
    actor_label: str
    note: str
    data: dict[str, Any]
    occurred_at: datetime


class TransitionIn(Schema):
    action: str
    expected_version: int
    note: str = ""
    reason_code: str | None = None
    outcome: str | None = None
    satisfaction: int | None = None
    resolved: bool | None = None
    hours: int | None = None
    department: int | None = None
    handler: int | None = None
    unit: int | None = None
    grid_chief: bool = False
    duplicate_of: int | None = None
    assist_override: str | None = Field(
        None, max_length=2000, description="report_back with open co-handling parts: the reason (cancels them)"
    )

    def payload(self) -> dict[str, Any]:
        data = self.dict(exclude={"action", "expected_version", "note"})
        return {k: v for k, v in data.items() if v is not None and v is not False}


class ActionsOut(Schema):
    status: str
    version: int
    actions: list[str]


class PatrolReportIn(Schema):
    """A patrol report (巡查上报) from a grid member in the field."""

    title: str = Field(..., max_length=100)
    description: str = Field(..., max_length=2000)
    category: str = Field(..., description="类别编码或id")
    priority: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""


class WebhookOut(Schema):
    case_id: int
    delivery_id: str
    replayed: bool


class AssistRequestIn(Schema):
    """The lead asks departments to co-handle a case (联合处置)."""

    department_ids: list[int] = Field(..., description="协办单位(部门id), 最多10个")
    note: str = Field(..., max_length=2000, description="协办事项")
    expected_version: int = Field(..., description="案件的当前版本(乐观锁)")


class AssistActionIn(Schema):
    """One action on a co-handling part: acknowledge, report, decline (co-handler) or cancel (lead)."""

    action: str = Field(..., description="acknowledge | report | decline | cancel")
    expected_version: int = Field(..., description="协办任务的当前版本(乐观锁)")
    note: str = Field("", max_length=2000, description="协办结果 / 拒绝原因 / 撤回原因")


class CaseAssistOut(Schema):
    id: int
    case_id: int
    case_tracking_code: str = Field(..., alias="case.tracking_code")
    case_title: str = Field(..., alias="case.title")
    department_id: int
    department_name: str = Field(..., alias="department.name")
    status: str
    status_label: str = Field(..., alias="get_status_display")
    version: int
    note: str
    response: str
    cancel_reason: str
    requested_by: str | None = None
    requested_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    responded_at: datetime | None
    cancelled_at: datetime | None

    @staticmethod
    def resolve_requested_by(obj: Any) -> str | None:
        return str(obj.requested_by) if obj.requested_by_id else None


# --- metrics: the schemas are derived from the dataclasses of cases/metrics.py ------------------


def schema_from_dataclass(
    name: str,
    source: type[Any],
    *,
    exclude: tuple[str, ...] = (),
    extra: dict[str, tuple[Any, str]] | None = None,
) -> type[Schema]:
    """A ninja ``Schema`` named ``name`` with the fields of the dataclass ``source`` (same
    names, same types, same order; all required), so a metric is added in one place.

    ``exclude``: dataclass fields left out. ``extra``: ``{field: (type, after)}`` for values
    that are not dataclass fields (a property that ``as_dict`` adds), placed after ``after``."""
    if not dataclasses.is_dataclass(source):
        raise TypeError(f"{source!r} is not a dataclass")
    hints = typing.get_type_hints(source)
    after: dict[str, list[tuple[str, Any]]] = {}
    for field_name, (annotation, anchor) in (extra or {}).items():
        after.setdefault(anchor, []).append((field_name, annotation))
    definitions: dict[str, Any] = {}
    for f in dataclasses.fields(source):
        if f.name in exclude:
            continue
        definitions[f.name] = (hints[f.name], ...)
        for field_name, annotation in after.pop(f.name, []):
            definitions[field_name] = (annotation, ...)
    if after:
        raise ValueError(f"unknown anchor fields for {name}: {sorted(after)}")
    model: type[Schema] = pydantic.create_model(name, __base__=Schema, __module__=__name__, **definitions)
    return model


# ``CaseMetrics`` minus ``extra`` (``as_dict`` drops it); ``GroupedMetrics`` plus its ``open``
# property (``as_dict`` adds it after ``closed``).
# (For the type checker they are plain ``Schema`` classes: it cannot follow a class built at run time.)
if typing.TYPE_CHECKING:
    CaseMetricsOut = Schema
    GroupedMetricsOut = Schema
else:
    CaseMetricsOut = schema_from_dataclass("CaseMetricsOut", CaseMetrics, exclude=("extra",))
    GroupedMetricsOut = schema_from_dataclass("GroupedMetricsOut", GroupedMetrics, extra={"open": (int, "closed")})
