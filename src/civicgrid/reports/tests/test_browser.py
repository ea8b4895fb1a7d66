"""Browser: generate a report from the page, watch its progress (htmx polling), download both files."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.seed import seed_default_scheme
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.dashboards.tests.conftest import build_fixture
from civicgrid.reports.models import Report
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(district: SampleDistrict, settings: Any) -> World:
    settings.REPORTS_RUNNER = "thread"  # as in the embedded server: the page polls the job
    seed_categories(Category)  # a transactional test starts from an emptied database
    seed_default_scheme(AssessmentScheme)
    w = build_world(district)
    build_fixture(w, now=timezone.now())
    return w


def test_generate_see_progress_download(page: Any, world: World, tmp_path: Any) -> None:
    browser_login(page, world.street_admin.username)
    page.goto(f"{page.base_url}/reports/")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # a bad period: the Chinese message, nothing queued
    page.select_option("#id_area", world.d.streets[0].code)
    page.fill("#id_period", "2026-13")
    page.click("#generate-submit")
    assert "报表周期格式不正确" in page.inner_text("#period-errors")
    assert Report.objects.count() == 0
    # this year, from the quick choices
    year = str(timezone.localdate().year)
    page.click(f'#quick-periods a[data-period="{year}"]')
    assert page.input_value("#id_period") == year
    page.click("#generate-submit")
    page.wait_for_selector("#report-status")
    assert page.locator("#report-progress").count() == 1
    page.wait_for_selector('#report-status[data-status="done"]', timeout=60000)
    assert page.locator("#report-progress").get_attribute("value") == "100"
    report = Report.objects.get()
    assert report.area_code == world.d.streets[0].code
    assert f"受理 {report.summary['received']} 件" in page.inner_text("#report-summary")
    with page.expect_download() as info:
        page.click("#download-xlsx")
    path = tmp_path / "r.xlsx"
    info.value.save_as(path)
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "概要"
    with page.expect_download() as info:
        page.click("#download-pdf")
    pdf = tmp_path / "r.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # the list shows it with its links
    page.goto(f"{page.base_url}/reports/")
    row = page.locator(".report-row").first
    assert row.get_attribute("data-status") == "done"
    assert row.locator("a", has_text="PDF").count() == 1
    assert not errors
