"""Browser test for the audit admin pages (docs/browser-tests.md): the audit administrator
reads the hash-chained records in the admin (read only: no add button, no save), filters by
action, and opens the checkpoints list."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.conftest import browser_login
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_audit_admin_reads_records(page: Any, district: SampleDistrict) -> None:
    for i in range(2):
        audit_record(
            action=AuditAction.UPDATE,
            object_type="people.person",
            object_id=str(i),
            object_repr=f"居民{i}",
            actor_label="w1",
        )
    audit_record(action=AuditAction.EXPORT, object_type="people.person", object_repr="居民导出", actor_label="w1")
    errors = js_errors(page)
    auditor = make_user(Role.AUDIT_ADMIN, district.district, username="auditor")
    browser_login(page, auditor.username)
    rows = admin_changelist(page, "/admin/audit/auditevent/", title="审计记录", contains=("居民0", "居民导出"))
    assert page.locator(".object-tools .addlink").count() == 0
    with page.expect_navigation():
        page.click("#changelist-filter a[href*='action__exact=export']")
    assert rows.count() == 1
    admin_open_first(page, title="审计记录")
    assert page.locator("input[name=_save]").count() == 0  # read only
    admin_changelist(page, "/admin/audit/auditcheckpoint/", title="审计清理检查点", rows=0)
    assert errors == []
