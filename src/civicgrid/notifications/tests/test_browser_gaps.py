"""Browser tests of the 关注 buttons with what following is for (docs/browser-tests.md, "known
gaps"): a community worker follows a grid from its page (and a community from its page, then
stops), a leader follows a case from its page; a later change of a case there reaches each
follower's inbox (/notifications/), and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.cases import services as case_services
from civicgrid.cases.enums import CaseAction
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World
from civicgrid.conftest import browser_login
from civicgrid.notifications.models import Notification, Subscription
from civicgrid.testing.browser import js_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLLOWERS_SUBJECT = "关注的案件有新进展: "


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


def _toggle(page: Any, *, to: str) -> None:
    """Click the page's 关注 button and wait for htmx to swap in the new state."""
    page.click(".follow-btn")
    page.wait_for_selector(f".follow-btn[data-following='{to}']")
    assert page.locator(".follow-form").count() == 1  # swapped in place, not nested


def _inbox_rows(page: Any) -> list[str]:
    page.goto(f"{page.base_url}/notifications/")
    assert (page.text_content("main h1") or "").strip() == "消息"
    return [t.strip() for t in page.locator("#notif-list tr[data-id]").all_inner_texts()]


def test_follow_a_grid_from_its_page_then_a_case_there_is_in_the_inbox(page: Any, world: World) -> None:
    d = world.d
    grid, community = d.grids[0], d.communities[0]
    errors = js_errors(page)
    browser_login(page, world.worker.username)

    # A community: followed, then no longer (the toggle is the server's state).
    page.goto(f"{page.base_url}/territory/area/{community.code}/")
    assert (page.text_content("#follow-area .follow-btn") or "").strip() == "关注"
    _toggle(page, to="1")
    assert Subscription.objects.filter(user=world.worker, area_code=community.code, case__isnull=True).exists()
    page.reload()
    assert page.get_attribute("#follow-area .follow-btn", "data-following") == "1"
    _toggle(page, to="0")
    assert not Subscription.objects.filter(user=world.worker, area_code=community.code).exists()

    # The grid: followed from the grid page.
    page.goto(f"{page.base_url}/territory/grid/{grid.code}/")
    assert grid.name in (page.text_content("main h1") or "")
    _toggle(page, to="1")
    assert (page.text_content("#follow-area .follow-btn") or "").strip() == "已关注"
    assert page.get_attribute("#follow-area .follow-btn", "aria-pressed") == "true"
    sub = Subscription.objects.get(user=world.worker, case__isnull=True)
    assert sub.area_code == grid.code

    # The command centre takes a call in that grid and one in the other street.
    case = world.intake(title="楼道堆物堵塞消防通道")
    elsewhere = world.intake(title="别的街道的井盖缺失", grid=d.grids[-1])
    assert case.area_code == grid.code and case.current_handler_id == world.chief.pk
    assert case.status == S.DISPATCHED

    rows = _inbox_rows(page)
    assert rows and all(case.title in row for row in rows)
    assert any(FOLLOWERS_SUBJECT + case.title in row for row in rows)
    assert elsewhere.title not in (page.text_content("#notif-list") or "")
    assert Notification.objects.filter(recipient=world.worker, object_id=str(case.pk)).exists()
    assert not Notification.objects.filter(recipient=world.worker, object_id=str(elsewhere.pk)).exists()
    # The message leads to the case.
    with page.expect_navigation():
        page.locator("#notif-list tr[data-id]").first.locator("button[name=go]").click()
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert page.text_content("#tracking-code") == case.tracking_code
    assert errors == []


def test_follow_a_case_from_its_page_then_its_next_step_is_in_the_inbox(page: Any, world: World) -> None:
    case = world.intake(title="小区门口路灯不亮")
    other = world.intake(title="占道经营")
    errors = js_errors(page)
    browser_login(page, world.leader.username)
    assert _inbox_rows(page) == []
    assert "暂无消息" in (page.text_content("#notif-list") or "")

    page.goto(f"{page.base_url}/cases/{case.pk}/")
    assert (page.text_content(".follow-btn") or "").strip() == "关注"
    _toggle(page, to="1")
    assert (page.text_content(".follow-btn") or "").strip() == "已关注"
    assert Subscription.objects.filter(user=world.leader, case=case).exists()

    # The grid chief signs for both cases: only the followed one is told to the leader.
    for item in (case, other):
        item.refresh_from_db()
        case_services.case_transition(
            actor=world.chief, case=item, action=CaseAction.ACKNOWLEDGE, expected_version=item.version
        )
    case.refresh_from_db()
    assert case.status == S.HANDLING

    rows = _inbox_rows(page)
    assert len(rows) == 1
    assert FOLLOWERS_SUBJECT + case.title in rows[0]
    assert "签收, 当前状态: 处置中" in rows[0]
    assert other.title not in (page.text_content("#notif-list") or "")
    assert page.locator("#notif-list tr.is-unread").count() == 1
    note = Notification.objects.get(recipient=world.leader)
    assert note.object_id == str(case.pk) and note.link == f"/cases/{case.pk}/"
    assert errors == []
