from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class PeriodPointOut(Schema):
    period: str = Field(..., description="统计期, 如 2026-H1、2026-Q2、2026-05、2026")
    label: str
    value: float | None = Field(None, description="该期当前数值")
    cumulative: float | None = Field(None, description="截至该期的年度数值(累计型为累计数, 其他为该期数值)")
    version: int = Field(0, description="该期当前版本号, 0 表示未填报")


class IndicatorOut(Schema):
    id: int
    code: str
    name: str
    unit: str
    period_kind: str = Field(..., description="month / quarter / half / year")
    aggregation: str = Field(..., description="sum 全年累计 / latest 取最新值 / rate 比率")
    department: str = Field(..., description="责任部门")
    area_code: str
    is_public: bool
    year: int
    target: float | None = Field(None, description="年度目标")
    value: float | None = Field(None, description="年度数值: 累计型为各期之和, 其他为最新一期")
    latest_period: str | None = None
    latest_period_label: str | None = None
    percent: float | None = Field(None, description="完成目标的百分比")
    expected_percent: float | None = Field(None, description="累计型: 已报告期占全年的百分比(序时进度)")
    on_track: bool | None = None


class IndicatorDetailOut(IndicatorOut):
    description: str
    is_active: bool
    can_enter: bool = Field(..., description="当前用户能否填报该指标")
    series: list[PeriodPointOut]


class ValueOut(Schema):
    id: int
    period: str
    period_start: dt.date
    period_end: dt.date
    value: float
    note: str
    version: int
    is_current: bool
    source: str
    supersedes_id: int | None = None
    entered_by: str = Field("", description="填报人")
    entered_at: dt.datetime


class ValueIn(Schema):
    period: str = Field(..., max_length=20, description="统计期, 须与指标的统计周期一致")
    value: Any = Field(..., description="数值: 计数为整数, 比率为 0-100")
    note: str = Field("", max_length=200)
    expected_version: int | None = Field(
        None, description="填报人看到的当前版本号(0 表示尚无数值); 与当前不符时返回 409"
    )


class EntryOut(Schema):
    outcome: str = Field(..., description="created 新填报 / corrected 更正 / unchanged 与当前值相同")
    value: ValueOut
