"""The registry page in a browser: filter by status, open a camera, follow its alert to the case."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.cameras.enums import CameraStatus
from civicgrid.cameras.models import Camera
from civicgrid.cameras.tests.conftest import make_cams
from civicgrid.cases.models import Category
from civicgrid.cases.seed import seed_categories
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import SampleDistrict


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_registry_filter_detail_and_case(page: Any, district: SampleDistrict) -> None:
    seed_categories(Category)  # a transactional test starts from flushed tables
    cams = make_cams(district)
    lon, lat = cams.world.point(cams.world.d.grids[1])
    from civicgrid.cameras import services

    services.camera_register(code="CAM-0002", name="停用探头", lon=lon, lat=lat, status=CameraStatus.DISABLED)
    assert cams.alert(Client(), "d-1").status_code == 201  # CAM-0001 online, with a case

    browser_login(page, cams.world.worker.username)
    page.click("#navmenu-command > summary")  # 视频探头 is in the 指挥中心 menu
    page.click("#nav-cameras")
    page.wait_for_selector("#camera-table")
    assert page.locator("tr.camera-row").count() == 2
    assert page.text_content("#count-online") == "1" and page.text_content("#count-disabled") == "1"
    assert page.locator("tr[data-code='CAM-0001'] .cam-badge").text_content() == "在线"

    page.select_option("#f-status", "disabled")
    with page.expect_navigation():
        page.click("#filter-submit")
    assert page.locator("tr.camera-row").count() == 1
    assert page.locator("tr[data-code='CAM-0002'] .cam-badge").text_content() == "停用"

    page.goto(f"{page.base_url}/cameras/")
    with page.expect_navigation():
        page.click("tr[data-code='CAM-0001'] a")
    assert "清泉街1号探头" in (page.text_content("h1") or "")
    case = Camera.objects.get(code="CAM-0001").case_links.get().case
    with page.expect_navigation():
        page.click(f"text={case.tracking_code}")
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert case.title in (page.content() or "")
