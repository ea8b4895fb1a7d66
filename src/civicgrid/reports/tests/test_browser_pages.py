"""Browser tests for the report pages no other browser test opens (docs/browser-tests.md): the
list of cases overdue at a period's end (the link printed in a report's files) and the
schedule pages (定时报表: create from the list, edit), and the reports' admin pages."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.reports import services
from civicgrid.reports.models import ReportSchedule
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(district: SampleDistrict) -> World:
    seed_categories(Category)  # a transactional test starts from an emptied database
    return build_world(district)


def test_overdue_list_at_a_period_end(page: Any, world: World) -> None:
    d = world.d
    late = world.intake(title="楼道堆物堵塞消防通道")
    world.intake(title="按时办理的案件")
    elsewhere = world.intake(title="别的街道的超期案件", grid=d.grids[-1])
    marked = timezone.now() - dt.timedelta(hours=2)
    Case.objects.filter(pk__in=[late.pk, elsewhere.pk]).update(overdue_at=marked)  # as the sweep marks it

    errors = js_errors(page)
    browser_login(page, world.street_admin.username)
    query = urlencode({"area": d.streets[0].code, "end": timezone.localdate().isoformat()})
    page.goto(f"{page.base_url}{reverse('reports:overdue')}?{query}")
    assert (page.text_content("main h1") or "").strip() == "期末超期在办案件"
    assert d.streets[0].name in (page.text_content("main .card") or "")
    assert page.get_attribute("#overdue-count", "data-count") == "1"
    rows = page.locator("#overdue-table tr.overdue-row")
    assert rows.count() == 1
    assert late.title in (rows.first.text_content() or "")
    with page.expect_navigation():
        rows.first.locator(f"text={late.tracking_code}").click()
    assert page.url.endswith(f"/cases/{late.pk}/")

    # A malformed date: the Chinese message, no list.
    page.goto(f"{page.base_url}{reverse('reports:overdue')}?area={d.streets[0].code}&end=2026-02-30")
    assert "日期格式应为 YYYY-MM-DD" in (page.text_content("#overdue-error") or "")
    assert page.locator("#overdue-table").count() == 0
    assert errors == []


def test_schedules_create_and_edit(page: Any, world: World) -> None:
    d = world.d
    errors = js_errors(page)
    browser_login(page, world.street_admin.username)
    page.goto(f"{page.base_url}/reports/")
    with page.expect_navigation():
        page.click("#schedules-link")
    assert page.url.endswith("/reports/schedules/")
    assert (page.text_content("main h1") or "").strip() == "定时报表"
    assert "暂无定时报表" in (page.text_content("#schedule-table") or "")

    page.fill("#id_name", "清泉街社区月报")
    page.select_option("#id_area", str(d.communities[0].pk))
    page.select_option("#id_period_kind", "month")
    page.select_option("#id_recipients", [str(world.worker.pk)])
    with page.expect_navigation():
        page.click("#schedule-submit")
    assert "定时报表已创建" in (page.text_content("main") or "")
    row = page.locator("#schedule-table tr.schedule-row")
    assert row.count() == 1
    assert "清泉街社区月报" in (row.first.text_content() or "")
    assert world.worker.username in (row.first.text_content() or "")
    schedule = ReportSchedule.objects.get()
    assert schedule.area_id == d.communities[0].pk and schedule.owner_id == world.street_admin.pk

    with page.expect_navigation():
        row.first.locator("a", has_text="清泉街社区月报").click()
    assert page.url.endswith(f"/reports/schedules/{schedule.pk}/")
    assert (page.text_content("main h1") or "").strip() == "清泉街社区月报"
    page.fill("#id_name", "清泉街社区半年报")
    page.select_option("#id_period_kind", "half")
    with page.expect_navigation():
        page.click("#schedule-submit")
    assert page.url.endswith("/reports/schedules/")
    assert "定时报表已保存" in (page.text_content("main") or "")
    schedule.refresh_from_db()
    assert (schedule.name, schedule.period_kind) == ("清泉街社区半年报", "half")
    assert errors == []


def test_reports_admin_pages(page: Any, world: World) -> None:
    d = world.d
    services.report_schedule_create(
        actor=world.street_admin,
        data={
            "name": "兴隆巷街道月报",
            "area": d.streets[0],
            "period_kind": "month",
            "want_xlsx": True,
            "want_pdf": False,
            "is_active": True,
        },
        recipients=[],
    )
    services.report_generate(
        actor=world.street_admin,
        area_code=d.streets[0].code,
        period=str(timezone.localdate().year),
        want_xlsx=True,
        want_pdf=False,
    )
    errors = js_errors(page)
    admin = make_user(Role.SYSTEM_ADMIN, d.district, username="sysadmin")
    browser_login(page, admin.username)
    admin_changelist(page, "/admin/reports/reportschedule/", title="定时报表", rows=1, contains=("兴隆巷街道月报",))
    admin_open_first(page, title="定时报表")
    rows = admin_changelist(page, "/admin/reports/report/", title="统计报表", rows=1, contains=(d.streets[0].name,))
    with page.expect_navigation():
        page.click("#changelist-filter a[href*='period_kind__exact=month']")
    assert rows.count() == 0  # this year's report is a yearly one
    assert errors == []
