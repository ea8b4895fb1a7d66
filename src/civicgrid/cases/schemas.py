"""API schemas of the case engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


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
