"""The phone walk-through: a road chief starts a patrol, the browser records a track with
emulated geolocation, the points upload, the patrol ends and the duty shows 1 of 2."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.conftest import browser_login
from civicgrid.patrols.enums import PatrolStatus
from civicgrid.patrols.models import Patrol
from civicgrid.patrols.tests.conftest import build_patrol_world
from civicgrid.testing.factories import SampleDistrict


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_patrol_on_a_phone(phone_page: Any, district: SampleDistrict, settings: Any) -> None:
    # Emulated positions jump along the road within a second: not a speed to flag here.
    settings.PATROLS_MAX_SPEED_KMH = 100_000
    world = build_patrol_world(district)
    page = phone_page
    page.context.grant_permissions(["geolocation"], origin=page.base_url)
    track = world.road_track(6, offset_m=5)
    page.context.set_geolocation({"longitude": track[0][0], "latitude": track[0][1], "accuracy": 5})
    browser_login(page, world.road_chief.username)
    page.goto(f"{page.base_url}/patrols/")
    assert "0 / 2" in (page.text_content("#duty-count") or "")

    page.click("#patrol-start")
    page.wait_for_selector("#patrol-end:not([hidden])")
    for lon, lat in track[1:]:
        page.wait_for_timeout(400)
        page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
    page.wait_for_function("Number(document.getElementById('patrol-queued').textContent) >= 5")
    with page.expect_navigation():
        page.click("#patrol-end")  # uploads the queue, ends, reloads
    page.wait_for_selector("#patrol-start:not([hidden])")
    assert "1 / 2" in (page.text_content("#duty-count") or "")
    patrol = Patrol.objects.get(worker=world.road_chief)
    assert patrol.status == PatrolStatus.ENDED and patrol.point_count >= 5 and patrol.counts_toward_duty
