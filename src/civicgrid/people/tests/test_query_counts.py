"""The people lists (the search page and GET /api/people/) cost the same number of queries
with 3 residents as with 30, tags and grids included (no N+1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from civicgrid.people.services import PersonRow, person_bulk_create
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db


def _people(district: Any, start: int, end: int) -> None:
    person_bulk_create(
        rows=[
            PersonRow(
                name=f"居民{i}",
                id_number=make_number(300 + i),
                grid=district.grids[i % 2],
                tags=("elderly", "unemployed") if i % 2 else ("elderly",),
            )
            for i in range(start, end)
        ]
    )


def _count(request: Callable[[], Any]) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


@pytest.mark.parametrize("method", ["page", "page_search", "api"])
def test_people_lists_cost_the_same_with_3_or_30_residents(client: Client, district: Any, worker: Any, method: str):
    client.force_login(worker)
    url = reverse("people:search")

    def request() -> Any:
        if method == "page":
            return client.get(url)
        if method == "page_search":
            return client.post(url, {"name": "居民"})
        return client.get("/api/people/")

    marker = '"birth_date"' if method == "api" else "居民"
    _people(district, 0, 3)
    request()  # warm the session
    few, body = _count(request)
    assert few <= 12
    assert body.count(marker) >= 3
    _people(district, 3, 30)
    many, body = _count(request)
    assert many == few, f"{few} queries with 3 residents, {many} with 30"
    assert body.count(marker) >= 30
