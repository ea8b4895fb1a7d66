"""Hot dashboard pages cost the same number of queries with few rows as with many (no N+1):
the rankings page and API with 8 or 128 grids (and more departments), the wall screen's data
with more cases, and the public /open/ page (its cache cleared) with more public cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from civicgrid.accounts.models import Department
from civicgrid.cases.models import Case
from civicgrid.dashboards.tests.conftest import Fixture
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _count(request: Callable[[], Any]) -> int:
    cache.clear()  # measure the computation, not the cache
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200
    return len(captured.captured_queries)


def _same_cost(request: Callable[[], Any], grow: Callable[[], None], most: int) -> None:
    request()  # warm the session
    few = _count(request)
    assert few <= most
    grow()
    many = _count(request)
    assert many == few, f"{few} queries with few rows, {many} with many"


def _more_grids(fx: Fixture) -> None:
    for community in fx.d.communities:
        for k in range(10, 40):
            Area.objects.create(
                code=f"{community.code}{k:02d}",
                name=f"{community.name}第{k}网格",
                level=AreaLevel.GRID,
                parent=community,
            )


def _more_cases(fx: Fixture, n: int = 30) -> None:
    start = Case.objects.count()
    for i in range(start, start + n):
        fx.w.intake(title=f"新案件{i}", idempotency_key=f"qc{i}", grid=fx.d.grids[i % 8])
    assert Case.objects.count() == start + n


def test_rankings_page_and_api_cost_the_same_with_8_or_128_grids(fx: Fixture) -> None:
    client = _client(fx.w.operator)
    page = "/dashboards/rankings/?level=grid&period=2026-Q1"
    api = "/api/dashboards/rankings?level=grid&period=2026-Q1"
    _same_cost(lambda: client.get(page), lambda: _more_grids(fx), 15)
    assert Area.objects.filter(level=AreaLevel.GRID).count() == 128
    _same_cost(lambda: client.get(api), lambda: _more_cases(fx), 12)
    assert client.get(api).json()["count"] == 128


def test_rankings_of_departments_cost_the_same_with_more_departments(fx: Fixture) -> None:
    client = _client(fx.w.operator)

    def grow() -> None:
        Department.objects.bulk_create(
            Department(code=f"qc{i}", name=f"部门{i}", area=fx.d.district) for i in range(30)
        )

    _same_cost(lambda: client.get("/dashboards/rankings/?level=department&period=2026-Q1"), grow, 15)


def test_wall_screen_data_costs_the_same_with_more_cases(fx: Fixture) -> None:
    client = _client(fx.w.operator)
    _same_cost(lambda: client.get("/api/dashboards/screen"), lambda: _more_cases(fx), 30)


def test_the_public_page_costs_the_same_with_more_public_cases(fx: Fixture) -> None:
    client = Client()
    _same_cost(lambda: client.get(reverse("open:index")), lambda: _more_cases(fx), 30)
    _same_cost(lambda: client.get(reverse("api:open_cases")), lambda: _more_cases(fx, 10), 10)
