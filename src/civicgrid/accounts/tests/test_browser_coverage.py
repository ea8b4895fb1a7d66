"""Browser test for the accounts admin page no other browser test opens (docs/browser-tests.md):
the departments changelist (filter by kind, open one) for the system administrator."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.accounts.models import Department
from civicgrid.conftest import browser_login
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_department_admin_lists_filters_and_opens(page: Any, district: SampleDistrict) -> None:
    Department.objects.create(code="police0", name="兴隆巷派出所", kind=DepartmentKind.POLICE, area=district.streets[0])
    Department.objects.create(
        code="legal0", name="清泉街社区法务室", kind=DepartmentKind.LEGAL, area=district.communities[0]
    )
    errors = js_errors(page)
    admin = make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")
    browser_login(page, admin.username)
    rows = admin_changelist(
        page, "/admin/accounts/department/", title="部门", rows=2, contains=("兴隆巷派出所", "清泉街社区法务室")
    )
    with page.expect_navigation():
        page.click(f"#changelist-filter a[href*='kind__exact={DepartmentKind.POLICE.value}']")
    assert rows.count() == 1
    admin_open_first(page, title="部门")
    assert page.input_value("#id_name") == "兴隆巷派出所"
    assert errors == []
