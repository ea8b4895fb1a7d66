"""The live grid map: every measure against a recount in plain Python over the rows, markers,
heat lattice, scope (404 outside the user's territory), bad input (400) and query counts."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.cameras.enums import CameraStatus
from civicgrid.cameras.models import Camera
from civicgrid.cases.enums import OPEN_STATUSES
from civicgrid.cases.models import Case, Category
from civicgrid.dashboards import gridmap
from civicgrid.dashboards.tests.conftest import TODAY, Fixture, counted, local_day, open_now
from civicgrid.patrols.enums import PatrolStatus
from civicgrid.patrols.models import Patrol
from civicgrid.territory.models import Duty, Responsibility
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db

PERIOD = gridmap.MapPeriod(TODAY - dt.timedelta(days=29), TODAY)


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def place_cases(fx: Fixture, seed: int = 3) -> None:
    """Give most cases coordinates inside their grid (a few stay without)."""
    rng = random.Random(seed)
    for case in fx.cases:
        if case.grid is None or rng.random() < 0.15:
            continue
        lon, lat = fx.d.grid_center(case.grid)
        case.lon = lon + rng.uniform(-0.004, 0.004)
        case.lat = lat + rng.uniform(-0.004, 0.004)
        Case.objects.filter(pk=case.pk).update(lon=case.lon, lat=case.lat)


def measures_by_code(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["code"]: g for g in data["grids"]}


def test_measures_equal_a_raw_recount(fx: Fixture) -> None:
    user = fx.w.operator
    data = gridmap.grid_measures(user, fx.d.district.code, PERIOD)
    got = measures_by_code(data)
    assert sorted(got) == sorted(g.code for g in fx.d.grids)  # every grid, also those without cases
    assert data["area"]["code"] == fx.d.district.code
    for grid in fx.d.grids:
        row = got[grid.code]
        opened = [c for c in open_now(fx.cases, user, grid.code)]
        assert row["open"] == len(opened)
        assert row["overdue"] == sum(1 for c in opened if c.overdue_at is not None)
        received = counted(fx.cases, user, PERIOD.start, PERIOD.end, grid.code)
        assert row["received"] == len(received)
        assert row["population"] == 100
        assert row["per_1000"] == round(len(received) * 1000 / 100, 2)
        assert row["url"] == reverse("territory:grid", args=[grid.code])
    assert sum(g["open"] for g in data["grids"]) > 0 and sum(g["overdue"] for g in data["grids"]) > 0
    # the case located only to the district is in the totals, not on a grid
    assert data["unlocated"]["open"] == 1
    assert data["totals"]["open"] == len(open_now(fx.cases, user, fx.d.district.code))
    assert data["max"]["open"] == max(g["open"] for g in data["grids"])
    # chiefs come from territory.Responsibility
    assert [c["name"] for c in got[fx.d.grids[0].code]["chiefs"]] == [fx.w.chief.display_name]
    assert got[fx.d.grids[1].code]["chiefs"] == []


def test_per_1000_without_residents_is_none(fx: Fixture) -> None:
    grid = fx.d.grids[0]
    grid.population = 0
    grid.save(update_fields=["population"])
    got = measures_by_code(gridmap.grid_measures(fx.w.operator, fx.d.district.code, PERIOD))
    assert got[grid.code]["per_1000"] is None
    assert got[fx.d.grids[1].code]["per_1000"] is not None


def test_patrol_duty_met_today_per_grid(fx: Fixture) -> None:
    d = fx.d
    second = make_user(Role.AREA_CHIEF, d.communities[0], username="area0")
    Responsibility.objects.create(user=second, duty=Duty.AREA_CHIEF, area=d.grids[0])
    Responsibility.objects.create(user=second, duty=Duty.AREA_CHIEF, area=d.grids[1])
    now = timezone.now()
    for hours in (5, 3):  # the grid chief patrols twice today (the default duty): met
        Patrol.objects.create(
            worker=fx.w.chief,
            duty=Duty.GRID_CHIEF,
            area_code=d.grids[0].code,
            day=TODAY,
            started_at=now - dt.timedelta(hours=hours),
            ended_at=now - dt.timedelta(hours=hours - 1),
            status=PatrolStatus.ENDED,
            counts_toward_duty=True,
        )
    got = measures_by_code(gridmap.grid_measures(fx.w.operator, d.district.code, PERIOD))
    assert (got[d.grids[0].code]["patrol_workers"], got[d.grids[0].code]["patrol_met"]) == (2, 1)
    assert got[d.grids[0].code]["patrol"] == 50.0
    assert (got[d.grids[1].code]["patrol_workers"], got[d.grids[1].code]["patrol"]) == (1, 0.0)
    assert got[d.grids[2].code]["patrol"] is None  # no chief: no duty
    # users without patrols.view get no patrol measure at all
    chief_data = gridmap.grid_measures(fx.w.chief, d.grids[0].code, PERIOD)
    assert chief_data["patrols_enabled"] is False
    assert "patrol" not in [m["key"] for m in chief_data["measures"]]


def test_street_sees_its_own_grids_and_the_period_is_respected(fx: Fixture) -> None:
    user = fx.w.street_admin
    street = fx.d.streets[0]
    start, end = TODAY - dt.timedelta(days=6), TODAY
    data = gridmap.grid_measures(user, street.code, gridmap.MapPeriod(start, end))
    got = measures_by_code(data)
    assert sorted(got) == sorted(g.code for g in fx.d.grids if g.code.startswith(street.code))
    for code, row in got.items():
        assert row["received"] == len(counted(fx.cases, user, start, end, code))
        assert row["open"] == len(open_now(fx.cases, user, code))


def test_scope_other_street_is_404(fx: Fixture) -> None:
    other = fx.d.streets[1].code
    worker = client_for(fx.w.worker)  # community 0
    assert worker.get(reverse("dashboards:gridmap", args=[fx.d.streets[0].code])).status_code == 404
    assert worker.get(reverse("dashboards:gridmap", args=[other])).status_code == 404
    for name in ("api:gridmap_grids", "api:gridmap_markers", "api:gridmap_heat"):
        r = worker.get(reverse(name, args=[other]))
        assert r.status_code == 404, name
        assert r.json()["error"]["code"] == "not_found"
    street = client_for(fx.w.street_admin)
    assert street.get(reverse("dashboards:gridmap", args=[other])).status_code == 404
    assert street.get(reverse("api:gridmap_grids", args=[other])).status_code == 404
    assert street.get(reverse("dashboards:gridmap", args=[fx.d.streets[0].code])).status_code == 200
    # own node by default
    r = worker.get(reverse("dashboards:gridmap_home"))
    assert r.status_code == 302 and r["Location"] == reverse("dashboards:gridmap", args=[fx.d.communities[0].code])


def test_permissions(fx: Fixture) -> None:
    anon = Client()
    assert anon.get(reverse("api:gridmap_grids", args=[fx.d.district.code])).status_code == 401
    r = anon.get(reverse("dashboards:gridmap", args=[fx.d.district.code]))
    assert r.status_code == 302 and "/login/" in r["Location"]
    auditor = make_user(Role.AUDIT_ADMIN, fx.d.district, username="auditor")
    assert client_for(auditor).get(reverse("dashboards:gridmap", args=[fx.d.district.code])).status_code == 403
    assert client_for(auditor).get(reverse("api:gridmap_markers", args=[fx.d.district.code])).status_code == 403


def test_bad_input_is_a_400_with_a_message(fx: Fixture) -> None:
    c = client_for(fx.w.operator)
    code = fx.d.district.code
    for params, field in (
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end"),
        ({"start": "2020-01-01", "end": "2026-03-01"}, "end"),
        ({"category": "NOPE"}, "category"),
    ):
        r = c.get(reverse("api:gridmap_heat", args=[code]), params)
        assert r.status_code == 400, params
        body = r.json()["error"]
        assert field in body["fields"] and body["message"]
    page = c.get(reverse("dashboards:gridmap", args=[code]), {"end": "x"})
    assert page.status_code == 400 and "日期格式" in page.content.decode()


def test_markers_open_cases_only_scoped_and_capped(fx: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    place_cases(fx)
    user = fx.w.street_admin
    street = fx.d.streets[0].code
    data = gridmap.map_markers(user, street)
    expected = {
        c.pk for c in open_now(fx.cases, user, street) if Case.objects.filter(pk=c.pk, lon__isnull=False).exists()
    }
    got = {c["id"] for c in data["cases"]["items"]}
    assert got == expected and expected
    assert data["cases"]["total"] == len(expected)
    for item in data["cases"]["items"]:
        case = Case.objects.get(pk=item["id"])
        assert case.status in OPEN_STATUSES and case.area_code.startswith(street)
        assert item["overdue"] == (case.overdue_at is not None)
        assert item["url"] == reverse("cases:detail", args=[case.pk])
    assert data["tracks_url"] == reverse("api:patrol_tracks") + f"?area={street}"
    monkeypatch.setattr(gridmap, "CASE_MARKER_CAP", 3)
    capped = gridmap.map_markers(user, street)
    assert capped["cases"]["shown"] == 3 and capped["cases"]["total"] == len(expected)


def test_camera_markers_online_and_offline(fx: Fixture) -> None:
    d = fx.d
    now = timezone.now()
    lon, lat = d.grid_center(d.grids[0])
    Camera.objects.create(
        code="CAM-1", name="门口", lon=lon, lat=lat, grid=d.grids[0], area_code=d.grids[0].code,
        status=CameraStatus.ONLINE, last_heartbeat_at=now,
    )  # fmt: skip
    Camera.objects.create(
        code="CAM-2", name="路口", lon=lon, lat=lat, grid=d.grids[0], area_code=d.grids[0].code,
        status=CameraStatus.ONLINE, last_heartbeat_at=now - dt.timedelta(days=2),
    )  # fmt: skip
    Camera.objects.create(
        code="CAM-3", name="他街", lon=lon + 0.02, lat=lat, grid=d.grids[4], area_code=d.grids[4].code,
        status=CameraStatus.ONLINE, last_heartbeat_at=now,
    )  # fmt: skip
    data = gridmap.map_markers(fx.w.street_admin, d.streets[0].code)
    status = {c["code"]: c["status"] for c in data["cameras"]["items"]}
    assert status == {"CAM-1": "online", "CAM-2": "offline"}  # stale heartbeat: offline; other street absent


def test_heat_lattice_counts_equal_the_period_cases(fx: Fixture) -> None:
    place_cases(fx)
    user = fx.w.operator
    code = fx.d.district.code
    data = gridmap.heat_points(user, code, PERIOD)
    rows = counted(fx.cases, user, PERIOD.start, PERIOD.end, code)
    located = {c.pk: c for c in Case.objects.filter(pk__in=[c.pk for c in rows], lon__isnull=False)}
    assert data["total"] == len(rows)
    assert sum(p[2] for p in data["points"]) == len(located)
    assert data["unlocated"] == len(rows) - len(located)
    # each point is a lattice cell centre; recount per cell in Python
    lattice = gridmap.Lattice(data["cell_m"], gridmap.reference_latitude(fx.d.district))
    assert data["cell_m"] == 200
    expected: dict[tuple[float, float], int] = {}
    for c in located.values():
        assert c.lon is not None and c.lat is not None
        cell = lattice.snap(c.lon, c.lat)
        expected[cell] = expected.get(cell, 0) + 1
    assert {(p[0], p[1]): p[2] for p in data["points"]} == expected
    # a category narrows it (top-level class includes its sub-categories)
    md = gridmap.heat_points(user, code, PERIOD, "MD")
    assert md["total"] == sum(1 for c in rows if Category.objects.get(pk=c.category_id).code.startswith("MD"))
    # API == selector
    r = client_for(user).get(
        reverse("api:gridmap_heat", args=[code]), {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}
    )
    assert r.status_code == 200 and r.json()["points"] == json.loads(json.dumps(data["points"]))


def test_lattice_snaps_to_cell_centres() -> None:
    lattice = gridmap.Lattice(200, 40.8)
    lon, lat = 111.60537, 40.76519
    slon, slat = lattice.snap(lon, lat)
    assert (slon, slat) != (lon, lat)
    # at most half a cell away in each direction, and on the lattice
    assert abs(slon - lon) <= lattice.dlon / 2 + 1e-9 and abs(slat - lat) <= lattice.dlat / 2 + 1e-9
    assert math.isclose((slon / lattice.dlon) % 1, 0.5, abs_tol=1e-3)
    assert math.isclose((slat / lattice.dlat) % 1, 0.5, abs_tol=1e-3)
    assert abs((slat - lat) * 110_574) <= 100.5  # within 100 m north-south


def test_api_equals_selector_and_query_counts(fx: Fixture, django_assert_max_num_queries: Any) -> None:
    place_cases(fx)
    c = client_for(fx.w.operator)
    code = fx.d.district.code
    params = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}
    with django_assert_max_num_queries(21):
        r = c.get(reverse("api:gridmap_grids", args=[code]), params)
    assert r.status_code == 200
    body = r.json()
    expected = gridmap.grid_measures(fx.w.operator, code, PERIOD)
    for key in ("generated_at", "period_from", "period_to"):
        body.pop(key), expected.pop(key)
    assert body == json.loads(json.dumps(expected))
    with django_assert_max_num_queries(12):
        assert c.get(reverse("api:gridmap_markers", args=[code])).status_code == 200
    with django_assert_max_num_queries(13):
        assert c.get(reverse("api:gridmap_heat", args=[code]), params).status_code == 200
    with django_assert_max_num_queries(23):
        page = c.get(reverse("dashboards:gridmap", args=[code]))
    assert page.status_code == 200


def test_query_count_does_not_grow_with_grids_and_cases(fx: Fixture) -> None:
    """Double the chiefs and cases: the same number of queries (no per-grid loop)."""
    c = client_for(fx.w.operator)
    code = fx.d.district.code
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        c.get(reverse("api:gridmap_grids", args=[code]))
    for i, grid in enumerate(fx.d.grids):
        chief = make_user(Role.GRID_CHIEF, grid, username=f"extra-chief{i}")
        Responsibility.objects.create(user=chief, duty=Duty.GRID_CHIEF, area=grid)
        fx.w.intake(grid=grid, category="MS01")
    with CaptureQueriesContext(connection) as after:
        c.get(reverse("api:gridmap_grids", args=[code]))
    assert len(after.captured_queries) == len(before.captured_queries)


def test_page_renders_the_controls_and_the_data(fx: Fixture) -> None:
    c = client_for(fx.w.operator)
    r = c.get(reverse("dashboards:gridmap", args=[fx.d.district.code]), {"measure": "overdue"})
    assert r.status_code == 200
    html = r.content.decode()
    for key in ("open", "overdue", "per_1000", "patrol"):
        assert f'id="measure-{key}"' in html
    assert 'id="measure-overdue" checked' in html
    assert "vendor/echarts.min.js" in html and "dashboards/gridmap.js" in html
    assert 'id="layer-tracks"' in html  # the operator may see patrols
    assert reverse("api:gridmap_markers", args=[fx.d.district.code]) in html
    assert "https://" not in html.split('id="gridmap-root"')[1]  # nothing from the internet
    assert 'id="gridmap-data"' in html
    assert local_day(timezone.now()) == TODAY


def test_measures_from_the_metrics_aggregates_equal_the_raw_recount(fx: Fixture) -> None:
    from civicgrid.cases.aggregates import case_aggregates_refresh

    case_aggregates_refresh(full=True)
    user = fx.w.street_admin
    period = gridmap.MapPeriod(dt.date(TODAY.year, 1, 1), TODAY)
    got = measures_by_code(gridmap.grid_measures(user, fx.d.streets[0].code, period))
    for code, row in got.items():
        assert row["received"] == len(counted(fx.cases, user, period.start, period.end, code)), code
