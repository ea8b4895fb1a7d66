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


class TrackOut(Schema):
    """One patrol on a map: a simplified line ([lon, lat] pairs, at most a few hundred)."""

    id: int
    worker: str = Field(..., description="巡查人姓名")
    duty: str = Field(..., description="grid_chief / area_chief / road_chief")
    area_code: str
    status: str = Field(..., description="active / ended / auto_closed")
    state: str = Field(
        ..., description="地图着色: counted 计入任务 / flagged 待核查 / active 进行中 / not_counted 未计入"
    )
    started_at: dt.datetime
    ended_at: dt.datetime | None
    distance_m: float
    coverage: float
    counts_toward_duty: bool
    flagged: bool
    review_status: str
    coordinates: list[list[float]] = Field(..., description="[[经度, 纬度], ...] WGS 84")


class TracksOut(Schema):
    area: str
    day: dt.date
    count: int
    items: list[TrackOut]
    next_offset: int | None = Field(None, description="下一页的 offset; 为空表示已是最后一页")


class ReviewIn(Schema):
    decision: str = Field(..., description="approve 通过 / reject 不通过")
    note: str = Field("", max_length=500, description="核查意见 (不通过时必填)")


class ReviewOut(Schema):
    id: int
    review_status: str
    counts_toward_duty: bool
    reviewed_at: dt.datetime | None
    review_note: str


class ComplianceRowOut(Schema):
    worker_id: int
    username: str
    name: str
    duty: str
    bound_code: str
    required_per_day: int
    days_met: int
    days_due: int
    patrols: int
    counted: int
    distance_km: float
    days: list[dict[str, Any]]


class ComplianceOut(Schema):
    area: str
    name: str
    period: str
    start: dt.date
    end: dt.date
    workers: int
    days_met: int
    days_due: int
    met_rate: float | None
    missed_today: list[str] = Field(..., description="今日(截至目前)未达标的账号")
    missed_week: list[str] = Field(..., description="本周已过日期中有未达标的账号")
    count: int
    items: list[ComplianceRowOut]
