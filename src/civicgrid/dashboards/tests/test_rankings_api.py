"""GET /api/dashboards/rankings is paginated (limit/offset, at most 500 a page) and keeps the
totals of ALL units on every page: the pages together are the whole ranking, the totals equal
the page's and a raw recount."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.assessment.periods import parse_period
from civicgrid.assessment.selectors import COUNT_FIELDS, assessment_ranking
from civicgrid.dashboards.tests.conftest import Fixture, counted, tally
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

pytestmark = pytest.mark.django_db
QUARTER = parse_period("2026-Q1")
URL = "/api/dashboards/rankings"


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _get(client: Client, **params: str | int) -> Any:
    return client.get(URL, params)


def test_pages_make_up_the_whole_ranking_with_the_totals_of_all_units(fx: Fixture) -> None:
    client = _client(fx.w.operator)
    ranking = assessment_ranking(fx.w.operator, period=QUARTER, level="grid")
    n = len(ranking.rows)
    assert n == 8
    raw = tally(counted(fx.cases, fx.w.operator, QUARTER.start, QUARTER.end, fx.d.district.code))
    in_grids = tally([c for c in counted(fx.cases, fx.w.operator, QUARTER.start, QUARTER.end) if c.grid_id is not None])
    seen: list[tuple[str, float | None, int | None]] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        body = _get(client, period="2026-Q1", level="grid", limit=3, offset=offset).json()
        pages += 1
        assert body["count"] == n and body["offset"] == offset and body["limit"] == 3
        assert len(body["rows"]) == min(3, n - offset)
        totals = body["totals"]
        assert totals["units"] == n
        assert totals["ranked"] == sum(1 for r in ranking.rows if r.rank is not None)
        for name in COUNT_FIELDS:
            assert totals[name] == sum(getattr(r, name) for r in ranking.rows), name
        assert totals["received"] == in_grids["received"] and totals["closed"] == in_grids["closed"]
        seen += [(r["key"], r["score"], r["rank"]) for r in body["rows"]]
        offset = body["next_offset"]
    assert pages == 3
    assert seen == [(r.key, r.score, r.rank) for r in ranking.rows]
    assert raw["received"] >= in_grids["received"]  # the district-only case is on no grid


def test_default_page_and_limits(fx: Fixture) -> None:
    client = _client(fx.w.operator)
    body = _get(client, period="2026-Q1", level="grid").json()
    assert body["limit"] == 100 and body["offset"] == 0 and body["next_offset"] is None
    assert len(body["rows"]) == body["count"] == 8
    past = _get(client, period="2026-Q1", level="grid", offset=50).json()
    assert past["rows"] == [] and past["count"] == 8 and past["totals"] == body["totals"]
    for name, value in (("limit", 0), ("limit", 501), ("offset", -1)):
        response = _get(client, level="grid", **{name: value})
        assert response.status_code == 422, (name, value)
        assert response.json()["error"]["code"] == "invalid_input"
    assert _get(client, level="grid", limit=500).status_code == 200


def test_a_page_of_many_grids_is_one_page(fx: Fixture) -> None:
    extra = [
        Area(code=f"{c.code}{k:02d}", name=f"{c.name}第{k}网格", level=AreaLevel.GRID, parent=c)
        for c in fx.d.communities
        for k in range(10, 40)
    ]
    for area in extra:
        area.save()
    client = _client(fx.w.operator)
    body = _get(client, period="2026-Q1", level="grid", limit=50, offset=100).json()
    assert body["count"] == 8 + len(extra) == 128
    assert len(body["rows"]) == 28 and body["next_offset"] is None
    first = _get(client, period="2026-Q1", level="grid", limit=50).json()
    assert len(first["rows"]) == 50 and first["next_offset"] == 50
    assert first["totals"] == body["totals"]
