"""Excel (openpyxl) for the indicators register: the import template and the reader.

The template lists, one row each, the indicators the downloading person may enter (code,
name, unit, period kind), with the period and value left to fill in, and a sheet that
explains the columns. The reader turns a sheet into plain rows keyed by column; validation
and writing are ``services.indicator_value_import`` (all rows checked, nothing written on
any error)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from civicgrid.common.excel import RowError, column_maps, iter_sheet_rows
from civicgrid.indicators.enums import PeriodKind
from civicgrid.indicators.models import Indicator
from civicgrid.indicators.periods import Period, example, periods_of_year

MAX_ROWS = 2000
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_REPORTED_ERRORS = 500

# (header, key, required, help)
COLUMNS: list[tuple[str, str, bool, str]] = [
    ("指标编码", "code", True, "必填, 与指标台账中的编码一致; 只能填报本部门负责的指标"),
    ("指标名称", "name", False, "仅供参考, 导入时不读取"),
    ("单位", "unit", False, "仅供参考, 导入时不读取"),
    ("统计期", "period", True, "月度 2026-05, 季度 2026-Q2, 半年 2026-H1, 年度 2026; 须与指标的统计周期一致"),
    ("数值", "value", True, "人、户、个等计数须为不小于0的整数; 比率(%)为 0-100, 最多两位小数"),
    ("说明", "note", False, "不超过200字, 如数据来源或更正原因"),
]
HEADERS, HEADER_TO_KEY, KEY_TO_HEADER, REQUIRED_HEADERS = column_maps(COLUMNS)


@dataclass
class ImportResult:
    ok: bool
    file_name: str = ""
    total_rows: int = 0
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    skipped: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "file_name": self.file_name,
            "total_rows": self.total_rows,
            "created": self.created,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors],
        }


def read_rows(file: IO[bytes] | str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {key: cell value}) for every non-empty data row of the first sheet.
    Raises ValidationError for an unreadable file, missing columns or too many rows."""
    return iter_sheet_rows(
        file,
        header_to_key=HEADER_TO_KEY,
        required_headers=REQUIRED_HEADERS,
        max_rows=MAX_ROWS,
        too_many_message=_("一次最多导入 %(n)d 行, 请拆分文件。") % {"n": MAX_ROWS},
    )


def _suggested_period(kind: str, today: dt.date) -> Period:
    """The last period of ``kind`` that has ended (or the current year for a yearly one)."""
    if kind == PeriodKind.YEAR:
        return periods_of_year(kind, today.year - 1)[0]
    periods = periods_of_year(kind, today.year) + periods_of_year(kind, today.year - 1)
    ended = [p for p in periods if p.end < today]
    return max(ended) if ended else periods_of_year(kind, today.year)[0]


def write_template(out: str | Path | IO[bytes], indicators: list[Indicator], *, today: dt.date | None = None) -> None:
    """The import template: one row per indicator the person may enter (period and value
    empty, a suggested period in the notes), and a sheet that explains every column."""
    today = today or dt.date.today()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "指标数值"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for indicator in indicators:
        sheet.append([indicator.code, indicator.name, indicator.get_unit_display(), None, None, None])
    for column, width in zip("ABCDEF", (22, 28, 8, 12, 14, 30), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        for cell in row:
            cell.number_format = "@"
    catalogue = workbook.create_sheet("可填报指标")
    catalogue.append(["指标编码", "指标名称", "单位", "统计周期", "统计期示例", "建议填报期", "汇总方式", "责任部门"])
    for cell in catalogue[1]:
        cell.font = Font(bold=True)
    for indicator in indicators:
        catalogue.append(
            [
                indicator.code,
                indicator.name,
                indicator.get_unit_display(),
                indicator.get_period_kind_display(),
                example(indicator.period_kind),
                _suggested_period(indicator.period_kind, today).key,
                indicator.get_aggregation_display(),
                indicator.department.name,
            ]
        )
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for header, _key, required, help_text in COLUMNS:
        notes.append([header, "是" if required else "否", help_text])
    notes.append([])
    notes.append(
        [
            "整体说明",
            "",
            "统计期和数值都未填写的行会被跳过。先校验全部行, 有任何错误则不写入并按行列给出错误报告; "
            "全部通过后在一个事务中写入。已有数值的统计期填入不同数值即为更正: 原数值保留在历史中, "
            f"新数值成为当前值。一次最多 {MAX_ROWS} 行。",
        ]
    )
    workbook.save(out)
