"""Browser test of the in-app inbox: a dispatched case tells the grid chief, the nav badge
(loaded by htmx from /notifications/badge/, not rendered with the page) shows the unread
count, and read marks (one, by opening it, all) move it."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World
from civicgrid.conftest import browser_login
from civicgrid.notifications.models import Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


def badge_text(page: Any) -> str:
    page.wait_for_selector("#nav-notifications #notif-badge", state="attached")
    return (page.text_content("#nav-notifications #notif-badge") or "").strip()


def goto_with_badge(page: Any, path: str) -> Any:
    """Open a page and wait for the htmx badge request it makes; returns the page response."""
    with page.expect_response(lambda r: r.url.endswith("/notifications/badge/") and r.status == 200):
        response = page.goto(f"{page.base_url}{path}")
    page.wait_for_selector("#nav-notifications #notif-badge", state="attached")
    return response


def test_dispatch_notifies_the_grid_chief_badge_and_read_marks(page: Any, world: World) -> None:
    browser_login(page, world.chief.username)
    response = goto_with_badge(page, "/cases/")
    assert 'id="notif-badge"' not in response.text()  # not counted while rendering the page
    assert badge_text(page) == ""
    assert "is-empty" in (page.get_attribute("#notif-badge", "class") or "")

    # The operator takes two calls; routing dispatches both to grid 0's chief.
    first = world.intake(title="楼道堆物堵塞消防通道")
    second = world.intake(title="小区门口路灯不亮")
    assert first.status == second.status == S.DISPATCHED
    assert first.current_handler_id == second.current_handler_id == world.chief.pk
    assert not Notification.objects.filter(recipient=world.operator).exists()  # the actor is not told

    goto_with_badge(page, "/cases/")
    assert badge_text(page) == "2"
    page.click("#nav-notifications")
    page.wait_for_url("**/notifications/")
    rows = page.locator("#notif-list tr.is-unread")
    assert rows.count() == 2
    text = page.text_content("#notif-list") or ""
    assert "新案件待签收" in text and first.title in text and second.title in text
    assert badge_text(page) == "2"

    # Mark one read.
    row = page.locator("#notif-list tr", has_text=first.title)
    row.locator("button.mark-read").click()
    page.wait_for_url("**/notifications/")
    assert "is-read" in (page.locator("#notif-list tr", has_text=first.title).get_attribute("class") or "")
    assert badge_text(page) == "1"
    assert Notification.objects.get(recipient=world.chief, object_id=str(first.pk)).read_at is not None

    # Only unread.
    page.click("text=只看未读")
    page.wait_for_url("**/notifications/?unread=1")
    assert page.locator("#notif-list tr[data-id]").count() == 1
    assert second.title in (page.text_content("#notif-list") or "")

    # Opening the other one goes to the case and marks it read.
    page.locator("#notif-list tr", has_text=second.title).locator("button[name=go]").click()
    page.wait_for_url(f"**/cases/{second.pk}/")
    assert page.text_content("#tracking-code") == second.tracking_code
    assert badge_text(page) == ""
    assert not Notification.objects.filter(recipient=world.chief, read_at__isnull=True).exists()


def test_mark_all_read(page: Any, world: World) -> None:
    for n in range(3):
        world.intake(title=f"占道经营第{n + 1}处")
    browser_login(page, world.chief.username)
    goto_with_badge(page, "/notifications/")
    assert badge_text(page) == "3"
    assert page.locator("#notif-list tr.is-unread").count() == 3
    page.click("#notif-read-all")
    page.wait_for_url("**/notifications/")
    assert page.locator("#notif-list tr.is-unread").count() == 0
    assert page.locator("#notif-list tr.is-read").count() == 3
    assert badge_text(page) == ""
    # Another user's inbox is their own: the street admin was told nothing of these.
    page.context.clear_cookies()
    browser_login(page, world.street_admin.username)
    goto_with_badge(page, "/notifications/")
    assert page.locator("#notif-list tr[data-id]").count() == 0
    assert "暂无消息" in (page.text_content("#notif-list") or "")
