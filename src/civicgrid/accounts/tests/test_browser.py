import pytest

from civicgrid.accounts.enums import Role
from civicgrid.testing.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit(page, username, password):
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def test_wrong_then_right_password_lands_on_chinese_home(page, district, user_factory):
    user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="gridworker", display_name="张三")
    page.goto(f"{page.base_url}/")
    assert "/login/" in page.url
    _submit(page, "gridworker", "Wrong-Password-9")
    assert page.locator(".errorlist").count() == 1
    assert "/login/" in page.url
    _submit(page, "gridworker", TEST_PASSWORD)
    assert page.url.rstrip("/") == page.base_url
    assert "欢迎" in page.locator("h1").inner_text()
    assert district.communities[0].name in page.locator("#territory-chain").inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-hans"


def test_five_wrong_passwords_show_lockout_page(page, district, user_factory):
    user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="victim")
    page.goto(f"{page.base_url}/login/")
    for _ in range(5):
        _submit(page, "victim", "Wrong-Password-9")
    assert page.locator("#locked-out").is_visible()
    assert "账号已锁定" in page.locator("#locked-out h1").inner_text()
