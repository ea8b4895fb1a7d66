"""The import in a browser: upload a small file, see the checked preview, confirm, see the
cameras registered; a bad file shows its errors by row."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from civicgrid.accounts.enums import Role
from civicgrid.cameras.models import Camera
from civicgrid.cameras.tests.test_import import cam, center, xlsx
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import SampleDistrict, make_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def import_runner(settings: Any, tmp_path: Any) -> str:
    """PostgreSQL runs the import in a thread, as the embedded server does. The SQLite test
    database lives in shared-cache memory, where a second connection's write fails while the
    page polls, so there it runs inline (as in the people import's browser test)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CAMERAS_IMPORT_RUNNER = "thread" if connection.vendor == "postgresql" else "inline"
    return str(settings.CAMERAS_IMPORT_RUNNER)


def _upload(page: Any, rows: list[dict[str, Any]], name: str) -> None:
    page.goto(f"{page.base_url}/cameras/import/")
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": XLSX, "buffer": xlsx(rows).getvalue()}])
    page.click("#import-submit")
    page.wait_for_url("**/cameras/import/*/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_preview_confirm(page: Any, district: SampleDistrict, import_runner: str) -> None:
    make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")
    browser_login(page, "sysadmin")

    _upload(page, [cam("CAM-1", center(district, 0)), cam("CAM-1", (111.70, 40.70))], "bad.xlsx")
    page.wait_for_selector("#import-errors")
    errors = page.text_content("#import-errors") or ""
    assert "与第 2 行的探头编号重复" in errors and "不在任何网格内" in errors
    assert page.locator("#import-commit").count() == 0

    rows = [cam("CAM-1", center(district, 0)), cam("CAM-2", center(district, 3), 类型="球机")]
    _upload(page, rows, "good.xlsx")
    page.wait_for_selector("#import-ready")
    assert page.locator("tr.preview-row").count() == 2
    assert district.grids[3].name in (page.text_content("tr[data-code='CAM-2']") or "")
    assert not Camera.objects.exists()

    page.click("#import-commit")
    page.wait_for_selector("#import-summary")
    assert "已登记 2 个探头" in (page.text_content("#import-summary") or "")
    assert page.locator("#recent-imports tbody tr").count() == 2
    assert dict(Camera.objects.values_list("code", "area_code")) == {
        "CAM-1": district.grids[0].code,
        "CAM-2": district.grids[3].code,
    }
