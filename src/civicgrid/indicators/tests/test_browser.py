"""The indicators pages in chromium: the register with progress bars (desktop and phone), the
indicator page with its ECharts chart and history, entering and correcting a value with
htmx (and a refused value), and the Excel import (valid and invalid). The clock is not
frozen here (the browser's own clock must agree with the session cookie): periods are
those of the current year."""

# mypy: disable-error-code="no-untyped-def"
from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from civicgrid.conftest import browser_login
from civicgrid.indicators import services
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.tests.conftest import build_world, xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = timezone.localdate().year
H1 = f"{YEAR}-H1"


@pytest.fixture
def live_world(district: Any) -> Any:
    world = build_world(district)
    services.indicator_target_set(actor=world.sysadmin, indicator=world.jobs, year=YEAR, target=8000)
    return world


def test_leader_reads_the_register_with_progress_bars(page: Any, phone_page: Any, live_world: Any) -> None:
    services.indicator_value_enter(actor=live_world.hr_handler, indicator=live_world.jobs, period=H1, value=4878)
    browser_login(page, live_world.leader.username)
    page.goto(f"{page.base_url}/indicators/?year={YEAR}")
    row = page.locator('tr[data-code="employment.urban_new"]')
    assert "61.0%" in (row.locator(".ind-percent").text_content() or "")
    width = row.locator(".ind-bar > span").evaluate("el => el.getBoundingClientRect().width")
    track = row.locator(".ind-bar").evaluate("el => el.getBoundingClientRect().width")
    assert 0.55 * track < width < 0.67 * track  # the bar is drawn at ~61%
    assert page.locator("#indicators-import").count() == 0
    row.locator("a.indicator-name").click()
    page.wait_for_selector("#indicator-chart[data-drawn='1'] canvas")
    assert page.locator("#history-table tr.current").count() == 1
    assert page.locator("#entry-form").count() == 0

    browser_login(phone_page, live_world.leader.username)
    phone_page.goto(f"{phone_page.base_url}/indicators/?year={YEAR}")
    phone_page.wait_for_selector("#indicator-table")
    assert phone_page.evaluate(NO_OVERFLOW)


def test_owner_department_enters_and_corrects_with_htmx(page: Any, live_world: Any) -> None:
    browser_login(page, live_world.hr_handler.username)
    page.goto(f"{page.base_url}/indicators/{live_world.jobs.pk}/?year={YEAR}")
    page.wait_for_selector("#indicator-chart[data-drawn='1']")
    page.select_option("#id_period", H1)
    page.fill("#id_value", "4800")
    page.click("#entry-submit")
    page.wait_for_selector("#entry-flash")
    assert "已填报" in (page.text_content("#entry-flash") or "")
    assert "4800" in (page.text_content("#kpi-value") or "")
    page.wait_for_selector("#indicator-chart[data-drawn='1'] canvas")  # redrawn after the swap

    # A refused value: the message shows in place, nothing is written.
    page.select_option("#id_period", H1)
    page.fill("#id_value", "-3")
    page.click("#entry-submit")
    page.wait_for_selector("#value-errors")
    assert "不能为负数" in (page.text_content("#value-errors") or "")

    # A correction: the chosen period's version travels with the form.
    page.select_option("#id_period", H1)
    page.fill("#id_value", "4878")
    page.fill("#id_note", "补报两个街道")
    page.click("#entry-submit")
    page.wait_for_function(
        "document.getElementById('entry-flash') && /已更正/.test(document.getElementById('entry-flash').textContent)"
    )
    assert page.locator("#history-table tr.superseded").count() == 1
    assert "补报两个街道" in (page.text_content("#history-table tr.current") or "")
    rows = list(IndicatorValue.objects.filter(indicator=live_world.jobs).order_by("version"))
    assert [(r.version, int(r.value), r.is_current) for r in rows] == [(1, 4800, False), (2, 4878, True)]


def test_owner_department_imports_excel(page: Any, live_world: Any) -> None:
    browser_login(page, live_world.hr_handler.username)
    page.goto(f"{page.base_url}/indicators/")
    page.click("#indicators-import")
    page.wait_for_selector("#import-form")
    bad = xlsx([["employment.urban_new", "", "", f"{YEAR}-01", 10, ""]]).getvalue()
    page.set_input_files("#id_file", files=[{"name": "bad.xlsx", "mimeType": XLSX, "buffer": bad}])
    page.click("#import-submit")
    page.wait_for_selector("#import-errors")
    assert "统计周期(半年)不符" in (page.text_content("#import-errors") or "")
    assert not IndicatorValue.objects.exists()

    good = xlsx([["employment.urban_new", "", "", H1, 4878, ""]]).getvalue()
    page.set_input_files("#id_file", files=[{"name": "good.xlsx", "mimeType": XLSX, "buffer": good}])
    page.click("#import-submit")
    page.wait_for_selector("#import-summary")
    assert "新填报 1" in (page.text_content("#import-summary") or "")
    assert IndicatorValue.objects.get().value == 4878
    with page.expect_download() as info:
        page.click("#import-template")
    assert info.value.suggested_filename.endswith(".xlsx")
