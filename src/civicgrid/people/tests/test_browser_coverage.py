"""Browser test for the people admin pages (docs/browser-tests.md): residents listed masked
(filter, search, the change form with its tags inline, the Excel export button of the
import-export list) and the import jobs, for a superuser (system administrators have no
people capability)."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.people.models import ImportJob
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_people_admin_pages(page: Any, district: Any, residents: list[Any], worker: Any) -> None:
    ImportJob.objects.create(
        created_by=worker, area_code=worker.area.code, file_name="清泉街居民.xlsx", status=ImportJob.Status.DONE
    )
    errors = js_errors(page)
    root = make_user(Role.SYSTEM_ADMIN, district.district, username="root", is_superuser=True)
    browser_login(page, root.username)
    rows = admin_changelist(page, "/admin/people/person/", title="居民", rows=3, contains=("张三", "李五"))
    html = page.content()
    assert "13800138000" not in html and residents[0].id_number_masked in html  # masked only
    assert page.locator(".object-tools a[href*='export']").count() == 1
    page.fill("#searchbar", "张小四")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    assert rows.count() == 1
    page.goto(f"{page.base_url}/admin/people/person/?q=张三")
    admin_open_first(page, title="居民")
    assert "13800138000" not in page.content()
    assert page.locator("[id^='tags-'], .inline-group").count() >= 1  # the tags inline
    admin_changelist(page, "/admin/people/importjob/", title="人口导入任务", rows=1, contains=("清泉街居民.xlsx",))
    assert errors == []
