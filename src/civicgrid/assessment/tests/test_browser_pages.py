"""Browser test for the assessment admin page (docs/browser-tests.md): the system administrator
edits the 考核 scheme's weights; weights that do not sum to 100 are refused in Chinese."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.seed import seed_default_scheme
from civicgrid.conftest import browser_login
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_scheme_admin_refuses_weights_not_summing_to_100(page: Any, district: SampleDistrict) -> None:
    seed_default_scheme(AssessmentScheme)
    scheme = AssessmentScheme.objects.get()
    errors = js_errors(page)
    admin = make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")
    browser_login(page, admin.username)
    admin_changelist(page, "/admin/assessment/assessmentscheme/", title="考核方案", rows=1, contains=(scheme.name,))
    admin_open_first(page, title="考核方案")
    before = scheme.weight_satisfaction
    page.fill("#id_weight_satisfaction", str(before + 7))
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert f"各项权重之和必须为100, 当前为{100 + 7}" in (page.text_content("#content form") or "")
    scheme.refresh_from_db()
    assert scheme.weight_satisfaction == before  # nothing written
    # A valid change (moved between two weights) saves.
    page.fill("#id_weight_satisfaction", str(before + 5))
    page.fill("#id_weight_closure", str(scheme.weight_closure - 5))
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "成功" in (page.text_content(".messagelist") or "")
    scheme.refresh_from_db()
    assert scheme.weight_satisfaction == before + 5 and scheme.weight_total() == 100
    assert errors == []
