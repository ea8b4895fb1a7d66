"""The audit page in chromium: filters, the change table, a bad filter, and the CSV export
download (itself audited)."""

# mypy: disable-error-code="no-untyped-def"
from __future__ import annotations

import csv
import io
import os
from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.audit.services import audit_record
from civicgrid.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 costs ~0.5 s a hash on a small CI machine; these page tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _shot(page: Any, name: str) -> None:
    """Screenshots for a person to look at, only when CIVICGRID_SHOTS names a folder."""
    folder = os.environ.get("CIVICGRID_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_audit_filter_shows_changes_and_exports_the_filtered_csv(page, district, user_factory, tmp_path):
    user_factory(Role.AUDIT_ADMIN, district.district, username="auditor")
    for i in range(3):
        audit_record(
            action=AuditAction.UPDATE,
            object_type="people.person",
            object_id=str(i),
            object_repr=f"居民{i}",
            actor_label="w1",
            changes={"phone": {"before": "138****0000", "after": f"139****000{i}"}},
        )
    audit_record(action=AuditAction.UPDATE, object_type="territory.area", object_id="9", actor_label="w2")
    audit_record(action=AuditAction.EXPORT, object_type="people.person", actor_label="w1")
    browser_login(page, "auditor")
    page.click("#home-links [data-key=audit] a")
    page.wait_for_url("**/audit/")
    page.select_option("#id_action", "update")
    page.fill("#id_actor", "w1")
    page.click("#audit-filter-submit")
    page.wait_for_url("**/audit/?*")
    _shot(page, "audit-filtered-1366")
    # The export link looks like a button (it had no styles).
    assert page.locator("#audit-export").evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    rows = page.locator(".audit-row")
    assert rows.count() == 3
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.action)")) == {"update"}
    # The change table shows the masked before/after values.
    first = rows.first
    assert first.locator("table.diff .before").inner_text() == "138****0000"
    assert first.locator("table.diff .after").inner_text() == "139****0002"

    with page.expect_download() as info:
        page.click("#audit-export")
    download = info.value
    assert download.suggested_filename.startswith("audit-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "audit.csv"
    download.save_as(path)
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")  # Excel opens it as UTF-8
    records = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["action"], r["actor"]) for r in records] == [("update", "w1")] * 3
    assert {r["object"] for r in records} == {"居民0", "居民1", "居民2"}
    export = AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="audit.auditevent").get()
    assert export.changes == {"filters": {"action": "update", "actor": "w1"}}


def test_audit_page_rejects_a_malformed_filter_with_a_message(page, district, user_factory):
    user_factory(Role.AUDIT_ADMIN, district.district, username="auditor")
    browser_login(page, "auditor")
    page.goto(f"{page.base_url}/audit/")
    assert page.locator(".audit-row").count() >= 1  # the auditor's own log-in
    page.fill("#id_ip_address", "300.1.2.3")
    page.click("#audit-filter-submit")
    page.wait_for_url("**/audit/?*")
    _shot(page, "audit-bad-filter-1366")
    assert page.locator("#audit-filter .errorlist").count() == 1
    assert page.locator(".audit-row").count() == 0
    # The export link carries the same bad filter and is refused, not run unfiltered.
    href = page.locator("#audit-export").get_attribute("href")
    response = page.request.get(f"{page.base_url}{href}")
    assert response.status == 400
    # On a narrow screen the wide table scrolls inside its wrapper, the page does not.
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{page.base_url}/audit/")
    _shot(page, "audit-360")
    assert page.locator("#audit-events").count() == 1
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
