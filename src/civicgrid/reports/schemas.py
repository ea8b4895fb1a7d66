"""Schemas of /api/reports: a generated report (status, progress, files) and its figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class GenerateIn(Schema):
    area: str = Field(..., max_length=20, description="辖区编码 (区 / 街道 / 社区 / 网格), 须在当前用户辖区内")
    period: str = Field(..., max_length=20, description="报表周期: 月报 2026-05, 半年报 2026-H1 / 2026-H2, 年报 2026")
    want_xlsx: bool = Field(True, description="生成 Excel")
    want_pdf: bool = Field(True, description="生成 PDF")


class ProgressOut(Schema):
    done: int
    total: int
    percent: int = Field(..., description="0-100; 完成或失败为 100")


class FileOut(Schema):
    format: str = Field(..., description="xlsx / pdf")
    size: int = Field(..., description="字节数")
    url: str = Field(..., description="下载地址 (需登录; 每次下载记入审计)")


class ReportOut(Schema):
    id: int
    area_code: str
    area_name: str
    period_kind: str = Field(..., description="month 月报 / half 半年报 / year 年报")
    period_kind_label: str
    period: str = Field(..., description="报表周期, 如 2026-05、2026-H1、2026")
    period_label: str
    period_start: dt.date
    period_end: dt.date
    formats: list[str] = Field(..., description="要生成的格式: xlsx, pdf")
    status: str = Field(..., description="pending 排队中 / running 生成中 / done 已完成 / failed 失败")
    status_label: str
    message: str = Field("", description="失败原因")
    progress: ProgressOut
    summary: dict[str, Any] = Field(
        default_factory=dict, description="完成后的主要数字: received, closed, closure_rate, overdue, end"
    )
    requested_by: str = Field("", description="生成身份 (报表按其辖区与权限统计)")
    schedule_id: int | None = Field(None, description="定时报表生成时为其编号")
    schedule_name: str = ""
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    files: list[FileOut] = Field(default_factory=list, description="已生成的文件 (完成后)")
    status_url: str
    data_url: str | None = Field(None, description="报表数字的 JSON (完成后)")


class CellOut(Schema):
    value: int | float | str | None = Field(None, description="数值 (比率为 0-1 的小数) 或文字")
    format: str = Field(..., description="int / pct (0-1) / hours / num2 / decimal / text")
    display: str = Field(..., description="文件中显示的文字")
    url: str = Field("", description="该数字所统计记录的列表地址")


class FigureOut(CellOut):
    key: str
    label: str
    note: str = Field("", description="比率的分子 / 分母")


class SectionOut(Schema):
    key: str = Field(..., description="channels / categories / children / departments / trend / patrols / indicators")
    title: str
    headers: list[str]
    label_columns: int = Field(..., description="每行前几列是名称")
    chart: str = ""
    note: str = ""
    rows: list[list[CellOut]]


class NodeOut(Schema):
    code: str
    name: str
    level: str


class PeriodOut(Schema):
    kind: str
    kind_label: str
    key: str
    label: str
    start: dt.date
    end: dt.date


class OverdueOut(Schema):
    total: int = Field(..., description="期末超期在办案件数")
    url: str
    at: dt.datetime


class ReportDataOut(Schema):
    report_id: int
    title: str
    node: NodeOut
    period: PeriodOut
    start: dt.date
    end: dt.date = Field(..., description="统计截至日 (本期报表为生成当天)")
    generated_at: dt.datetime
    site_url: str
    headline: list[FigureOut]
    sections: list[SectionOut]
    overdue: OverdueOut
