"""Every accounts page a person uses, in chromium: the home page of each role, log-out,
password change (voluntary and forced on expiry) and the Django admin."""

# mypy: disable-error-code="no-untyped-def"
from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.accounts.permissions import Capability, capabilities
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Yuquan-Grid-2027#"
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 costs ~0.5 s a hash on a small CI machine; these page tests are not about it
    (test_browser.py logs in with argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _shot(page: Any, name: str) -> None:
    """Screenshots for a person to look at, only when CIVICGRID_SHOTS names a folder."""
    folder = os.environ.get("CIVICGRID_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _expected_tiles(user: User) -> list[str]:
    caps = capabilities(user)
    keys = []
    if Capability.CASES_VIEW in caps:
        keys.append("cases")
    if Capability.CASES_HANDLE in caps or Capability.PATROL in caps:
        keys.append("mobile")
    if Capability.CASES_VIEW in caps:
        keys += ["screen", "rankings"]
    if Capability.VIEW_PATROLS in caps:
        keys.append("compliance")
    if Capability.VIEW_INDICATORS in caps:
        keys.append("indicators")
    if Capability.VIEW_AUDIT in caps:
        keys.append("audit")
    if Capability.VIEW_TERRITORY in caps:
        keys.append("territory")
    if Capability.VIEW_PEOPLE in caps:
        keys.append("people")
    if Capability.USE_ADMIN in caps:
        keys += ["users", "departments", "admin"]
    return [*keys, "password"]


def test_every_role_lands_on_its_own_home_and_logs_out(page, district, user_factory):
    areas = {
        Role.GRID_CHIEF: district.grids[0],
        Role.COMMUNITY_WORKER: district.communities[0],
        Role.STREET_ADMIN: district.streets[0],
    }
    page.goto(f"{page.base_url}/")
    assert "/login/" in page.url
    for role in Role:
        user = user_factory(role, areas.get(role, district.district), username=f"u-{role.value}")
        # Log-out lands on the log-in page, so each role logs in right there.
        page.fill("#id_username", user.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("#login-submit")
        home = page.locator("#home")
        home.wait_for()
        assert home.get_attribute("data-role") == role.value
        tiles = page.locator("#home-links .tile").evaluate_all("els => els.map(e => e.dataset.key)")
        assert tiles == _expected_tiles(user), role
        assert page.locator("#read-only-notice").count() == (1 if role in (Role.LEADER, Role.AUDIT_ADMIN) else 0)
        assert page.locator("#security-policy").count() == (1 if role == Role.SECURITY_ADMIN else 0)
        chain = page.locator("#territory-chain .node").evaluate_all("els => els.map(e => e.dataset.code)")
        assert chain[-1] == user.area.code and chain[0] == district.district.code
        if role in (Role.GRID_CHIEF, Role.SECURITY_ADMIN):
            _shot(page, f"home-{role.value}-1366")
        page.click("#logout")
        page.wait_for_url("**/login/")
        assert page.locator(".who").count() == 0
    # Logged out for real: home sends back to the log-in page.
    page.goto(f"{page.base_url}/")
    assert "/login/" in page.url


def test_grid_chief_home_on_a_phone(phone_page, district, user_factory):
    chief = user_factory(Role.GRID_CHIEF, district.grids[0], username="chief", display_name="王网格")
    browser_login(phone_page, chief.username)
    _shot(phone_page, "home-grid_chief-360")
    assert "王网格" in phone_page.locator("h1").inner_text()
    assert phone_page.evaluate(NO_OVERFLOW)
    # The links are tiles (not a bulleted list): one column on a phone, big enough to tap.
    assert phone_page.locator("#home-links").evaluate("e => getComputedStyle(e).listStyleType") == "none"
    boxes = [t.locator("a").bounding_box() for t in phone_page.locator("#home-links .tile").all()]
    # Cases, the phone app, the wall screen, rankings, territory, residents, password.
    assert len(boxes) == len(_expected_tiles(chief)) == 7
    assert all(b is not None and b["height"] >= 56 and 300 <= b["width"] <= 360 for b in boxes)
    assert len({b["x"] for b in boxes if b}) == 1
    phone_page.click("#home-links [data-key=people] a")
    phone_page.wait_for_url("**/people/")
    assert phone_page.evaluate(NO_OVERFLOW)


def test_password_change_shows_policy_errors_then_saves(page, district, user_factory):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="changer")
    browser_login(page, user.username)
    page.click("#home-links [data-key=password] a")
    page.wait_for_url("**/password/change/")
    page.fill("#id_old_password", TEST_PASSWORD)
    page.fill("#id_new_password1", "abcdefghij")
    page.fill("#id_new_password2", "abcdefghij")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    _shot(page, "password-change-error-1366")
    page.set_viewport_size({"width": 360, "height": 740})
    _shot(page, "password-change-error-360")
    assert page.evaluate(NO_OVERFLOW)
    assert "/password/change/" in page.url
    assert "至少 3 类" in page.locator(".errorlist").first.inner_text()
    page.fill("#id_old_password", TEST_PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.rstrip("/") == page.base_url
    assert "密码已修改" in page.locator(".messages").inner_text()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_expired_password_forces_a_change_before_anything_else(page, district, user_factory):
    user = user_factory(
        Role.COMMUNITY_WORKER,
        district.communities[0],
        username="expired",
        password_changed_at=timezone.now() - dt.timedelta(days=400),
    )
    browser_login(page, user.username)
    assert "/password/change/" in page.url
    assert "密码已过期" in page.locator(".messages").inner_text()
    # Every other page sends the user back here until the password is changed.
    page.goto(f"{page.base_url}/people/")
    assert "/password/change/" in page.url
    _shot(page, "password-expired-1366")
    page.fill("#id_old_password", TEST_PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{page.base_url}/people/")
    assert page.url.endswith("/people/")
    assert page.locator("#people-search-form").is_visible()


def test_system_admin_uses_the_admin_in_chinese(page, district, user_factory):
    admin = user_factory(Role.SYSTEM_ADMIN, district.district, username="sysadmin")
    user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="worker-a", display_name="李四")
    browser_login(page, admin.username)
    page.click("#home-links [data-key=admin] a")
    page.wait_for_url("**/admin/")
    _shot(page, "admin-index-1366")
    assert "智慧玉泉 · 系统管理" in page.locator("#site-name").inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    # The user changelist: search, then open a change form.
    page.goto(f"{page.base_url}/admin/accounts/user/")
    page.fill("#searchbar", "worker-a")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state("networkidle")
    _shot(page, "admin-changelist-1366")
    page.set_viewport_size({"width": 360, "height": 740})
    _shot(page, "admin-changelist-360")
    page.set_viewport_size({"width": 1366, "height": 900})
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "李四" in rows.first.inner_text()
    rows.first.locator("th a").click()
    page.wait_for_load_state("networkidle")
    _shot(page, "admin-change-1366")
    page.fill("#id_display_name", "李四四")
    page.click("input[name=_save]")
    page.wait_for_load_state("networkidle")
    assert "成功" in page.locator(".messagelist").inner_text()
    assert User.objects.get(username="worker-a").display_name == "李四四"
