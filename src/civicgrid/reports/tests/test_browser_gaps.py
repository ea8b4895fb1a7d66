"""Browser test of the schedule action no other browser test clicked (docs/browser-tests.md,
"known gaps"): deleting a report schedule (定时报表) from its list - asked first, the
schedule gone and audited, the reports it made kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.reports import services
from civicgrid.reports.models import Report, ReportSchedule
from civicgrid.testing.browser import js_errors
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(district: SampleDistrict) -> World:
    seed_categories(Category)  # a transactional test starts from an emptied database
    return build_world(district)


def _schedule(world: World, name: str, area: Any, recipients: list[Any]) -> ReportSchedule:
    return services.report_schedule_create(
        actor=world.street_admin,
        data={
            "name": name,
            "area": area,
            "period_kind": "year",
            "want_xlsx": True,
            "want_pdf": False,
            "is_active": True,
        },
        recipients=recipients,
    )


def _row_names(page: Any) -> list[str]:
    return [
        (t or "").strip() for t in page.locator("#schedule-table tr.schedule-row td:first-child a").all_text_contents()
    ]


def test_delete_a_schedule_keeps_its_reports(page: Any, world: World) -> None:
    d = world.d
    doomed = _schedule(world, "兴隆巷街道年报", d.streets[0], [world.street_admin])
    kept = _schedule(world, "清泉街社区年报", d.communities[0], [world.worker])
    report = services.report_generate(
        actor=world.street_admin,
        area_code=d.streets[0].code,
        period=str(timezone.localdate().year),
        want_xlsx=True,
        want_pdf=False,
    )
    Report.objects.filter(pk=report.pk).update(schedule=doomed)  # as the periodic job makes it

    errors = js_errors(page)
    browser_login(page, world.street_admin.username)
    page.goto(f"{page.base_url}/reports/schedules/")
    assert (page.text_content("main h1") or "").strip() == "定时报表"
    assert sorted(_row_names(page)) == ["兴隆巷街道年报", "清泉街社区年报"]
    row = page.locator("#schedule-table tr.schedule-row", has_text="兴隆巷街道年报")
    assert world.street_admin.username in (row.text_content() or "")
    button = row.get_by_role("button", name="删除")

    # Asked first: cancelling keeps it.
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    button.click()
    assert asked == ["确定删除该定时报表?"]
    assert ReportSchedule.objects.filter(pk=doomed.pk).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        button.click()
    assert page.url.endswith("/reports/schedules/")
    assert "定时报表已删除, 已生成的报表仍保留" in (page.text_content("main") or "")
    assert _row_names(page) == ["清泉街社区年报"]
    assert list(ReportSchedule.objects.values_list("pk", flat=True)) == [kept.pk]
    report.refresh_from_db()
    assert report.schedule_id is None  # the report it made stays
    event = AuditEvent.objects.get(
        action=AuditAction.DELETE, object_type="reports.reportschedule", object_id=str(doomed.pk)
    )
    assert event.actor_id == world.street_admin.pk
    assert event.changes["name"] == {"before": "兴隆巷街道年报", "after": None}

    # ... and is still listed on the reports page.
    page.goto(f"{page.base_url}/reports/")
    assert page.locator("#report-table tr.report-row", has_text=d.streets[0].name).count() == 1
    assert errors == []
