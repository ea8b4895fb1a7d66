"""Browser test of the public page /open/, anonymous: the map draws the communities from our
GeoJSON coloured by closure rate and the generalised case cells, the list and the closure
table are there, the filters work, and no personal data reaches the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.dashboards.tests.conftest import build_fixture
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "司马建国"
PHONE = "13712345678"


@pytest.fixture
def world(district: SampleDistrict) -> Iterator[World]:
    cache.clear()
    seed_categories(Category)  # a transactional test starts from an emptied database
    w = build_world(district)
    build_fixture(w, now=timezone.now())
    lon, lat = district.grid_center(district.grids[0])
    w.intake(
        category="MS01",
        title=f"{NAME}反映停水 {PHONE}",
        reporter_name=NAME,
        reporter_phone=PHONE,
        address="清泉街小区6号楼",
        lon=lon + 0.00123,
        lat=lat + 0.00077,
        register=True,
    )
    yield w
    cache.clear()


def test_open_page_anonymous(page: Any, world: World) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{page.base_url}/open/")
    assert "/login/" not in page.url
    page.wait_for_function("() => document.getElementById('open-map').dataset.regions === '4'")
    page.wait_for_function("() => Number(document.getElementById('open-map').dataset.cells || 0) > 0")
    option = page.evaluate(
        """() => {
          const o = echarts.getInstanceByDom(document.getElementById('open-map')).getOption();
          const comm = o.series.find((s) => s.id === 'communities');
          const cells = o.series.find((s) => s.id === 'cells');
          return {regions: comm.data.map((d) => [d.name, d.value]), cells: cells.data.map((d) => d.value)};
        }"""
    )
    assert len(option["regions"]) == 4
    assert any(v is not None and v == v for _code, v in option["regions"])  # a closure rate (not NaN)
    located = {(c.lon, c.lat) for c in Case.objects.filter(lon__isnull=False)}
    assert option["cells"] and all(tuple(v) not in located for v in option["cells"])
    html = page.content()
    for secret in (NAME, PHONE, "6号楼"):
        assert secret not in html
    assert "反映停水" in html
    assert page.locator("#closure-table tbody tr").count() >= 4
    assert page.locator("#case-table tbody tr.open-case").count() > 0

    # filter the list: closed cases of 民生服务 in the first community
    page.select_option("#open-status", "closed")
    page.select_option("#open-category", "MS")
    page.select_option("#open-community", world.d.communities[0].code)
    page.click("#open-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "status=closed" in page.url and "category=MS" in page.url
    statuses = page.locator("#case-table tbody tr.open-case td.open-status-closed").count()
    assert statuses == page.locator("#case-table tbody tr.open-case").count()
    page.wait_for_function("() => document.getElementById('open-map').dataset.regions === '4'")
    assert errors == []
