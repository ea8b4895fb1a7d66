"""Browser tests of the people actions no other browser test clicked (docs/browser-tests.md,
"known gaps"): a resident's 标记不在册 button on the person page, and the import template
download on the import page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.common import idcard
from civicgrid.conftest import browser_login
from civicgrid.people.importing import HEADERS, REQUIRED
from civicgrid.people.models import Person
from civicgrid.testing.browser import js_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 costs ~0.5 s a hash on a small CI machine; these page tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _listed_names(page: Any) -> list[str]:
    return sorted(page.locator("#people-table .person-link").all_inner_texts())


def test_mark_a_resident_as_no_longer_registered(page: Any, worker: Any, residents: list[Any]) -> None:
    person = residents[0]
    errors = js_errors(page)
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/")
    assert _listed_names(page) == ["张三", "张小四"]
    page.goto(f"{page.base_url}/people/{person.pk}/")
    assert (page.text_content("main h1") or "").strip() == "张三"
    button = page.get_by_role("button", name="标记不在册")

    # The browser asks first; cancelling changes nothing.
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    button.click()
    assert asked == ["确认将该居民标记为不在册?"]
    assert page.url.endswith(f"/people/{person.pk}/")
    person.refresh_from_db()
    assert person.is_active

    # Confirming marks the resident, audits it and goes back to the list without them.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        button.click()
    assert page.url.endswith("/people/")
    assert "已将 张三 标记为不在册。" in (page.text_content(".messages") or "")
    assert _listed_names(page) == ["张小四"]
    person.refresh_from_db()
    assert not person.is_active
    event = AuditEvent.objects.get(action=AuditAction.DELETE, object_type="people.person", object_id=str(person.pk))
    assert event.actor_id == worker.pk
    assert event.changes == {"is_active": {"before": True, "after": False}}

    # The record stays readable, labelled 不在册 and without the button.
    page.goto(f"{page.base_url}/people/{person.pk}/")
    assert "不在册" in (page.text_content("main h1 .tag") or "")
    assert page.get_by_role("button", name="标记不在册").count() == 0
    assert Person.objects.filter(is_active=True).count() == 2
    assert errors == []


def test_import_template_downloads_a_workbook_with_the_chinese_headers(page: Any, worker: Any, tmp_path: Path) -> None:
    errors = js_errors(page)
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/")
    with page.expect_navigation():
        page.get_by_role("link", name="Excel 导入").click()
    assert page.url.endswith("/people/import/")
    link = page.locator("#import-template")
    assert (link.text_content() or "").strip() == "下载导入模板(含填写说明)"
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "居民导入模板.xlsx"
    path = tmp_path / "template.xlsx"
    download.save_as(path)

    workbook = load_workbook(path)
    assert workbook.sheetnames == ["居民", "填写说明"]
    rows = [list(r) for r in workbook["居民"].iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    assert rows[0][:4] == ["姓名", "性别", "出生日期", "身份证号"]
    example = dict(zip(rows[0], rows[1], strict=True))
    assert example["姓名"] == "张三"
    number = str(example["身份证号"])  # kept as text, with a valid check digit
    assert idcard.validate_id_number(number) == number and number[:6] == "150104"
    assert example["性别"] == "男" and example["网格编码"] == "15010400100101"
    notes = {r[0]: r[1] for r in workbook["填写说明"].iter_rows(min_row=2, values_only=True) if r and r[0]}
    assert all(notes[h] == "是" for h in REQUIRED)
    assert notes["身份证号"] == "是"
    assert errors == []
