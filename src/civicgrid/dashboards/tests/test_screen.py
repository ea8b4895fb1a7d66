"""The wall screen's data against a raw recount over the Case rows, scope, the drill-down
links (each list counts exactly what its figure counts), the API contract and query counts."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from civicgrid.cases.enums import Channel
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.screen import TREND_WEEKS, screen_data
from civicgrid.dashboards.tests.conftest import (
    TODAY,
    Fixture,
    counted,
    local_day,
    open_now,
    share,
    tally,
)

pytestmark = pytest.mark.django_db
YEAR_START = dt.date(TODAY.year, 1, 1)


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _check_block(block: dict[str, Any], cases: list[Any]) -> None:
    t = tally(cases)
    assert block["received"]["value"] == t["received"]
    assert block["closed"]["value"] == t["closed"]
    assert block["closure_rate"]["value"] == share(t["closed"], t["received"])
    assert block["on_time_sign_for_rate"]["value"] == share(t["signed_on_time"], t["dispatched"])
    assert block["on_time_closing_rate"]["value"] == share(t["closed_on_time"], t["closed"])
    assert block["resolution_rate"]["value"] == share(t["resolved"], t["evaluated"])
    assert block["satisfaction_rate"]["value"] == share(t["satisfied"], t["evaluated"])
    assert block["satisfaction_rate"]["part"] == t["satisfied"]
    assert block["satisfaction_rate"]["whole"] == t["evaluated"]


@pytest.mark.parametrize("who", ["operator", "street_admin"])
def test_screen_figures_equal_a_raw_recount(fx: Fixture, who: str) -> None:
    user = getattr(fx.w, who)
    data = screen_data(user)
    node = fx.d.district if who == "operator" else fx.d.streets[0]
    assert data["area"]["code"] == node.code
    code = node.code

    today_cases = counted(fx.cases, user, TODAY, TODAY, code)
    year_cases = counted(fx.cases, user, YEAR_START, TODAY, code)
    assert len(today_cases) > 0 and len(year_cases) > len(today_cases)
    _check_block(data["today"], today_cases)
    _check_block(data["this_year"], year_cases)

    channels = {c["key"]: (c["received"], c["closed"]) for c in data["channels"]}
    expected_channels: dict[str, tuple[int, int]] = {}
    for c in year_cases:
        r, cl = expected_channels.get(c.channel, (0, 0))
        expected_channels[c.channel] = (r + 1, cl + (c.closed_at is not None))
    assert channels == expected_channels
    assert {c["label"] for c in data["channels"]} <= {str(label) for _v, label in Channel.choices}

    cats: dict[str, tuple[int, int]] = {}
    for c in year_cases:
        top = c.category.parent.code if c.category.parent else c.category.code
        r, cl = cats.get(top, (0, 0))
        cats[top] = (r + 1, cl + (c.closed_at is not None))
    assert {c["key"]: (c["received"], c["closed"]) for c in data["categories"]} == cats

    assert len(data["weeks"]) == TREND_WEEKS
    first = dt.date.fromisoformat(data["weeks"][0]["key"])
    assert first.weekday() == 0
    for week in data["weeks"]:
        monday = dt.date.fromisoformat(week["key"])
        in_week = counted(fx.cases, user, monday, min(monday + dt.timedelta(days=6), TODAY), code)
        assert (week["received"], week["closed"]) == (len(in_week), sum(c.closed_at is not None for c in in_week))

    opened = open_now(fx.cases, user, code)
    overdue = [c for c in opened if c.overdue_at is not None]
    assert data["overdue"]["total"]["value"] == len(overdue) > 0
    shown = [i["tracking_code"] for i in data["overdue"]["items"]]
    expected_order = sorted(overdue, key=lambda c: (c.handle_due, c.pk))[: len(shown)]
    assert shown == [c.tracking_code for c in expected_order]

    per_grid: dict[str, int] = {}
    for c in opened:
        if c.grid_id is not None:  # a case located only to the district is not on the grid map
            per_grid[c.area_code] = per_grid.get(c.area_code, 0) + 1
    assert {i["code"]: i["open"] for i in data["heat"]["items"]} == per_grid
    assert data["heat"]["open"]["value"] == len(opened)
    assert data["heat"]["max"] == max(per_grid.values())


def test_today_is_counted_by_local_day(fx: Fixture) -> None:
    data = screen_data(fx.w.operator)
    expected = [c for c in fx.cases if local_day(c.received_at) == TODAY and c.status not in ("merged", "not_accepted")]
    assert data["today"]["received"]["value"] == len(expected)


def _count_on_page(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    found = re.search(rb'id="drill-count" data-count="(\d+)"', response.content)
    assert found, url
    return int(found.group(1))


def test_every_figure_links_to_the_list_it_counts(fx: Fixture) -> None:
    user = fx.w.operator
    data = screen_data(user)
    client = _client(user)
    for block in ("today", "this_year"):
        b = data[block]
        assert _count_on_page(client, b["received"]["url"]) == b["received"]["value"]
        assert _count_on_page(client, b["closed"]["url"]) == b["closed"]["value"]
        for rate in (
            "closure_rate",
            "on_time_sign_for_rate",
            "on_time_closing_rate",
            "resolution_rate",
            "satisfaction_rate",
        ):
            assert _count_on_page(client, b[rate]["url"]) == b[rate]["part"], (block, rate)
    for c in data["channels"] + data["categories"] + data["weeks"][-3:]:
        assert _count_on_page(client, c["url"]) == c["received"], c
    assert _count_on_page(client, data["overdue"]["total"]["url"]) == data["overdue"]["total"]["value"]
    assert _count_on_page(client, data["heat"]["open"]["url"]) == data["heat"]["open"]["value"]
    for item in data["heat"]["items"]:
        assert _count_on_page(client, item["url"]) == item["open"]


def test_a_street_sees_only_its_own(fx: Fixture) -> None:
    admin = fx.w.street_admin
    own = screen_data(admin)
    assert own["area"]["code"] == fx.d.streets[0].code
    whole = screen_data(fx.w.operator)
    assert own["this_year"]["received"]["value"] < whole["this_year"]["received"]["value"]
    assert all(i["code"].startswith(fx.d.streets[0].code) for i in own["heat"]["items"])
    # pointing at its own community narrows further; pointing at the other street fails
    community = screen_data(admin, fx.d.communities[1].code)
    assert community["area"]["code"] == fx.d.communities[1].code
    assert community["this_year"]["received"]["value"] <= own["this_year"]["received"]["value"]
    with pytest.raises(NotFound):
        screen_data(admin, fx.d.streets[1].code)
    with pytest.raises(NotFound):
        screen_data(fx.community_worker, fx.d.streets[0].code)
    client = _client(admin)
    assert client.get(f"/dashboards/screen/{fx.d.streets[1].code}/").status_code == 404
    response = client.get(f"/api/dashboards/screen?area={fx.d.streets[1].code}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # nor can the drill-down list be pointed elsewhere
    assert client.get(f"/dashboards/cases/?metric=open&area={fx.d.streets[1].code}").status_code == 404


def test_without_case_reading_rights_the_screen_is_forbidden(fx: Fixture) -> None:
    with pytest.raises(PermissionDenied):
        screen_data(fx.sysadmin)
    client = _client(fx.sysadmin)
    assert client.get("/dashboards/").status_code == 403
    assert client.get(f"/dashboards/screen/{fx.d.district.code}/").status_code == 403
    response = client.get("/api/dashboards/screen")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert Client().get("/api/dashboards/screen").status_code == 401
    anonymous = Client().get(f"/dashboards/screen/{fx.d.district.code}/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_api_contract(fx: Fixture) -> None:
    client = _client(fx.w.operator)
    response = client.get(f"/api/dashboards/screen?area={fx.d.streets[1].code}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "area", "generated_at", "time_zone", "refresh_seconds", "day", "year", "today", "this_year", "channels",
        "categories", "weeks", "overdue", "heat", "patrols", "indicators",
    }  # fmt: skip
    assert body["area"] == {"code": fx.d.streets[1].code, "name": fx.d.streets[1].name, "level": "street"}
    assert body == screen_data(fx.w.operator, fx.d.streets[1].code) | {"generated_at": body["generated_at"]}
    assert set(body["today"]["received"]) >= {"value", "display", "url"}
    assert body["patrols"] is not None and set(body["patrols"]) >= {"workers", "met", "not_met", "patrols", "pending"}
    default = client.get("/api/dashboards/screen").json()
    assert default["area"]["code"] == fx.d.district.code
    bad = client.get("/api/dashboards/screen?area=15x")
    assert bad.status_code == 404
    assert bad.json()["error"]["message"]


def test_the_update_time_is_iso_in_the_district_zone(fx: Fixture) -> None:
    # Frozen at 2026-03-18 15:00 in Shanghai (07:00 UTC): the payload says so with its offset.
    body = _client(fx.w.operator).get("/api/dashboards/screen").json()
    assert body["generated_at"] == "2026-03-18T15:00:00+08:00"
    assert body["time_zone"] == "Asia/Shanghai"
    assert dt.datetime.fromisoformat(body["generated_at"]) == dt.datetime(2026, 3, 18, 7, 0, tzinfo=dt.UTC)
    # ... whatever zone the request happens to run in.
    with timezone.override(ZoneInfo("America/New_York")):
        data = screen_data(fx.w.operator)
    assert data["generated_at"] == "2026-03-18T15:00:00+08:00" and data["day"] == "2026-03-18"
    # The page hands the zone to the script that formats "更新于" and the clock.
    html = _client(fx.w.operator).get(f"/dashboards/screen/{fx.d.district.code}/").content.decode()
    assert 'data-time-zone="Asia/Shanghai"' in html
    assert 'data-at="2026-03-18T15:00:00+08:00">更新于 15:00:00<' in html


def test_the_page_renders_the_data_and_polls_the_api(fx: Fixture) -> None:
    client = _client(fx.w.street_admin)
    home = client.get("/dashboards/")
    assert home.status_code == 302 and home["Location"] == f"/dashboards/screen/{fx.d.streets[0].code}/"
    response = client.get(home["Location"])
    assert response.status_code == 200
    html = response.content.decode()
    data = screen_data(fx.w.street_admin)
    assert f'data-api="/api/dashboards/screen?area={fx.d.streets[0].code}"' in html
    assert 'id="screen-data"' in html and "echarts.min.js" in html
    assert f"<b>{data['this_year']['received']['display']}</b>" in html
    # the switcher offers only nodes in scope
    assert fx.d.streets[1].name not in html
    assert fx.d.communities[1].name in html


def test_query_count_is_bounded(fx: Fixture, django_assert_max_num_queries: Any) -> None:
    client = _client(fx.w.operator)
    client.get("/api/dashboards/screen")  # warm the session and the caches
    with django_assert_max_num_queries(30):
        assert client.get("/api/dashboards/screen").status_code == 200
    with django_assert_max_num_queries(32):
        assert client.get(f"/dashboards/screen/{fx.d.district.code}/").status_code == 200
