"""The OpenAPI document is the API's contract: every operation is documented, tagged,
authenticated, and answers errors with the machine-readable body."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client: Client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# Operations without an account: a resident's, guarded by a secret of its own (the case's
# unguessable tracking code), and the transparency page's open data (public categories only,
# generalised, no personal data: dashboards/public.py). Anything else must authenticate.
PUBLIC_OPERATIONS = {
    ("post", "/api/notifications/track"),
    ("get", "/api/dashboards/open/summary"),
    ("get", "/api/dashboards/open/map"),
    ("get", "/api/dashboards/open/cases"),
    ("get", "/api/dashboards/open/geojson"),
}


def operations(schema: dict[str, Any]) -> Any:
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_openapi_document_lists_every_app(schema):
    assert schema["openapi"].startswith("3.")
    prefixes = {path.split("/")[2] for path in schema["paths"]}
    assert {"accounts", "territory", "people", "audit", "cases", "notifications"} <= prefixes


def test_every_operation_is_documented_and_authenticated(schema):
    for path, method, op in operations(schema):
        assert op.get("operationId"), (method, path)
        assert op.get("summary") or op.get("description"), (method, path)
        if (method, path) in PUBLIC_OPERATIONS:
            assert not op.get("security"), f"{method.upper()} {path} is listed as public but authenticates"
            continue
        assert op.get("security"), f"{method.upper()} {path} has no authentication"
        assert "200" in op["responses"] or "201" in op["responses"], (method, path)


def test_docs_page_is_served(client):
    assert client.get("/api/docs").status_code == 200


def test_anonymous_calls_get_a_401_json_error(schema, client):
    for path, method, _op in operations(schema):
        if (method, path) in PUBLIC_OPERATIONS:
            continue
        concrete = path.replace("{code}", "150104").replace("{person_id}", "1")
        response = getattr(client, method)(concrete, content_type="application/json")
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "unauthenticated"


def test_me_reports_role_scope_and_capabilities(client, district, user_factory):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="me1")
    client.force_login(worker)
    body = client.get("/api/accounts/me").json()
    assert body["role"] == "community_worker"
    assert [a["code"] for a in body["scope_chain"]] == ["150104", "150104001", "150104001001"]
    assert "people.reveal" in body["capabilities"] and "audit.view" not in body["capabilities"]


def test_list_endpoints_are_paginated(client, district, user_factory):
    client.force_login(user_factory(Role.COMMAND_OPERATOR, district.district, username="op1"))
    for url in ("/api/territory/areas", "/api/people/"):
        body = client.get(url, {"limit": 2}).json()
        assert set(body) >= {"items", "count"}, url
        assert len(body["items"]) <= 2
