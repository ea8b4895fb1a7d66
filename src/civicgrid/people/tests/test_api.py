"""/api/people: scoped, masked, errors as JSON 4xx bodies."""

import pytest

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.people.models import Person
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, worker):
    client.force_login(worker)
    return client


def test_list_is_scoped_paginated_and_masked(api, residents):
    body = api.get("/api/people/").json()
    assert body["count"] == 2
    assert {p["name"] for p in body["items"]} == {"张三", "张小四"}
    assert all("*" in p["id_number_masked"] for p in body["items"])
    assert "cipher" not in str(body) and make_number(11) not in str(body)
    found = api.get("/api/people/", {"id_number": make_number(11)}).json()
    assert [p["name"] for p in found["items"]] == ["张三"]
    assert api.get("/api/people/", {"id_number": make_number(13)}).json()["count"] == 0


def test_detail_out_of_scope_is_404(api, residents):
    assert api.get(f"/api/people/{residents[0].pk}").json()["tags"][0]["kind"] == "elderly"
    response = api.get(f"/api/people/{residents[2].pk}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_create_and_validation_errors(api, district):
    number = make_number(150)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = api.post(
        "/api/people/",
        {"name": "钱七", "id_number": wrong, "grid": district.grids[0].code},
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and f"应为 {number[17]}" in error["fields"]["id_number"][0]
    response = api.post(
        "/api/people/",
        {"name": "钱七", "id_number": number, "grid": district.grids[2].code},
        content_type="application/json",
    )
    assert response.status_code == 400 and "grid" in response.json()["error"]["fields"]
    response = api.post(
        "/api/people/",
        {"name": "钱七", "id_number": number, "grid": district.grids[0].code, "tags": [{"kind": "minor"}]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["id_number_masked"].startswith("150104")
    assert Person.objects.get().tags.get().kind == "minor"


def test_patch(api, residents):
    response = api.patch(f"/api/people/{residents[0].pk}", {"phone": "13911112222"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["phone_masked"] == "139****2222"
    response = api.patch(f"/api/people/{residents[2].pk}", {"name": "x"}, content_type="application/json")
    assert response.status_code == 404


def test_reveal(api, residents, client, district, user_factory):
    response = api.post(f"/api/people/{residents[0].pk}/reveal", {"field": "phone"}, content_type="application/json")
    assert response.json() == {"field": "phone", "value": "13800138000"}
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL).count() == 1
    response = api.post(f"/api/people/{residents[2].pk}/reveal", {"field": "phone"}, content_type="application/json")
    assert response.status_code == 404
    response = api.post(f"/api/people/{residents[0].pk}/reveal", {"field": "name"}, content_type="application/json")
    assert response.status_code == 400
    from civicgrid.accounts.enums import Role

    client.force_login(user_factory(Role.LEADER, district.district))
    response = client.post(f"/api/people/{residents[0].pk}/reveal", {"field": "phone"}, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL).count() == 1


def test_unauthenticated(client):
    assert client.get("/api/people/").status_code == 401


def test_search_by_post_body(api, residents):
    body = api.post(
        "/api/people/search", {"id_number": make_number(12, male=False)}, content_type="application/json"
    ).json()
    assert [p["name"] for p in body["items"]] == ["张小四"]
