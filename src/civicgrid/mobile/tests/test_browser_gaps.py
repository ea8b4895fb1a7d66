"""Browser tests of the phone app pages no other browser test opened (docs/browser-tests.md,
"known gaps"), on a 360 x 740 screen: 消息 (/m/messages/, the tab's unread badge, the list,
a message leading to its case) and the offline page (/m/offline/, what the service worker
shows for a page it never kept, with the way back to the kept task list)."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World
from civicgrid.conftest import browser_login
from civicgrid.notifications.models import Notification
from civicgrid.testing.browser import js_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFLINE_TEXT = "您当前处于离线状态, 此页面还没有保存在手机上。已保存的操作会在联网后自动提交。"


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


def fits_the_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1


def test_messages_tab_lists_the_users_messages(phone_page: Any, world: World) -> None:
    page = phone_page
    first = world.intake(title="楼道堆物堵塞消防通道")  # both dispatched to grid 0's chief
    second = world.intake(title="小区门口路灯不亮")
    Notification.objects.filter(recipient=world.chief, object_id=str(first.pk)).update(read_at=first.received_at)
    world.intake(title="别的网格的井盖缺失", grid=world.d.grids[1])  # not the chief's
    errors = js_errors(page)
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/m/")
    assert (page.text_content("#tab-messages .m-badge") or "").strip() == "1"

    with page.expect_navigation():
        page.click("#tab-messages")
    assert page.url.endswith("/m/messages/")
    assert (page.text_content(".m-title") or "").strip() == "消息"
    assert "on" in (page.get_attribute("#tab-messages", "class") or "")
    items = page.locator("#message-list li.m-msg")
    assert items.count() == 2
    texts = items.all_inner_texts()
    assert sum(first.title in t for t in texts) == 1 and sum(second.title in t for t in texts) == 1
    assert all("新案件待签收" in t for t in texts)
    assert "别的网格的井盖缺失" not in (page.text_content("#message-list") or "")
    unread = page.locator("#message-list li.m-msg.unread")
    assert unread.count() == 1 and second.title in (unread.inner_text() or "")
    assert second.tracking_code in (unread.inner_text() or "")  # the body names the case
    fits_the_phone(page)

    # A message opens its case in the phone app; the full inbox is one link away.
    assert page.locator("main a", has_text="全部消息与订阅设置").get_attribute("href") == "/notifications/"
    with page.expect_navigation():
        unread.locator("a").click()
    assert page.url.endswith(f"/m/tasks/{second.pk}/")
    assert second.title in (page.text_content("main") or "")
    fits_the_phone(page)
    assert errors == []


def test_messages_tab_when_there_are_none(phone_page: Any, world: World) -> None:
    page = phone_page
    errors = js_errors(page)
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/m/messages/")
    assert page.locator("#tab-messages .m-badge").count() == 0
    assert (page.text_content("#message-list .m-empty") or "").strip() == "暂无消息"
    assert errors == []


def test_offline_page_for_a_page_never_kept_then_back_to_the_kept_tasks(phone_page: Any, world: World) -> None:
    page = phone_page
    case = world.intake(title="小区门口路灯不亮")
    errors = js_errors(page)
    browser_login(page, world.chief.username)

    # Online, the page opens at its address, with no user data.
    page.goto(f"{page.base_url}/m/offline/")
    assert (page.text_content("h1") or "").strip() == "网络不可用"
    assert (page.text_content("#offline-page") or "").strip() == OFFLINE_TEXT
    assert world.chief.username not in page.content() and case.title not in page.content()

    page.goto(f"{page.base_url}/m/")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.reload()  # the list, now kept by the service worker
    page.wait_for_selector(f"li[data-case='{case.pk}']")

    page.context.set_offline(True)
    page.goto(f"{page.base_url}/m/tasks/{case.pk + 1000}/")  # never opened, so never kept
    assert (page.text_content("h1") or "").strip() == "网络不可用"
    assert (page.text_content("#offline-page") or "").strip() == OFFLINE_TEXT
    fits_the_phone(page)
    with page.expect_navigation():
        page.get_by_role("link", name="返回我的任务").click()
    assert page.url.endswith("/m/")
    assert page.get_attribute("body", "data-cached") == "1"
    assert "离线: 显示上次的数据, 更新于" in (page.text_content("#offline-banner") or "")
    page.wait_for_selector(f"li[data-case='{case.pk}']")
    assert case.title in (page.text_content(f"li[data-case='{case.pk}']") or "")
    page.context.set_offline(False)
    assert errors == []
