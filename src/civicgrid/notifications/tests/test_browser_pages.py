"""Browser test for the notifications admin pages (docs/browser-tests.md): the outbox
(filter by status) and the follows, for a superuser (the only admin user of these lists);
addresses appear masked only."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World
from civicgrid.conftest import browser_login
from civicgrid.notifications.models import Notification, Subscription
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


def test_outbox_and_follows_in_the_admin(page: Any, world: World) -> None:
    case = world.intake(title="楼道堆物堵塞消防通道")  # dispatched: the grid chief is told
    Subscription.objects.create(user=world.leader, case=case)
    told = Notification.objects.filter(recipient=world.chief)
    assert told.exists()
    errors = js_errors(page)
    root = make_user(Role.SYSTEM_ADMIN, world.d.district, username="root", is_superuser=True)
    browser_login(page, root.username)
    rows = admin_changelist(page, "/admin/notifications/notification/", title="消息", contains=("新案件待签收",))
    assert rows.count() == Notification.objects.count()
    status = told.first().status  # type: ignore[union-attr]
    with page.expect_navigation():
        page.click(f"#changelist-filter a[href*='status__exact={status}']")
    assert rows.count() == Notification.objects.filter(status=status).count()
    admin_open_first(page, title="消息")
    admin_changelist(page, "/admin/notifications/subscription/", title="关注", rows=1, contains=(str(world.leader),))
    assert "13800138000" not in page.content()
    assert errors == []
