"""Every list the API returns is paginated with a maximum page size (docs/api.md).

A GET operation is a *list* when its 200 response is an array, an object holding an array, or
has no declared schema (a hand-built dict: a GeoJSON layer, a map's markers). A list must take
``limit``/``offset`` or ``page``/``page_size`` (``page`` alone: a fixed page size), or be in
``BOUNDED`` below with the reason it cannot grow with the data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from ninja.conf import settings as ninja_settings

from civicgrid.accounts.enums import Role

pytestmark = pytest.mark.django_db

MAX_PAGE = 500  # settings.NINJA_PAGINATION_MAX_LIMIT and NINJA_MAX_PER_PAGE_SIZE

# Lists that are bounded by nature, each with its reason. Adding one here needs the same care
# as a review: if it can grow with the district's data, paginate it instead.
BOUNDED: dict[tuple[str, str], str] = {
    ("get", "/api/accounts/me"): "the caller only: its scope chain (<= 5 nodes), departments and "
    "capabilities (an enum)",
    ("get", "/api/territory/areas/{code}/geojson"): "a map layer: the children of one node (the territory tree, "
    "one district); a map needs every feature at once",
    ("get", "/api/people/{person_id}"): "one person; its tags are a small fixed catalogue",
    ("get", "/api/cases/{case_id}/actions"): "the actions allowed now: rows of the fixed transition table",
    ("get", "/api/patrols/duty"): "one worker's day: the time windows of one patrol policy",
    ("get", "/api/patrols/{patrol_id}/track"): "one patrol: its simplified line (<= 300 points) and its own "
    "grids/roads",
    ("get", "/api/dashboards/screen"): "fixed sections: channels (an enum), top categories, 12 weeks, at most "
    "OVERDUE_ROWS / PATROL_ROWS rows, the public indicators",
    ("get", "/api/dashboards/gridmap/{code}/grids"): "a map layer: one row per grid under one node (the "
    "territory tree)",
    ("get", "/api/dashboards/gridmap/{code}/markers"): "capped: at most CASE_MARKER_CAP cases and CAMERA_MARKER_CAP "
    "cameras, with the totals",
    ("get", "/api/dashboards/gridmap/{code}/heat"): "aggregated per lattice cell of one node's area",
    ("get", "/api/dashboards/open/summary"): "one row per community and the year's public commitments",
    ("get", "/api/dashboards/open/map"): "aggregated per 200 m cell of the district",
    ("get", "/api/dashboards/open/geojson"): "a map layer: the communities' boundaries",
    ("get", "/api/indicators/{indicator_id}"): "one indicator's year: at most one point per period (<= 12 months)",
    ("get", "/api/reports/{report_id}"): "one report: its formats (xlsx, pdf) and their files",
    ("get", "/api/reports/{report_id}/data"): "one report's fixed sections",
    ("get", "/api/reports/{report_id}/files/{fmt}"): "a file download, not a JSON list",
}

# ``limit`` checked by the view itself (a Chinese message naming the range, 400), not by the
# schema: the largest accepted value.
LIMIT_CHECKED_IN_VIEW = {
    "/api/patrols/tracks": 2000,  # map lines, fetched 500 at a time by gridmap.js
    "/api/patrols/compliance": 500,
}

PATH_VALUES = {"box": "to_sign_for", "case_id": "1", "indicator_id": "1", "code": "150104"}


@pytest.fixture
def schema(client: Client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        resolved: dict[str, Any] = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        return resolved
    return node


def _is_array(node: dict[str, Any]) -> bool:
    return node.get("type") == "array" or any(alt.get("type") == "array" for alt in node.get("anyOf", []))


def _is_list(schema: dict[str, Any], op: dict[str, Any]) -> bool:
    ok = op["responses"].get("200", {})
    body = ok.get("content", {}).get("application/json", {}).get("schema")
    if not body:
        return True  # an undeclared dict: review it like a list
    body = _resolve(schema, body)
    return _is_array(body) or any(_is_array(p) for p in body.get("properties", {}).values())


def _params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}


def _is_paginated(op: dict[str, Any]) -> bool:
    params = _params(op)
    return {"limit", "offset"} <= set(params) or "page" in params


def _list_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method == "get" and _is_list(schema, op)
    ]


def test_every_list_is_paginated_or_bounded_by_nature(schema: dict[str, Any]) -> None:
    lists = _list_operations(schema)
    assert len(lists) > 20  # the walk found the lists (a broken walk would pass everything)
    missing = [f"GET {path}" for method, path, op in lists if not _is_paginated(op) and (method, path) not in BOUNDED]
    assert not missing, f"list endpoints without limit/offset or page: {missing} (paginate them, docs/api.md)"
    for key, reason in BOUNDED.items():
        method, path = key
        assert len(reason) > 20, key
        op = schema["paths"].get(path, {}).get(method)
        assert op is not None, f"{key} is allow-listed but no longer exists: remove it"
        assert not _is_paginated(op), f"{key} is paginated now: remove it from BOUNDED"


def test_the_known_big_lists_are_paginated(schema: dict[str, Any]) -> None:
    for path in ("/api/dashboards/rankings", "/api/cases/metrics/grouped", "/api/people/", "/api/cases/inbox/{box}"):
        assert _is_paginated(schema["paths"][path]["get"]), path


def test_every_limit_has_a_maximum(schema: dict[str, Any]) -> None:
    for method, path, op in _list_operations(schema):
        limit = _params(op).get("limit")
        if limit is None:
            continue
        if path in LIMIT_CHECKED_IN_VIEW:
            continue
        maximum = limit["schema"].get("maximum")
        assert maximum is not None and maximum <= MAX_PAGE, f"{method.upper()} {path}: limit maximum {maximum}"


def test_page_size_is_capped_by_the_setting_ninja_reads() -> None:
    # NINJA_MAX_PER_PAGE_SIZE is the name ninja reads (a misspelt setting silently left 100).
    assert ninja_settings.PAGINATION_MAX_PER_PAGE_SIZE == MAX_PAGE
    assert ninja_settings.PAGINATION_MAX_LIMIT == MAX_PAGE


def test_a_limit_above_the_maximum_is_refused(schema: dict[str, Any], client: Client, district: Any, user_factory: Any):
    client.force_login(user_factory(Role.COMMAND_OPERATOR, district.district, username="lists-op"))
    checked = 0
    for _method, path, op in _list_operations(schema):
        limit = _params(op).get("limit")
        if limit is None:
            continue
        most = LIMIT_CHECKED_IN_VIEW.get(path) or limit["schema"]["maximum"]
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
        query: dict[str, Any] = {"limit": most + 1}
        if "start" in _params(op) and _params(op)["start"].get("required"):
            query.update(start="2026-01-01", end="2026-01-31", group_by="channel")
        response = client.get(url, query)
        assert response.status_code in (400, 422), (path, response.status_code)
        assert "limit" in response.content.decode(), path
        ok = client.get(url, {**query, "limit": most})
        # the maximum itself passes validation (403/404: the operator's role, the dummy case id)
        assert ok.status_code in (200, 403, 404), (path, ok.status_code)
        checked += 1
    assert checked >= 10
