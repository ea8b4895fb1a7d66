"""Generation end to end through the service: the Excel opens in openpyxl with the sheets, values,
charts and hyperlinks; the PDF embeds the CJK font and its text carries the headings and figures."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from civicgrid.audit.models import AuditEvent
from civicgrid.dashboards.tests.conftest import TODAY
from civicgrid.reports.content import report_data
from civicgrid.reports.models import Report, ReportStatus
from civicgrid.reports.periods import parse_period
from civicgrid.reports.services import report_generate
from civicgrid.reports.tests.conftest import SITE

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(fx, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = report_generate(actor=fx.w.operator, area_code=fx.d.district.code, period="2026-02", today=TODAY)
    report.refresh_from_db()
    data = report_data(fx.w.operator, fx.d.district.code, parse_period("2026-02", today=TODAY))
    return report, data


def test_generation_runs_and_is_audited(made):
    report, data = made
    assert report.status == ReportStatus.DONE, report.message
    assert report.summary["received"] == data.metrics.received
    assert report.xlsx_size > 0 and report.pdf_size > 0
    assert AuditEvent.objects.filter(object_type="reports.report", object_id=str(report.pk), action="export").exists()


def test_excel_sheets_values_charts_links(made):
    report, data = made
    with report.xlsx_file.open("rb") as handle:
        wb = load_workbook(io.BytesIO(handle.read()))
    assert wb.sheetnames[0] == "概要"
    assert {"受理渠道", "案件类别 (大类)", "下级辖区考核排名", "承办部门", "按周受理与办结", "期末超期案件"} <= set(
        wb.sheetnames
    )
    summary = wb["概要"]
    figures = {row[0].value: row[1] for row in summary.iter_rows(min_row=8) if row[0].value}
    assert figures["受理量"].value == data.metrics.received > 0
    assert figures["办结量"].value == data.metrics.closed
    assert figures["办结率"].value == pytest.approx(data.metrics.closure_rate)
    assert figures["办结率"].number_format == "0.0%"
    link = figures["受理量"].hyperlink.target
    assert link.startswith(f"{SITE}/dashboards/cases/?metric=received&start=2026-02-01&end=2026-02-28")
    categories = wb["案件类别 (大类)"]
    assert [c.value for c in categories[1]][:3] == ["类别", "受理量", "办结量"]
    section = data.require("categories")
    assert [r[1].value for r in categories.iter_rows(min_row=2, max_row=1 + len(section.rows))] == [
        row[1].value for row in section.rows
    ]
    assert categories["B2"].hyperlink.target == section.rows[0][1].url
    assert len(categories._charts) == 1
    assert len(wb["按周受理与办结"]._charts) == 1
    overdue = wb["期末超期案件"]
    assert overdue["B1"].value == data.overdue_total
    listed = [r for r in overdue.iter_rows(min_row=3) if r[0].value]
    assert len(listed) == data.overdue_total
    assert listed[0][0].hyperlink.target.startswith(f"{SITE}/cases/")


def _fonts(reader: PdfReader) -> list[Any]:
    out = []
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", []):
                out.append(descendant.get_object()["/FontDescriptor"].get_object())
    return out


def test_pdf_embeds_the_cjk_font_and_carries_the_figures(made):
    report, data = made
    with report.pdf_file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    descriptors = _fonts(reader)
    assert descriptors
    assert all("/FontFile2" in d or "/FontFile3" in d for d in descriptors)
    assert any("CivicGridSansSC" in str(d["/FontName"]) for d in descriptors)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in (data.title, "主要指标", "受理渠道", "案件类别 (大类)", "下级辖区考核排名", "期末超期在办案件"):
        assert heading in text, heading
    assert f"{data.metrics.received:,}" in text
    assert data.require("channels").rows[0][0].value in text
    # every figure is a link to its list
    uris = {a.get_object()["/A"]["/URI"] for page in reader.pages for a in page.get("/Annots", [])}
    assert data.headline[0].cell.url in uris
    assert data.overdue_url in uris
    # the font was subset to the document's glyphs: far smaller than the vendored file
    assert report.pdf_size < 400_000


def test_bad_input_writes_nothing(fx):
    from django.core.exceptions import ValidationError

    from civicgrid.common.errors import NotFound

    with pytest.raises(ValidationError) as exc:
        report_generate(actor=fx.w.operator, area_code=fx.d.district.code, period="2026-13", today=TODAY)
    assert "period" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        report_generate(
            actor=fx.w.operator, area_code=fx.d.district.code, period="2026-02", want_xlsx=False, want_pdf=False
        )
    assert "formats" in exc.value.message_dict
    with pytest.raises(NotFound):
        report_generate(actor=fx.w.street_admin, area_code=fx.d.streets[1].code, period="2026-02", today=TODAY)
    assert not Report.objects.exists()
