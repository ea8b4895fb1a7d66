import pytest

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_audit_admin_filters_by_action(page, district, user_factory):
    user_factory(Role.AUDIT_ADMIN, district.district, username="auditor")
    for i in range(3):
        audit_record(action=AuditAction.UPDATE, object_type="people.person", object_id=str(i), actor_label="w1")
    audit_record(action=AuditAction.EXPORT, object_type="people.person", actor_label="w1")
    browser_login(page, "auditor")
    page.click("#home-links [data-key=audit] a")
    page.wait_for_load_state("networkidle")
    assert page.locator("#audit-events").is_visible()
    assert page.locator(".audit-row[data-action=login]").count() >= 1  # the auditor's own log-in
    page.select_option("#id_action", "export")
    page.click("#audit-filter-submit")
    page.wait_for_load_state("networkidle")
    actions = page.locator(".audit-row").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions == ["export"]
    assert "action=export" in page.url


def test_system_admin_is_blocked_from_audit_page(page, district, user_factory):
    user_factory(Role.SYSTEM_ADMIN, district.district, username="sysadmin")
    browser_login(page, "sysadmin")
    assert page.locator("nav.mainnav").get_by_text("审计日志").count() == 0
    response = page.goto(f"{page.base_url}/audit/")
    assert response.status == 403
