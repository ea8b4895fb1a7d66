"""Browser tests for the camera pages no other browser test opens (docs/browser-tests.md): the
alerts list (探头告警) with its outcome filter, and the cameras' admin pages (the camera
changelist carries our "Excel 批量登记" link)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.cameras.enums import AlertOutcome
from civicgrid.cameras.models import CameraAlert
from civicgrid.cameras.tests.conftest import make_cams
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def js_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def cams(district: SampleDistrict) -> Any:
    seed_categories(Category)  # a transactional test starts from flushed tables
    cams = make_cams(district)
    client = Client()
    assert cams.alert(client, "d-1").status_code == 201  # 车辆违停: opens a case
    assert cams.alert(client, "d-2", event_type="motion").status_code == 201  # 移动侦测: ignored by rule
    return cams


def test_alerts_page_lists_and_filters_by_outcome(page: Any, cams: Any) -> None:
    errors = js_errors(page)
    case_alert = CameraAlert.objects.get(outcome=AlertOutcome.CASE_OPENED)
    assert case_alert.case is not None
    browser_login(page, cams.world.worker.username)
    page.goto(f"{page.base_url}/cameras/alerts/")
    assert (page.text_content("main h1") or "").strip() == "探头告警"
    rows = page.locator("#alert-table tr.alert-row")
    assert rows.count() == 2
    assert "车辆违停" in (page.text_content("#alert-table") or "")
    assert "按规则忽略" in (page.text_content("#alert-table") or "")

    page.select_option("#f-outcome", AlertOutcome.CASE_OPENED.value)
    with page.expect_navigation():
        page.click("#filter-submit")
    assert "outcome=case_opened" in page.url
    assert rows.count() == 1
    assert "已生成案件" in (rows.first.text_content() or "")
    with page.expect_navigation():
        rows.first.locator(f"text={case_alert.case.tracking_code}").click()
    assert page.url.endswith(f"/cases/{case_alert.case_id}/")
    assert errors == []


def test_camera_admin_pages(page: Any, cams: Any) -> None:
    errors = js_errors(page)
    admin = make_user(Role.SYSTEM_ADMIN, cams.world.d.district, username="sysadmin")
    browser_login(page, admin.username)
    page.goto(f"{page.base_url}/admin/cameras/camera/")
    assert "选择" in (page.text_content("#content h1") or "")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "清泉街1号探头" in (page.text_content("#result_list") or "")
    with page.expect_navigation():
        page.click("#admin-camera-import")  # our link on the changelist
    assert page.url.endswith("/cameras/import/")

    page.goto(f"{page.base_url}/admin/cameras/alertrule/")
    assert page.locator("#result_list tbody tr").count() == 2
    assert "移动侦测" in (page.text_content("#result_list") or "")

    page.goto(f"{page.base_url}/admin/cameras/cameraalert/")
    assert page.locator("#result_list tbody tr").count() == 2
    with page.expect_navigation():
        page.click("#changelist-filter a[href*='outcome__exact=ignored_by_rule']")
    assert page.locator("#result_list tbody tr").count() == 1
    assert errors == []
