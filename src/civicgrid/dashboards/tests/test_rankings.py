"""Rankings against a raw recount, the weighted score, units without cases, scope, the
drill-down from a score, the page, the API and the Excel export (same function as the page)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from civicgrid.accounts.models import Department
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.periods import parse_period
from civicgrid.assessment.selectors import assessment_ranking
from civicgrid.audit.models import AuditEvent
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.tests.conftest import Fixture, counted, share, tally
from civicgrid.territory.models import Area

pytestmark = pytest.mark.django_db
QUARTER = parse_period("2026-Q1")


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _expected_score(t: dict[str, int], scheme: AssessmentScheme) -> float | None:
    if not t["received"]:
        return None
    parts = [
        (scheme.weight_on_time_sign_for, share(t["signed_on_time"], t["dispatched"])),
        (scheme.weight_resolution, share(t["resolved"], t["evaluated"])),
        (scheme.weight_satisfaction, share(t["satisfied"], t["evaluated"])),
        (scheme.weight_closure, share(t["closed"], t["received"])),
        (scheme.weight_rehandling, None if not t["received"] else 1 - (share(t["rehandled"], t["received"]) or 0.0)),
    ]
    used = [(int(w), float(v)) for w, v in parts if v is not None and w > 0]
    return round(100.0 * sum(w * v for w, v in used) / sum(w for w, _v in used), 2)


@pytest.mark.parametrize("level", ["street", "community", "grid"])
def test_area_ranking_equals_a_raw_recount(fx: Fixture, level: str) -> None:
    user = fx.w.operator
    ranking = assessment_ranking(user, period=QUARTER, level=level)
    scheme = AssessmentScheme.objects.get()
    assert ranking.scheme == scheme
    units = list(Area.objects.filter(level=level).order_by("code"))
    assert {r.key for r in ranking.rows} == {u.code for u in units}  # every unit, with or without cases
    for row in ranking.rows:
        t = tally(counted(fx.cases, user, QUARTER.start, QUARTER.end, row.key))
        assert row.received == t["received"]
        assert row.closed == t["closed"]
        assert row.closure_rate == share(t["closed"], t["received"])
        assert row.on_time_sign_for_rate == share(t["signed_on_time"], t["dispatched"])
        assert row.satisfaction_rate == share(t["satisfied"], t["evaluated"])
        assert row.resolution_rate == share(t["resolved"], t["evaluated"])
        assert row.rehandling_rate == share(t["rehandled"], t["received"])
        assert row.score == pytest.approx(_expected_score(t, scheme), abs=0.011)
    ranked = [r for r in ranking.rows if r.rank is not None]
    scores = [r.score or 0.0 for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0].rank == 1
    for row in ranking.rows:
        assert (row.rank is None) == (row.received == 0)
    if level == "grid":
        # grids 3 and 7 have no cases in the fixture: listed, unranked, at the end
        empty = [r for r in ranking.rows if r.received == 0]
        assert {fx.d.grids[3].code, fx.d.grids[7].code} <= {r.key for r in empty}
        assert ranking.rows[-len(empty) :] == empty


def test_department_ranking(fx: Fixture) -> None:
    ranking = assessment_ranking(fx.w.operator, period=QUARTER, level="department")
    police = fx.w.police
    row = next(r for r in ranking.rows if r.key == f"dept:{police.pk}")
    t = tally(counted(fx.cases, fx.w.operator, QUARTER.start, QUARTER.end, department_id=police.pk))
    assert row.received == t["received"] > 0
    assert row.label == police.name and row.rank == 1
    idle = Department.objects.create(code="idle", name="空闲部门", area=fx.d.district)
    again = assessment_ranking(fx.w.operator, period=QUARTER, level="department")
    idle_row = next(r for r in again.rows if r.key == f"dept:{idle.pk}")
    assert idle_row.received == 0 and idle_row.rank is None and idle_row.score is None


def test_weights_change_the_score(fx: Fixture) -> None:
    before = {r.key: r.score for r in assessment_ranking(fx.w.operator, period=QUARTER, level="street").rows}
    AssessmentScheme.objects.update(
        weight_on_time_sign_for=0, weight_resolution=0, weight_satisfaction=0, weight_closure=100, weight_rehandling=0
    )
    after = assessment_ranking(fx.w.operator, period=QUARTER, level="street")
    for row in after.rows:
        assert row.score == (round(100 * row.closure_rate, 2) if row.closure_rate is not None else None)
    assert {r.key: r.score for r in after.rows} != before


def test_a_street_ranks_only_its_own(fx: Fixture) -> None:
    admin = fx.w.street_admin
    streets = assessment_ranking(admin, period=QUARTER, level="street")
    assert [r.key for r in streets.rows] == [fx.d.streets[0].code]
    communities = assessment_ranking(admin, period=QUARTER, level="community")
    assert {r.key for r in communities.rows} == {fx.d.communities[0].code, fx.d.communities[1].code}
    with pytest.raises(NotFound):
        assessment_ranking(admin, period=QUARTER, level="community", area_code=fx.d.streets[1].code)
    client = _client(admin)
    assert client.get(f"/dashboards/rankings/?level=grid&area={fx.d.streets[1].code}").status_code == 404
    response = client.get(f"/api/dashboards/rankings?level=grid&area={fx.d.streets[1].code}")
    assert response.status_code == 404
    # the operator ranking the same street sees the same figures
    mine = {r.key: r for r in communities.rows}
    theirs = {
        r.key: r
        for r in assessment_ranking(
            fx.w.operator, period=QUARTER, level="community", area_code=fx.d.streets[0].code
        ).rows
    }
    assert mine == theirs


def test_bad_input(fx: Fixture) -> None:
    with pytest.raises(ValidationError):
        assessment_ranking(fx.w.operator, period=QUARTER, level="province")
    client = _client(fx.w.operator)
    page = client.get("/dashboards/rankings/?period=2026-13")
    assert page.status_code == 400 and "考核周期格式不正确" in page.content.decode()
    api = client.get("/api/dashboards/rankings?level=town")
    assert api.status_code == 400
    assert api.json()["error"]["fields"]["level"]
    assert _client(fx.sysadmin).get("/dashboards/rankings/").status_code == 403


def _count_on_page(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    found = re.search(rb'id="drill-count" data-count="(\d+)"', response.content)
    assert found
    return int(found.group(1))


def test_page_api_export_and_drill_down_agree(fx: Fixture) -> None:
    client = _client(fx.w.operator)
    ranking = assessment_ranking(fx.w.operator, period=QUARTER, level="community")
    page = client.get("/dashboards/rankings/?period=2026-Q1&level=community")
    assert page.status_code == 200
    html = page.content.decode()
    page_rows = re.findall(r'data-key="(\d+)" data-score="([\d.]*)" data-rank="(\d*)" data-received="(\d+)"', html)
    assert [(k, float(s) if s else None, int(r) if r else None, int(n)) for k, s, r, n in page_rows] == [
        (row.key, row.score, row.rank, row.received) for row in ranking.rows
    ]
    api = client.get("/api/dashboards/rankings?period=2026-Q1&level=community").json()
    assert api["period"] == "2026-Q1" and api["start"] == "2026-01-01" and api["end"] == "2026-03-31"
    assert [(r["key"], r["score"], r["rank"]) for r in api["rows"]] == [(r.key, r.score, r.rank) for r in ranking.rows]
    assert api["scheme"]["weight_satisfaction"] == ranking.scheme.weight_satisfaction
    # the score drills down to the cases behind it, and each rate to its numerator
    for row, api_row in zip(ranking.rows, api["rows"], strict=True):
        assert _count_on_page(client, api_row["url"]) == row.received
    top = ranking.rows[0]
    links = re.search(rf'data-key="{top.key}".*?</tr>', html, re.S)
    assert links
    closure_url = re.search(r'data-metric="closure_rate"[^>]*><a href="([^"]+)"', links.group(0))
    assert closure_url and _count_on_page(client, closure_url.group(1).replace("&amp;", "&")) == top.closed

    export = client.get("/dashboards/rankings/?period=2026-Q1&level=community&format=xlsx")
    assert export.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(export.content))
    ws = wb.active
    assert ws is not None
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(values) if r and r[0] == "名次")
    body = values[header + 1 :]
    assert [(r[2], r[3], r[4]) for r in body] == [(row.key, row.score, row.received) for row in ranking.rows]
    assert [r[0] for r in body] == [row.rank if row.rank is not None else "不参与排名" for row in ranking.rows]
    closure_col = values[header].index("办结率")
    assert [r[closure_col] for r in body] == [row.closure_rate for row in ranking.rows]
    event = AuditEvent.objects.get(action="export", object_type="assessment.ranking")
    assert event.changes["filters"]["after"]["period"] == "2026-Q1"


def test_period_and_level_switch_links(fx: Fixture) -> None:
    html = _client(fx.w.operator).get("/dashboards/rankings/?period=2026-02&level=grid").content.decode()
    assert 'id="kind-quarter" class="" ' not in html
    assert "period=2026-Q1&amp;level=grid" in html  # the quarter of February
    assert "period=2026&amp;level=grid" in html
    assert "period=2026-01&amp;level=grid" in html and "period=2026-03&amp;level=grid" in html  # previous / next
    assert "period=2026-02&amp;level=department" in html


def test_ranking_query_count(fx: Fixture, django_assert_max_num_queries: Any) -> None:
    client = _client(fx.w.operator)
    client.get("/dashboards/rankings/?level=grid")
    with django_assert_max_num_queries(15):
        assert client.get("/dashboards/rankings/?level=grid&period=2026-Q1").status_code == 200
    extra = [Department(code=f"d{i}", name=f"部门{i}", area=fx.d.district) for i in range(20)]
    Department.objects.bulk_create(extra)
    with django_assert_max_num_queries(15):
        assert client.get("/dashboards/rankings/?level=department&period=2026-Q1").status_code == 200
    assert dt.date(2026, 3, 31) == QUARTER.end
