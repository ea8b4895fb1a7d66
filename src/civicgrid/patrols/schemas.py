from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class PatrolStartIn(Schema):
    client_id: str = Field("", max_length=64, description="客户端生成的唯一编号, 重试时返回同一巡查")
    started_at: dt.datetime | None = Field(None, description="离线开始时手机记录的开始时间")


class PointIn(Schema):
    t: Any = Field(..., description="记录时间: 毫秒时间戳或 ISO 8601")
    lon: Any
    lat: Any
    acc: Any = None


class PointsIn(Schema):
    points: list[PointIn]


class PointsOut(Schema):
    received: int
    accepted: int
    duplicates: int
    point_count: int


class FlagOut(Schema):
    code: str
    message: str


class PatrolOut(Schema):
    id: int
    duty: str
    status: str
    day: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime | None
    point_count: int
    distance_m: float
    coverage: float
    counts_toward_duty: bool
    flagged: bool
    flag_reasons: list[FlagOut]


class WindowOut(Schema):
    label: str
    met: bool


class DutyOut(Schema):
    day: dt.date
    required: int
    counted: int
    patrols: int
    windows: list[WindowOut]
    met: bool
    coverage_threshold: float
