"""Every people page a person uses, in chromium: search on a grid chief's phone, detail,
create and edit (with a validation error), Excel import (valid and invalid) and the
masked export download."""

# mypy: disable-error-code="no-untyped-def"
from __future__ import annotations

import io
import os
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.conftest import browser_login
from civicgrid.people.importing import HEADERS
from civicgrid.people.models import ImportJob, Person
from civicgrid.people.tests.conftest import make_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def _wrong_check_digit(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "电话", "网格编码"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def import_runner(settings: Any, tmp_path: Any) -> str:
    """PostgreSQL runs the import in a thread, as the embedded server does. The SQLite test
    database lives in shared-cache memory, where a second connection's write fails at once
    with "database table is locked" while the page polls, so there it runs inline."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PEOPLE_IMPORT_RUNNER = "thread" if connection.vendor == "postgresql" else "inline"
    return str(settings.PEOPLE_IMPORT_RUNNER)


def _upload(page: Any, name: str, content: bytes) -> None:
    page.goto(f"{page.base_url}/people/import/")
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": XLSX, "buffer": content}])
    page.click("#import-submit")
    page.wait_for_url("**/people/import/*/")


def test_grid_chief_searches_by_name_on_a_phone(phone_page, district, residents, user_factory):
    chief = user_factory(Role.GRID_CHIEF, district.grids[0], username="chief")
    browser_login(phone_page, chief.username)
    phone_page.click("#home-links [data-key=people] a")
    phone_page.wait_for_url("**/people/")
    assert phone_page.evaluate(NO_OVERFLOW)
    phone_page.fill("#id_name", "张")
    with phone_page.expect_response(lambda r: r.url.endswith("/people/") and r.request.method == "POST"):
        phone_page.click("#people-search-submit")
    table = phone_page.locator("#people-table")
    # Only the chief's own grid: 张小四 lives in the neighbouring grid.
    assert table.locator(".person-link").all_inner_texts() == ["张三"]
    _shot(phone_page, "people-search-360")
    assert phone_page.evaluate(NO_OVERFLOW)
    # The wide table scrolls inside its wrapper instead of widening the page.
    wrap = phone_page.locator("#people-results .table-wrap")
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'auto'")
    # ... and its cells stay one line high instead of wrapping a character at a time.
    row = table.locator("tbody tr").first.bounding_box()
    assert row is not None and row["height"] < 60
    table.locator(".person-link").click()
    phone_page.wait_for_url(f"**/people/{residents[0].pk}/")
    _shot(phone_page, "people-detail-360")
    assert phone_page.evaluate(NO_OVERFLOW)
    assert phone_page.locator("#grid-chain").inner_text().startswith(district.district.name)
    # The reveal buttons are visible on the white card (they were white on white).
    button = phone_page.locator("#reveal-phone")
    assert button.evaluate("e => getComputedStyle(e).color") != "rgb(255, 255, 255)"
    button.click()
    phone_page.locator("span.revealed#value-phone").wait_for()
    assert phone_page.locator("#value-phone").inner_text() == "13800138000"


def test_create_shows_the_check_digit_error_then_saves(page, district, worker):
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/")
    page.click("#person-create")
    page.wait_for_url("**/people/new/")
    number = make_number(31)
    page.fill("#id_name", "赵六")
    page.fill("#id_id_number", _wrong_check_digit(number))
    page.fill("#id_phone", "13612345678")
    page.select_option("#id_grid", str(district.grids[1].pk))
    page.click("#person-save")
    page.wait_for_load_state("networkidle")
    _shot(page, "people-create-error-1366")
    # The tag checkboxes are checkboxes beside their labels, not 360-pixel-wide boxes.
    box = page.locator("#id_tags_0").bounding_box()
    assert box is not None and box["width"] < 40
    errors = page.locator("#field-id_number .errorlist")
    assert "校验位错误" in errors.inner_text()
    assert f"应为 {number[-1]}" in errors.inner_text()
    assert not Person.objects.filter(name="赵六").exists()
    # The other fields keep what was typed.
    assert page.input_value("#id_name") == "赵六"
    page.fill("#id_id_number", number)
    page.click("#person-save")
    page.wait_for_url("**/people/*/")
    person = Person.objects.get(name="赵六")
    assert page.url.endswith(f"/people/{person.pk}/")
    assert "已新增居民 赵六" in page.locator(".messages").inner_text()
    assert page.locator("#value-id_number").inner_text() == number[:6] + "********" + number[-4:]
    assert person.area_code == district.grids[1].code


def test_edit_changes_the_phone_and_keeps_the_id_number(page, worker, residents):
    person = residents[0]
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/{person.pk}/")
    page.click("#person-edit")
    page.wait_for_url(f"**/people/{person.pk}/edit/")
    _shot(page, "people-edit-1366")
    assert "138****8000" in page.locator("#field-phone").inner_text()
    page.fill("#id_phone", "1391111")
    page.click("#person-save")
    page.wait_for_load_state("networkidle")
    assert page.locator("#field-phone .errorlist").count() == 1
    page.fill("#id_phone", "13911112222")
    page.click("#person-save")
    page.wait_for_url(f"**/people/{person.pk}/")
    assert "已保存" in page.locator(".messages").inner_text()
    assert page.locator("#value-phone").inner_text() == "139****2222"
    assert page.locator("#value-id_number").inner_text() == make_number(11)[:6] + "********" + make_number(11)[-4:]
    _shot(page, "people-detail-1366")


def test_import_of_a_valid_file_reaches_done(page, district, worker, import_runner):
    browser_login(page, worker.username)
    grid = district.grids[0].code
    content = _xlsx([["钱七", make_number(41), "13512345678", grid], ["孙八", make_number(42, male=False), "", grid]])
    _upload(page, "居民.xlsx", content)
    page.wait_for_selector("#import-job[data-status=done]")
    _shot(page, "people-import-done-1366")
    assert page.locator("#import-progress").get_attribute("value") == "100"
    assert "新增 2" in page.locator("#import-summary").inner_text()
    assert sorted(Person.objects.filter(area_code=grid).values_list("name", flat=True)) == ["孙八", "钱七"]
    # The job is listed under the recent imports.
    page.goto(f"{page.base_url}/people/import/")
    assert "居民.xlsx" in page.locator("main table").last.inner_text()


def test_import_page_polls_a_running_job_until_done(page, district, worker):
    """The progress bar of a job still running, then htmx swapping in the finished job."""
    job = ImportJob.objects.create(
        created_by=worker, area_code=worker.area.code, file_name="大文件.xlsx", status=ImportJob.Status.VALIDATING
    )
    cache.set(f"civicgrid:people-import:{job.pk}", {"phase": "validate", "done": 300, "total": 600}, 600)
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/import/{job.pk}/")
    assert "已完成" not in page.locator("#recent-imports tr", has_text="大文件.xlsx").inner_text()
    card = page.locator("#import-job")
    assert card.get_attribute("data-status") == "validating"
    assert card.get_attribute("hx-trigger") == "every 1s"
    assert page.locator("#import-progress").get_attribute("value") == "25"  # validation is the first half
    assert "300/600" in card.inner_text()
    _shot(page, "people-import-running-1366")
    cache.set(f"civicgrid:people-import:{job.pk}", {"phase": "write", "done": 300, "total": 600}, 600)
    page.wait_for_selector("#import-progress[value='75']")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, total_rows=600, created_count=600, finished_at=timezone.now()
    )
    cache.delete(f"civicgrid:people-import:{job.pk}")
    page.wait_for_selector("#import-job[data-status=done]")
    assert page.locator("#import-progress").get_attribute("value") == "100"
    assert "新增 600" in page.locator("#import-summary").inner_text()
    assert page.locator("#import-job").get_attribute("hx-trigger") is None  # polling stops
    # The recent imports list follows without a reload.
    row = page.locator("#recent-imports tr", has_text="大文件.xlsx")
    assert "已完成" in row.inner_text() and "600" in row.inner_text()


def test_import_of_an_invalid_file_lists_errors_by_row_and_column(page, district, worker, import_runner):
    browser_login(page, worker.username)
    content = _xlsx(
        [
            ["钱七", _wrong_check_digit(make_number(41)), "", district.grids[0].code],
            ["孙八", make_number(42, male=False), "12345", district.grids[2].code],  # not the worker's grid
        ]
    )
    _upload(page, "错误.xlsx", content)
    page.wait_for_selector("#import-job[data-status=invalid]")
    _shot(page, "people-import-invalid-1366")
    page.set_viewport_size({"width": 360, "height": 740})
    _shot(page, "people-import-invalid-360")
    assert page.evaluate(NO_OVERFLOW)
    rows = page.locator("#import-errors tbody tr").evaluate_all(
        "trs => trs.map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))"
    )
    cells = {(row, column) for row, column, _message in rows}
    assert cells == {("2", "身份证号"), ("3", "电话"), ("3", "网格编码")}
    assert any("校验位" in message for _r, _c, message in rows)
    assert not Person.objects.filter(name__in=["钱七", "孙八"]).exists()


def test_export_downloads_a_masked_workbook(page, worker, residents, tmp_path):
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/")
    with page.expect_download() as info:
        page.click("#people-export")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "export.xlsx"
    download.save_as(path)
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    by_name = {r[0]: r for r in rows[1:]}
    assert sorted(by_name) == ["张三", "张小四"]  # 李五 is outside the worker's community
    id_col, phone_col = HEADERS.index("身份证号"), HEADERS.index("电话")
    assert by_name["张三"][id_col] == make_number(11)[:6] + "********" + make_number(11)[-4:]
    assert by_name["张三"][phone_col] == "138****8000"
    text = "|".join(str(c) for r in rows for c in r)
    assert make_number(11) not in text and "13800138000" not in text
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, object_type="people.person")
    assert event.actor_id == worker.pk and event.changes["count"] == 2
