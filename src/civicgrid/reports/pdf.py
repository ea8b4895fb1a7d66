"""The PDF report (fpdf2): A4, the vendored CJK font (``fonts/CivicGridSansSC-Regular.ttf``, a
GB 2312 subset of Noto Sans CJK SC, embedded as a TrueType ``FontFile2`` and subset again to the
glyphs the document uses), vector bar and line charts drawn with fpdf2's primitives, and a PDF
link on every figure to the list of the records it counts."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from civicgrid.reports.content import Cell, ReportData, Section, absolute

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILE = FONT_DIR / "CivicGridSansSC-Regular.ttf"
FONT = "cgsans"
OVERDUE_ROWS_PDF = 20
BLUE = (5, 99, 193)
INK = (33, 37, 41)
MUTED = (108, 117, 125)
BAR = (47, 111, 181)
BAR2 = (117, 181, 93)
GRID = (222, 226, 230)


class _Pdf(FPDF):
    def __init__(self, data: ReportData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.add_font(FONT, "", str(FONT_FILE))
        self.set_font(FONT, size=10)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(data.title)
        self.set_creator("CivicGrid")
        self.set_lang("zh-CN")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.data.node.name} · {self.data.period.label} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(*INK)


def _heading(pdf: _Pdf, text: str) -> None:
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, size=13)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*BAR)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
    pdf.set_font(FONT, size=9)


def _cell(pdf: _Pdf, width: float, cell: Cell, *, align: str = "R") -> None:
    if cell.url and cell.value is not None:
        pdf.set_text_color(*BLUE)
        pdf.cell(width, 6, cell.display, border=1, align=align, link=cell.url)
        pdf.set_text_color(*INK)
    else:
        pdf.cell(width, 6, cell.display, border=1, align=align)


def _fit(pdf: _Pdf, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 2:
        text = text[:-1]
    return text + "…"


def _table(pdf: _Pdf, section: Section) -> None:
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    n = len(section.headers)
    label_cols = section.label_columns
    label_width = min(70.0, usable * 0.42) if label_cols == 1 else usable * 0.5
    widths = [label_width / label_cols] * label_cols + [(usable - label_width) / (n - label_cols)] * (n - label_cols)
    pdf.set_fill_color(241, 243, 245)
    pdf.set_font(FONT, size=8)
    for h, width in zip(section.headers, widths, strict=True):
        pdf.cell(width, 6, _fit(pdf, h, width), border=1, align="C", fill=True)
    pdf.ln()
    for row in section.rows:
        if pdf.get_y() > pdf.h - 22:
            pdf.add_page()
        for i, (c, width) in enumerate(zip(row, widths, strict=True)):
            if i < label_cols:
                pdf.cell(width, 6, _fit(pdf, c.display, width), border=1, align="L")
            else:
                _cell(pdf, width, c)
        pdf.ln()
    if not section.rows:
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 6, _("(本期无数据)"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)
    if section.note:
        pdf.set_text_color(*MUTED)
        pdf.set_font(FONT, size=8)
        pdf.multi_cell(0, 5, section.note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=9)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(10 * magnitude)  # pragma: no cover


def _axes(pdf: _Pdf, x: float, y: float, w: float, h: float, top: float) -> None:
    pdf.set_draw_color(*GRID)
    pdf.set_font(FONT, size=7)
    pdf.set_text_color(*MUTED)
    for i in range(5):
        gy = y + h - h * i / 4
        pdf.line(x, gy, x + w, gy)
        pdf.set_xy(x - 14, gy - 2)
        pdf.cell(13, 4, f"{top * i / 4:,.0f}", align="R")
    pdf.set_text_color(*INK)


def _chart(pdf: _Pdf, section: Section) -> None:
    """A bar chart (received and closed per row) or a line chart (the trend), drawn with
    rectangles and lines; each bar/point links to the list it counts."""
    rows = section.rows[:14]
    if not rows:
        return
    if pdf.get_y() > pdf.h - 80:
        pdf.add_page()
    x0, y0 = pdf.l_margin + 16, pdf.get_y() + 4
    w, h = pdf.w - pdf.l_margin - pdf.r_margin - 20, 48
    received = [float(r[1].value or 0) for r in rows]
    closed = [float(r[2].value or 0) for r in rows]
    top = _nice_max(max(received + closed))
    _axes(pdf, x0, y0, w, h, top)
    slot = w / len(rows)
    pdf.set_font(FONT, size=6.5)
    points: list[tuple[float, float, float]] = []
    for i, row in enumerate(rows):
        cx = x0 + slot * i
        if section.chart == "line":
            points.append((cx + slot / 2, y0 + h - h * received[i] / top, y0 + h - h * closed[i] / top))
        else:
            bw = max(slot * 0.32, 0.5)
            for j, (value, colour) in enumerate(((received[i], BAR), (closed[i], BAR2))):
                bh = h * value / top
                bx = cx + slot * 0.15 + j * bw
                pdf.set_fill_color(*colour)
                if bh > 0:
                    pdf.rect(bx, y0 + h - bh, bw, bh, style="F")
                    link = row[1 + j].url
                    if link:
                        pdf.link(bx, y0 + h - bh, bw, bh, link)
        pdf.set_xy(cx, y0 + h + 1)
        pdf.cell(slot, 4, _fit(pdf, rows[i][0].display, slot), align="C")
    if section.chart == "line":
        for series, colour in ((1, BAR), (2, BAR2)):
            pdf.set_draw_color(*colour)
            pdf.set_line_width(0.6)
            pts = [(p[0], p[series]) for p in points]
            for (ax, ay), (bx, by) in itertools.pairwise(pts):
                pdf.line(ax, ay, bx, by)
            pdf.set_fill_color(*colour)
            for k, (px, py) in enumerate(pts):
                pdf.ellipse(px - 0.9, py - 0.9, 1.8, 1.8, style="F")
                link = rows[k][series].url
                if link:
                    pdf.link(px - 1.5, py - 1.5, 3, 3, link)
        pdf.set_line_width(0.2)
    # legend
    pdf.set_xy(x0, y0 + h + 6)
    for label, colour in ((_("受理量"), BAR), (_("办结量"), BAR2)):
        pdf.set_fill_color(*colour)
        pdf.rect(pdf.get_x(), pdf.get_y() + 1, 3, 3, style="F")
        pdf.set_x(pdf.get_x() + 4)
        pdf.cell(20, 5, label)
    pdf.set_y(y0 + h + 13)
    pdf.set_font(FONT, size=9)


def _summary(pdf: _Pdf, data: ReportData) -> None:
    pdf.set_font(FONT, size=18)
    pdf.multi_cell(0, 10, data.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    line = _("辖区: %(area)s (%(code)s)  统计周期: %(start)s 至 %(end)s  生成时间: %(at)s") % {
        "area": data.node.name,
        "code": data.node.code,
        "start": data.start.isoformat(),
        "end": data.end.isoformat(),
        "at": timezone.localtime(data.generated_at).strftime("%Y-%m-%d %H:%M"),
    }
    pdf.multi_cell(0, 5, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    _heading(pdf, _("主要指标"))
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    per_row = 4
    box_w, box_h = usable / per_row, 16
    for i, fig in enumerate(data.headline):
        col = i % per_row
        if col == 0:
            y = pdf.get_y() if i == 0 else pdf.get_y() + box_h
            pdf.set_y(y)
        x = pdf.l_margin + col * box_w
        y = pdf.get_y()
        pdf.set_draw_color(*GRID)
        pdf.rect(x, y, box_w - 2, box_h - 2)
        pdf.set_xy(x + 1, y + 1)
        pdf.set_font(FONT, size=7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(box_w - 4, 4, _fit(pdf, fig.label, box_w - 4))
        pdf.set_xy(x + 1, y + 5)
        pdf.set_font(FONT, size=13)
        pdf.set_text_color(*(BLUE if fig.cell.url else INK))
        pdf.cell(box_w - 4, 7, fig.cell.display, link=fig.cell.url or "")
        pdf.set_text_color(*INK)
        pdf.set_y(y)
    pdf.set_y(pdf.get_y() + box_h + 2)
    pdf.set_font(FONT, size=8)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        0,
        5,
        _(
            "口径: 受理时间在周期内的案件 (不含已合并、不予受理); 办结为截至生成时已结案; "
            "比率的分子/分母见 Excel 报表。蓝色数字可点击查看明细。"
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*INK)


def _overdue(pdf: _Pdf, data: ReportData) -> None:
    _heading(pdf, _("期末超期在办案件"))
    pdf.set_text_color(*BLUE)
    pdf.cell(
        0,
        6,
        _("共 %(n)d 件 (点击查看全部)") % {"n": data.overdue_total},
        link=data.overdue_url,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*INK)
    from django.urls import reverse

    rows = list(data.overdue_cases()[:OVERDUE_ROWS_PDF])
    if not rows:
        return
    section = Section(
        "overdue",
        "",
        [_("受理编号"), _("标题"), _("类别"), _("超期时间")],
        [
            [
                Cell(c.tracking_code, "text"),
                Cell(c.title, "text"),
                Cell(c.category.name, "text"),
                Cell(timezone.localtime(c.overdue_at).strftime("%Y-%m-%d %H:%M") if c.overdue_at else "", "text"),
            ]
            for c in rows
        ],
        label_columns=4,
    )
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    widths = [30.0, usable - 30 - 40 - 34, 40.0, 34.0]
    pdf.set_font(FONT, size=8)
    pdf.set_fill_color(241, 243, 245)
    for head, width in zip(section.headers, widths, strict=True):
        pdf.cell(width, 6, head, border=1, align="C", fill=True)
    pdf.ln()
    for case, row in zip(rows, section.rows, strict=True):
        url = absolute(reverse("cases:detail", args=[case.pk]))
        for i, (c, width) in enumerate(zip(row, widths, strict=True)):
            if i == 0:
                pdf.set_text_color(*BLUE)
                pdf.cell(width, 6, c.display, border=1, link=url)
                pdf.set_text_color(*INK)
            else:
                pdf.cell(width, 6, _fit(pdf, c.display, width), border=1)
        pdf.ln()
    pdf.set_font(FONT, size=9)


def write_pdf(data: ReportData, path: Path) -> Path:
    pdf = _Pdf(data)
    pdf.add_page()
    _summary(pdf, data)
    for section in data.sections:
        _heading(pdf, section.title)
        if section.chart:
            _chart(pdf, section)
        _table(pdf, section)
    _overdue(pdf, data)
    pdf.output(str(path))
    return path
