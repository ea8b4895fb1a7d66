"""A grid-level ranking with more units than one page (a district has 500+ grids): the page
shows one page at a time with the totals of all units; the Excel export holds every unit and the
same totals, which equal a raw recount."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from civicgrid.assessment.periods import parse_period
from civicgrid.cases.models import Case
from civicgrid.dashboards import rankings
from civicgrid.dashboards.tests.conftest import Fixture, counted, tally
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

pytestmark = pytest.mark.django_db
QUARTER = parse_period("2026-Q1")
URL = "/dashboards/rankings/?period=2026-Q1&level=grid"
ROW = re.compile(r'data-key="(\d+)" data-score="([\d.]*)" data-rank="(\d*)" data-received="(\d+)"')


@pytest.fixture
def many_grids(fx: Fixture) -> list[Area]:
    """40 more grids in each community (168 in all) and the fixture's cases spread over them, so
    ranked units sit on both sides of a page break."""
    extra = []
    for community in fx.d.communities:
        for k in range(10, 50):
            extra.append(
                Area.objects.create(
                    code=f"{community.code}{k:02d}",
                    name=f"{community.name}第{k}网格",
                    level=AreaLevel.GRID,
                    parent=community,
                )
            )
    grids = [*fx.d.grids, *extra]
    for i, case in enumerate(Case.objects.exclude(grid=None).order_by("id")):
        grid = grids[(i * 7) % len(grids)]
        Case.objects.filter(pk=case.pk).update(grid=grid, area_code=grid.code)
    return grids


def _page_rows(client: Client, url: str) -> list[tuple[str, float | None, int | None, int]]:
    response = client.get(url)
    assert response.status_code == 200, url
    return [
        (k, float(s) if s else None, int(r) if r else None, int(n))
        for k, s, r, n in ROW.findall(response.content.decode())
    ]


def _totals(html: str) -> dict[str, int]:
    found = re.search(
        r'id="ranking-totals" data-units="(\d+)" data-ranked="(\d+)" data-received="(\d+)" data-closed="(\d+)"', html
    )
    assert found, "totals missing"
    return dict(zip(("units", "ranked", "received", "closed"), map(int, found.groups()), strict=True))


def test_export_holds_every_grid_and_the_page_totals(fx: Fixture, many_grids: list[Area], monkeypatch: Any) -> None:
    client = Client()
    client.force_login(fx.w.operator)
    assert len(many_grids) > rankings.PAGE_SIZE
    first = client.get(URL)
    html = first.content.decode()
    page_one = _page_rows(client, URL)
    assert len(page_one) == rankings.PAGE_SIZE and 'id="ranking-next"' in html
    page_two = _page_rows(client, URL + "&page=2")
    shown = page_one + page_two
    assert len(shown) == len(many_grids)  # every grid, over two pages
    assert {k for k, *_ in shown} == {g.code for g in many_grids}

    # the totals (of all units, on every page) equal a raw recount of the cases in grids
    cases = list(Case.objects.all())
    recount = tally([c for c in counted(cases, fx.w.operator, QUARTER.start, QUARTER.end) if c.grid_id])
    totals = _totals(html)
    assert totals == _totals(client.get(URL + "&page=2").content.decode())
    assert totals["units"] == len(many_grids)
    assert totals["received"] == recount["received"] == sum(n for *_, n in shown) > 0
    assert totals["closed"] == recount["closed"]
    assert totals["ranked"] == sum(1 for _k, _s, r, _n in shown if r is not None) > 0

    export = client.get(URL + "&format=xlsx&page=2")  # the page number does not cut the export
    assert export.status_code == 200
    ws = load_workbook(io.BytesIO(export.content)).active
    assert ws is not None
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    labels = {r[0]: r[1] for r in values if r and r[0]}
    assert labels["单位数"] == totals["units"] and labels["参与排名单位数"] == totals["ranked"]
    assert labels["受理量合计"] == totals["received"] and labels["办结量合计"] == totals["closed"]
    header = next(i for i, r in enumerate(values) if r and r[0] == "名次")
    body = values[header + 1 :]
    assert [(r[2], r[3], r[0] if r[0] != "不参与排名" else None, r[4]) for r in body] == shown
    assert sum(r[4] for r in body) == totals["received"]
    assert ws.freeze_panes == f"A{header + 2}"

    # a smaller page size moves the break into the ranked units; the export does not change
    monkeypatch.setattr(rankings, "PAGE_SIZE", 7)
    pages = [_page_rows(client, f"{URL}&page={n}") for n in range(1, -(-len(many_grids) // 7) + 1)]
    assert [row for page in pages for row in page] == shown
    assert pages[1][0][2] is not None  # ranked units on page 2
    again = load_workbook(io.BytesIO(client.get(URL + "&format=xlsx").content)).active
    assert again is not None
    assert sum(1 for _ in again.iter_rows(min_row=header + 2)) == len(many_grids)
