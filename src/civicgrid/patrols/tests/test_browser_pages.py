"""Browser test for the patrol admin pages (docs/browser-tests.md): the patrol requirements
list, and the patrols list with its 核查状态 filter and the bulk approval action."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.patrols.enums import ReviewStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy
from civicgrid.patrols.tests.conftest import build_patrol_world, walk
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patrol_admin_filters_and_approves(page: Any, district: SampleDistrict) -> None:
    world = build_patrol_world(district)
    PatrolPolicy.objects.create(area_code=district.streets[0].code, times_per_day=3, coverage_threshold=0.7)
    world.road.grids.add(district.grids[0])
    walk(world.grid_chief, world.grid_track())  # a plausible walk
    flagged = walk(world.road_chief, world.road_track(), step_s=1)  # too fast: waits for review
    assert flagged.review_status == ReviewStatus.PENDING

    errors = js_errors(page)
    # The review actions need the review capability (a street administrator's) and the admin
    # (a superuser's flag), as in test_admin.py.
    admin = make_user(Role.STREET_ADMIN, district.streets[0], username="jd", is_superuser=True)
    browser_login(page, admin.username)
    admin_changelist(
        page, "/admin/patrols/patrolpolicy/", title="巡查要求", rows=1, contains=(district.streets[0].code,)
    )
    rows = admin_changelist(
        page, "/admin/patrols/patrol/", title="巡查", rows=2, contains=(str(world.road_chief), str(world.grid_chief))
    )
    with page.expect_navigation():
        page.click("#changelist-filter a[href*='review=pending']")
    assert rows.count() == 1
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "approve_selected")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "已核查 1 条, 失败 0 条" in (page.text_content(".messagelist") or "")
    assert Patrol.objects.get(pk=flagged.pk).review_status == ReviewStatus.APPROVED
    admin_changelist(page, "/admin/patrols/patrol/", title="巡查", rows=2)
    admin_open_first(page, title="巡查")
    assert errors == []
