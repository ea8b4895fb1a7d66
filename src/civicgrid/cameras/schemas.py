"""API schemas of the camera registry and its alerts."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from civicgrid.cameras.models import Camera


class AlertOut(Schema):
    alert_id: int
    delivery_id: str
    camera: str
    event_type: str
    outcome: str = Field(..., description="case_opened, merged, ignored_by_rule, no_rule, camera_disabled")
    case_id: int | None
    occurrences: int = Field(..., description="告警在案件上的累计次数 (未生成案件时为0)")
    replayed: bool = Field(..., description="同一 delivery_id 的重复投递: 返回首次结果, 不再写入")


class HeartbeatOut(Schema):
    accepted: int
    came_online: list[str]
    unknown: list[str]


class CameraOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    lon: float
    lat: float
    address: str
    area_code: str
    grid_id: int
    grid_name: str = Field(..., alias="grid.name")
    status: str = Field(..., description="登记状态: online, offline, disabled")
    shown_status: str = Field("", description="显示状态: 心跳超时的在线探头显示为 offline")
    last_heartbeat_at: datetime | None
    source_id: int | None

    @staticmethod
    def resolve_shown_status(obj: Camera) -> str:
        from civicgrid.cameras.selectors import shown_status

        return shown_status(obj)


class CameraAlertOut(Schema):
    id: int
    delivery_id: str
    camera_id: int
    camera_code: str = Field(..., alias="camera.code")
    event_type: str
    occurred_at: datetime
    received_at: datetime
    outcome: str
    case_id: int | None
    occurrence: int
    had_snapshot: bool
    area_code: str
