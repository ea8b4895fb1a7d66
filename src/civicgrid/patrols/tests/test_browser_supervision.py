"""Browser: the compliance page (period switch, missed lists, drill-down, today's tracks map,
Excel download) and the review of a flagged track (map, reason required, approve)."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.patrols.enums import ReviewStatus
from civicgrid.patrols.models import Patrol
from civicgrid.patrols.tests.conftest import build_patrol_world, walk
from civicgrid.testing.factories import SampleDistrict, make_user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_compliance_page(page: Any, district: SampleDistrict) -> None:
    world = build_patrol_world(district)
    walk(world.road_chief, world.road_track())  # today: 1 of 2, counted
    walk(world.grid_chief, world.grid_track(), step_s=1)  # too fast: flagged
    make_user(Role.STREET_ADMIN, district.streets[0], username="jdadmin")
    browser_login(page, "jdadmin")
    page.goto(f"{page.base_url}/patrols/compliance/")
    page.wait_for_selector("#compliance-table")
    assert "兴隆巷街道" in (page.text_content("h1") or "")
    assert page.locator("#missed-today li").count() == 2  # nobody has two counted patrols yet
    row = page.locator('#compliance-table tr[data-username="luzhang"]')
    assert (row.locator('[data-key="counted"]').text_content() or "").strip() == "1/2"
    # Today's tracks on the map: both lines drawn.
    page.wait_for_function("document.getElementById('tracks-map').dataset.ready === '1'")
    assert page.get_attribute("#tracks-map", "data-tracks_loaded") == "2"
    assert page.locator("#tracks-map canvas").count() >= 1
    # Period switch: this week, a day per column.
    page.select_option("#period-select", "week")
    page.wait_for_selector("table.compliance-matrix")
    assert page.locator("table.compliance-matrix thead th.day").count() == 7
    # Drill down to the community.
    with page.expect_navigation():
        page.click(f'#compliance-children a[href^="/patrols/compliance/{district.communities[0].code}/"]')
    assert page.locator('#compliance-table tr[data-username="wanggezhang"]').count() == 1
    assert page.locator('#compliance-table tr[data-username="luzhang"]').count() == 0
    with page.expect_download() as download:
        page.click("#compliance-export")
    assert download.value.suggested_filename.endswith(".xlsx")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_review_a_flagged_track(page: Any, district: SampleDistrict) -> None:
    world = build_patrol_world(district)
    world.road.grids.add(district.grids[0])
    flagged = walk(world.road_chief, world.road_track(), step_s=1)
    assert flagged.review_status == ReviewStatus.PENDING
    make_user(Role.COMMAND_OPERATOR, district.district, username="zxop")
    browser_login(page, "zxop")
    page.goto(f"{page.base_url}/patrols/review/")
    assert "移动速度过快" in (page.text_content(f'tr[data-patrol="{flagged.pk}"]') or "")
    with page.expect_navigation():
        page.click(f'tr[data-patrol="{flagged.pk}"] a.btn')
    page.wait_for_function("document.getElementById('review-map').dataset.ready === '1'")
    assert int(page.get_attribute("#review-map", "data-points") or 0) >= 2
    # A rejection needs a reason.
    page.click("#review-reject")
    page.wait_for_selector("#review-error")
    assert "请填写不通过的原因" in (page.text_content("#review-error") or "")
    page.fill("#review-note", "已电话核实: 骑电动车巡查")
    with page.expect_navigation():
        page.click("#review-approve")
    page.wait_for_selector("#review-done")
    assert page.locator(f'tr[data-patrol="{flagged.pk}"]').count() == 0
    flagged.refresh_from_db()
    assert flagged.review_status == ReviewStatus.APPROVED and flagged.counts_toward_duty
    assert Patrol.objects.get(pk=flagged.pk).review_note == "已电话核实: 骑电动车巡查"
