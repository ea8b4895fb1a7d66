"""The Excel report (openpyxl, write-only: rows stream to a temporary file, so the memory stays
flat whatever the number of overdue cases listed): a summary sheet, one sheet per section of
``report_data``, native Excel charts (trend, categories, channels) and the list of cases overdue
at the period's end. Every count and rate cell is a hyperlink to the list of the records it
counts (absolute address on ``SITE_URL``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.reports.conf import overdue_rows_max
from civicgrid.reports.content import Cell, ReportData, Section, absolute

NUMBER_FORMATS = {"int": "#,##0", "pct": "0.0%", "hours": "0.00", "num2": "0.00", "decimal": "#,##0.##"}
# Sheet names, translated when written (no link or chart refers to a sheet by its name: the
# hyperlinks are absolute web addresses and the charts reference their worksheet object).
SUMMARY_SHEET = gettext_noop("概要")
OVERDUE_SHEET = gettext_noop("期末超期案件")
CHART_ANCHOR_GAP = 2


def _sheet_title(title: str) -> str:
    for ch in "[]:*?/\\":
        title = title.replace(ch, " ")
    return title[:31]


class _Writer:
    def __init__(self) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        self.wb = Workbook(write_only=True)
        self.bold = Font(bold=True)
        self.title_font = Font(bold=True, size=14)
        self.link_font = Font(color="0563C1", underline="single")

    def cell(self, ws: Any, value: Any, *, fmt: str = "", url: str = "", bold: bool = False, font: Any = None) -> Any:
        from openpyxl.cell import WriteOnlyCell

        c = WriteOnlyCell(ws, value=value)
        if url:
            c.hyperlink = url
            c.font = self.link_font
        if bold:
            c.font = self.bold
        if font is not None:
            c.font = font
        if fmt in NUMBER_FORMATS:
            c.number_format = NUMBER_FORMATS[fmt]
        return c

    def value_cell(self, ws: Any, cell: Cell) -> Any:
        value = cell.value
        if value is None:
            return self.cell(ws, "-")
        if cell.fmt == "decimal":
            value = float(value)
        elif cell.fmt not in ("text",) and isinstance(value, str):
            return self.cell(ws, value)
        return self.cell(ws, value, fmt=cell.fmt, url=cell.url)


def _summary(w: _Writer, data: ReportData) -> None:
    ws = w.wb.create_sheet(_sheet_title(_(SUMMARY_SHEET)))
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 20
    ws.column_dimensions["D"].width = 60
    ws.append([w.cell(ws, data.title, font=w.title_font)])
    ws.append([_("辖区"), data.node.name, data.node.code])
    ws.append([_("报表周期"), data.period.label, f"{data.start.isoformat()} ~ {data.end.isoformat()}"])
    ws.append([_("生成时间"), timezone.localtime(data.generated_at).strftime("%Y-%m-%d %H:%M")])
    ws.append([_("口径"), _("受理时间在周期内的案件 (不含已合并、不予受理); 办结为截至生成时已结案。")])
    ws.append([])
    ws.append([w.cell(ws, h, bold=True) for h in (_("指标"), _("数值"), _("分子 / 分母"), _("明细"))])
    for fig in data.headline:
        ws.append(
            [
                fig.label,
                w.value_cell(ws, fig.cell),
                fig.note,
                w.cell(ws, _("查看明细"), url=fig.cell.url) if fig.cell.url else "",
            ]
        )


def _chart(ws: Any, section: Section, rows: int, columns: int) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference

    if not rows:
        return
    chart: Any = LineChart() if section.chart == "line" else BarChart()
    chart.title = section.title
    chart.height, chart.width = 8, 16
    data = Reference(ws, min_col=2, max_col=min(3, columns), min_row=1, max_row=rows + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=rows + 1))
    chart.y_axis.title = _("件数")
    ws.add_chart(chart, f"{chr(ord('A') + columns + 1)}2")


def _section(w: _Writer, section: Section) -> None:
    ws = w.wb.create_sheet(_sheet_title(section.title))
    for i in range(len(section.headers)):
        ws.column_dimensions[chr(ord("A") + i)].width = 28 if i < section.label_columns else 14
    ws.append([w.cell(ws, h, bold=True) for h in section.headers])
    for row in section.rows:
        ws.append([w.value_cell(ws, c) for c in row])
    if section.chart:
        _chart(ws, section, len(section.rows), len(section.headers))
    if section.note:
        ws.append([])
        ws.append([section.note])


def _overdue(w: _Writer, data: ReportData, progress: Callable[[int, int], None] | None) -> int:
    ws = w.wb.create_sheet(_sheet_title(_(OVERDUE_SHEET)))
    widths = (16, 40, 16, 18, 20, 18, 18, 12)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.append(
        [w.cell(ws, _("期末超期在办"), bold=True), w.cell(ws, data.overdue_total, fmt="int", url=data.overdue_url)]
    )
    headers = (_("受理编号"), _("标题"), _("类别"), _("网格"), _("承办"), _("受理时间"), _("超期时间"), _("状态"))
    ws.append([w.cell(ws, h, bold=True) for h in headers])
    limit = overdue_rows_max()
    written = 0
    qs = data.overdue_cases()[:limit]
    from django.urls import reverse

    for case in qs.iterator(chunk_size=2000):
        holder = case.current_department or case.current_unit or case.current_handler
        ws.append(
            [
                w.cell(ws, case.tracking_code, url=absolute(reverse("cases:detail", args=[case.pk]))),
                case.title,
                case.category.name,
                case.grid.name if case.grid else "",
                str(getattr(holder, "name", None) or holder or ""),
                timezone.localtime(case.received_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(case.overdue_at).strftime("%Y-%m-%d %H:%M") if case.overdue_at else "",
                str(case.get_status_display()),
            ]
        )
        written += 1
        if progress is not None and written % 5000 == 0:
            progress(written, data.overdue_total)
    if data.overdue_total > written:
        ws.append([_("仅列出前 %(n)d 件, 完整列表见上方链接。") % {"n": written}])
    return written


def write_excel(data: ReportData, path: Path, *, progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the report to ``path`` (.xlsx)."""
    w = _Writer()
    _summary(w, data)
    for section in data.sections:
        _section(w, section)
    _overdue(w, data, progress)
    w.wb.save(str(path))
    return path
