"""Open311 GeoReport v2 conformance: every endpoint in XML and JSON, the spec's element
names, filters (service_request_id, service_code, status, the 90-day window, the 1000 cap),
errors (400, 403, 404 as the spec's array), attribute validation, tokens, W3C datetimes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.cases import apikeys, services
from civicgrid.cases.enums import CaseStatus, Channel
from civicgrid.cases.models import Case, Category, IntakeRecord
from civicgrid.cases.open311.views import service_notice
from civicgrid.cases.public import PUBLIC_CELL_M
from civicgrid.cases.submissions import intake_drain
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act
from civicgrid.territory.lattice import Lattice, reference_latitude

pytestmark = pytest.mark.django_db

W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
REQUEST_ELEMENTS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
SERVICE_ELEMENTS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
BASE = "/open311/v2"


@pytest.fixture
def key(db: Any) -> str:
    return apikeys.apikey_create(name="测试客户端", rate_per_minute=1000).plaintext


def xml(response: Any) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - our own response, not untrusted input


def errors_of(response: Any, fmt: str) -> list[dict[str, str]]:
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list)
        assert all(set(item) == {"code", "description"} for item in body)
        return [{"code": str(item["code"]), "description": item["description"]} for item in body]
    root = xml(response)
    assert root.tag == "errors"
    return [{"code": e.findtext("code") or "", "description": e.findtext("description") or ""} for e in root]


def post(client: Client, fmt: str, key: str | None, w: World, **extra: Any) -> Any:
    lon, lat = w.point()
    data: dict[str, Any] = {
        "service_code": "BJ0102",
        "lat": str(lat),
        "long": str(lon),
        "description": "3号楼门口路灯不亮, 联系电话13800138000",
        "attribute[lamp_state]": "off",
        "attribute[lamp_count]": "2",
        "first_name": "先生",
        "last_name": "王",
        "phone": "13800138000",
        "email": "wang@example.com",
    }
    if key is not None:
        data["api_key"] = key
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data)


# --- discovery and services ------------------------------------------------------------------


def test_discovery_xml_and_json(client: Client) -> None:
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert W3C.match(root.findtext("changeset") or "")
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url", "").endswith("/open311/v2")
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    body = client.get(f"{BASE}/discovery.json").json()
    assert body["endpoints"][0]["type"] == "production"
    assert set(body) >= {"changeset", "contact", "key_service", "endpoints"}


def test_unknown_format_is_404(client: Client) -> None:
    assert client.get(f"{BASE}/services.csv").status_code == 404


def test_services_list_public_leaf_categories_with_spec_elements(client: Client) -> None:
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services_ = root.findall("service")
    assert services_
    for service in services_:
        assert [child.tag for child in service] == SERVICE_ELEMENTS
        assert service.findtext("type") == "realtime"
        assert service.findtext("metadata") in ("true", "false")
    by_code = {s.findtext("service_code"): s for s in services_}
    assert by_code["BJ0102"].findtext("metadata") == "true"
    assert by_code["BJ0102"].findtext("group") == "公用设施"
    assert by_code["BJ0201"].findtext("metadata") == "false"
    # Disputes and public-safety categories are not public; groups are not services.
    assert not {"MD01", "ZA01", "ZA02", "BJ01", "SJ01"} & set(by_code)
    body = client.get(f"{BASE}/services.json").json()
    assert {s["service_code"] for s in body} == set(by_code)
    assert next(s for s in body if s["service_code"] == "BJ0102")["metadata"] is True


def test_inactive_category_disappears_from_services(client: Client) -> None:
    Category.objects.filter(code="BJ0201").update(is_active=False)
    codes = {s["service_code"] for s in client.get(f"{BASE}/services.json").json()}
    assert "BJ0201" not in codes


def test_service_definition_xml_and_json(client: Client) -> None:
    root = xml(client.get(f"{BASE}/services/BJ0102.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "BJ0102"
    attrs = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attrs] == ["lamp_count", "lamp_state"]
    state = attrs[1]
    assert state.findtext("variable") == "true"
    assert state.findtext("datatype") == "singlevaluelist"
    assert state.findtext("required") == "true"
    assert state.findtext("order") == "2"
    assert [v.findtext("key") for v in state.findall("values/value")] == ["off", "flicker", "day"]
    assert state.find("values/value/name") is not None
    body = client.get(f"{BASE}/services/BJ0102.json").json()
    assert body["attributes"][1]["values"][0] == {"key": "off", "name": "全部不亮"}
    assert body["attributes"][0]["datatype"] == "number" and "values" not in body["attributes"][0]


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("code", ["NOPE", "MD01", "BJ01"])
def test_service_definition_404(client: Client, fmt: str, code: str) -> None:
    response = client.get(f"{BASE}/services/{code}.{fmt}")
    assert response.status_code == 404
    assert errors_of(response, fmt)[0]["code"] == "404"


# --- POST requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_creates_a_case(client: Client, world: World, key: str, fmt: str) -> None:
    response = post(client, fmt, key, world)
    # Accepted (202): the spec's token stands for the request until the case exists.
    assert response.status_code == 202, response.content
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "service_requests"
        request = root.find("request")
        assert request is not None
        assert [c.tag for c in request] == ["token", "service_notice", "account_id"]
        row = {c.tag: c.text for c in request}
    else:
        row = response.json()[0]
        assert set(row) == {"token", "service_notice", "account_id"}
    assert Case.objects.count() == 0
    assert intake_drain().created == 1
    case = Case.objects.get()
    assert service_notice(case) == row["service_notice"]  # the deadline announced is the case's
    assert case.channel == Channel.OPEN311
    assert case.category.code == "BJ0102"
    assert case.grid_id == world.d.grids[0].pk
    assert case.reporter_name == "王 先生"
    assert case.reporter_phone_masked and "13800138000" not in case.reporter_phone_cipher
    record = IntakeRecord.objects.get(case=case)
    assert record.attributes == {"lamp_state": "off", "lamp_count": 2}
    assert record.token == row["token"]
    assert "已受理" in (row["service_notice"] or "")
    assert b"13800138000" not in response.content


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_without_or_with_bad_key_is_403(client: Client, world: World, key: str, fmt: str) -> None:
    for bad in (None, "", "cg_abcdefghij_wrong", key[:-1] + ("x" if key[-1] != "x" else "y")):
        response = post(client, fmt, bad, world)
        assert response.status_code == 403, bad
        assert errors_of(response, fmt)[0]["code"] == "403"
    apikeys.apikey_revoke(prefix=apikeys.split_key(key) or "")
    assert post(client, fmt, key, world).status_code == 403
    assert Case.objects.count() == 0


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_missing_service_code_is_400(client: Client, world: World, key: str, fmt: str) -> None:
    response = post(client, fmt, key, world, service_code=None)
    assert response.status_code == 400
    assert "service_code" in errors_of(response, fmt)[0]["description"]
    response = post(client, fmt, key, world, service_code="MD01")  # not public
    assert response.status_code == 400
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"attribute[lamp_state]": None}, "lamp_state"),  # required
        ({"attribute[lamp_state]": "purple"}, "lamp_state"),  # not in the list
        ({"attribute[lamp_count]": "many"}, "lamp_count"),  # not a number
        ({"attribute[lamp_count]": "nan"}, "lamp_count"),
        ({"attribute[colour]": "red"}, "colour"),  # not in the definition
        ({"lat": None, "long": None}, "lat"),  # no location at all
        ({"lat": "91"}, "纬度"),
        ({"long": None}, "lat"),
        ({"media_url": "ftp://x/y.jpg"}, "media_url"),
        ({"description": "长" * 2001}, "描述"),
    ],
)
def test_post_validation_errors_are_400(
    client: Client, world: World, key: str, extra: dict[str, Any], needle: str
) -> None:
    response = post(client, "json", key, world, **extra)
    assert response.status_code == 400, response.content
    assert needle in " ".join(e["description"] for e in errors_of(response, "json"))
    assert Case.objects.count() == 0


def test_post_list_and_datetime_attributes(client: Client, world: World, key: str) -> None:
    lon, lat = world.point()
    data = {
        "api_key": key,
        "service_code": "SJ0301",
        "lat": lat,
        "long": lon,
        "attribute[noise_kind][]": ["drill", "pile"],
        "attribute[noise_time]": "2025-05-01T22:30:00+08:00",
    }
    response = client.post(f"{BASE}/requests.json", data)
    assert response.status_code == 202, response.content
    intake_drain()
    record = IntakeRecord.objects.get(token=response.json()[0]["token"])
    assert record.attributes == {"noise_kind": ["drill", "pile"], "noise_time": "2025-05-01T22:30:00+08:00"}
    data["attribute[noise_kind][]"] = ["drill", "jackhammer"]
    assert client.post(f"{BASE}/requests.json", data).status_code == 400
    data["attribute[noise_kind][]"] = ["drill"]
    data["attribute[noise_time]"] = "yesterday"
    assert client.post(f"{BASE}/requests.json", data).status_code == 400


def test_post_with_address_string_only_goes_to_the_manual_queue_later(client: Client, world: World, key: str) -> None:
    response = post(client, "json", key, world, lat=None, long=None, address_string="清泉街12号")
    assert response.status_code == 202
    intake_drain()
    case = Case.objects.get()
    assert case.address == "清泉街12号" and case.lon is None and case.grid_id is None


def test_post_rate_limit_is_429_with_the_error_array(client: Client, world: World) -> None:
    small = apikeys.apikey_create(name="限流", rate_per_minute=2).plaintext
    assert post(client, "xml", small, world).status_code == 202
    assert post(client, "xml", small, world).status_code == 202
    response = post(client, "xml", small, world)
    assert response.status_code == 429
    assert errors_of(response, "xml")[0]["code"] == "429"
    intake_drain()
    assert Case.objects.count() == 2


def test_post_idempotency_key_header(client: Client, world: World, key: str) -> None:
    lon, lat = world.point()
    data = {"api_key": key, "service_code": "BJ0201", "lat": lat, "long": lon, "description": "小广告"}
    one = client.post(f"{BASE}/requests.json", data, headers={"Idempotency-Key": "k-1"})
    two = client.post(f"{BASE}/requests.json", data, headers={"Idempotency-Key": "k-1"})
    assert (one.status_code, two.status_code) == (202, 202)
    assert one.json()[0]["token"] == two.json()[0]["token"]
    assert intake_drain().created == 1
    three = client.post(f"{BASE}/requests.json", data, headers={"Idempotency-Key": "k-1"})
    assert three.status_code == 200
    assert three.json()[0]["service_request_id"] == str(Case.objects.get().pk)
    assert three.json()[0]["token"] == one.json()[0]["token"]
    other = client.post(f"{BASE}/requests.json", {**data, "description": "别的"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert errors_of(other, "json")[0]["code"] == "409"


# --- GET requests -------------------------------------------------------------------------------


def public_case(w: World, **data: Any) -> Case:
    return w.intake(category=data.pop("category", "BJ0102"), **data)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_get_request_by_id_has_every_element(client: Client, world: World, fmt: str) -> None:
    case = public_case(world, address="清泉街12号院3号楼", description="王先生反映3号楼路灯不亮, 电话13800138000")
    response = client.get(f"{BASE}/requests/{case.pk}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "service_requests"
        request = root.find("request")
        assert request is not None
        assert [c.tag for c in request] == REQUEST_ELEMENTS
        row: dict[str, Any] = {c.tag: c.text or "" for c in request}
    else:
        body = response.json()
        assert len(body) == 1 and list(body[0]) == REQUEST_ELEMENTS
        row = body[0]
    assert row["service_request_id"] == str(case.pk)
    assert row["status"] == "open"
    assert row["service_code"] == "BJ0102" and row["service_name"] == "路灯故障"
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(row[name]), (name, row[name])
        assert row[name].endswith("+08:00")
    # The location is generalised to the centre of its public 200 m cell (as on /open/): near
    # the reported point, never the point itself; the address is never published.
    lattice = Lattice(PUBLIC_CELL_M, reference_latitude(world.d.district))
    assert case.lon is not None and case.lat is not None
    assert (float(row["long"]), float(row["lat"])) == pytest.approx(lattice.snap(case.lon, case.lat))
    assert (float(row["long"]), float(row["lat"])) != (case.lon, case.lat)
    assert abs(float(row["lat"]) - case.lat) < 0.002 and abs(float(row["long"]) - case.lon) < 0.003
    assert row["address"] == "" and "清泉街12号院".encode() not in response.content
    assert row["description"] == "＊＊＊反映＊号楼路灯不亮, 电话＊"  # the reporter "王先生" too
    # Routed to the grid chief: the agency is the grid.
    assert row["agency_responsible"] == world.d.grids[0].name
    # No personal data: reporter name and phone never appear.
    assert b"13800138000" not in response.content and "王先生".encode() not in response.content


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_get_unknown_hidden_or_non_public_request_is_404(client: Client, world: World, fmt: str) -> None:
    hidden = public_case(world)
    Case.objects.filter(pk=hidden.pk).update(is_hidden=True)
    private = world.intake(category="MD01")
    for pk in (999999, hidden.pk, private.pk, "abc"):
        response = client.get(f"{BASE}/requests/{pk}.{fmt}")
        assert response.status_code == 404
        assert errors_of(response, fmt)[0]["code"] == "404"


def test_status_notes_agency_and_closed_status(client: Client, world: World) -> None:
    case = public_case(world)
    case = act(world, case, "acknowledge")
    case = act(world, case, "report_back", note="已更换灯泡, 维修电话04711234567")
    row = client.get(f"{BASE}/requests/{case.pk}.json").json()[0]
    assert row["status"] == "open"
    assert row["status_notes"].startswith("已更换灯泡")
    assert "04711234567" not in row["status_notes"]  # digits masked
    case = act(world, case, "verify_pass")
    row = client.get(f"{BASE}/requests/{case.pk}.json").json()[0]
    assert row["status"] == "closed" and row["expected_datetime"] is None


def test_department_is_agency_responsible(client: Client, world: World) -> None:
    case = public_case(world)
    case = act(world, case, "acknowledge")
    act(world, case, "transfer")
    row = client.get(f"{BASE}/requests/{case.pk}.json").json()[0]
    assert row["agency_responsible"] == world.police.name


def test_get_requests_filters(client: Client, world: World) -> None:
    a = public_case(world)
    b = public_case(world, category="BJ0201", title="小广告")
    c = public_case(world)
    c = act(world, act(world, act(world, c, "acknowledge"), "report_back"), "verify_pass")
    world.intake(category="MD01")  # not public
    hidden = public_case(world)
    Case.objects.filter(pk=hidden.pk).update(is_hidden=True)

    def ids(**params: Any) -> set[int]:
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return {int(r["service_request_id"]) for r in response.json()}

    assert ids() == {a.pk, b.pk, c.pk}
    assert ids(service_code="BJ0201") == {b.pk}
    assert ids(service_code="BJ0201,BJ0102") == {a.pk, b.pk, c.pk}
    assert ids(status="open") == {a.pk, b.pk}
    assert ids(status="closed") == {c.pk}
    assert ids(service_request_id=f"{a.pk},{c.pk},{hidden.pk}") == {a.pk, c.pk}
    # XML lists the same rows.
    root = xml(client.get(f"{BASE}/requests.xml", {"status": "open"}))
    assert {int(r.findtext("service_request_id") or 0) for r in root.findall("request")} == {a.pk, b.pk}


def test_get_requests_date_window(client: Client, world: World) -> None:
    recent = public_case(world)
    old = public_case(world)
    now = timezone.now()
    Case.objects.filter(pk=old.pk).update(received_at=now - timedelta(days=120))

    def ids(**params: Any) -> set[int]:
        return {int(r["service_request_id"]) for r in client.get(f"{BASE}/requests.json", params).json()}

    assert ids() == {recent.pk}  # default: the last 90 days
    start = (now - timedelta(days=130)).isoformat(timespec="seconds")
    end = (now - timedelta(days=100)).isoformat(timespec="seconds")
    assert ids(start_date=start, end_date=end) == {old.pk}
    assert ids(start_date=start) == {old.pk}  # 90 days from start
    assert ids(end_date=now.isoformat()) == {recent.pk}
    too_wide = client.get(f"{BASE}/requests.xml", {"start_date": start, "end_date": now.isoformat()})
    assert too_wide.status_code == 400
    assert "90" in errors_of(too_wide, "xml")[0]["description"]
    assert client.get(f"{BASE}/requests.json", {"start_date": "not-a-date"}).status_code == 400
    assert client.get(f"{BASE}/requests.json", {"start_date": end, "end_date": start}).status_code == 400
    assert client.get(f"{BASE}/requests.json", {"status": "pending"}).status_code == 400
    assert client.get(f"{BASE}/requests.json", {"service_request_id": "1,x"}).status_code == 400


def test_get_requests_returns_at_most_1000(client: Client, world: World, django_assert_max_num_queries: Any) -> None:
    template = public_case(world)
    now = timezone.now()
    Case.objects.bulk_create(
        [
            Case(
                title=f"路灯{i}",
                description="路灯不亮",
                category=template.category,
                channel=Channel.HOTLINE,
                status=CaseStatus.RECEIVED,
                area_code=template.area_code,
                received_at=now - timedelta(minutes=i + 1),
                lon=template.lon,
                lat=template.lat,
            )
            for i in range(1005)
        ]
    )
    with django_assert_max_num_queries(3):
        response = client.get(f"{BASE}/requests.json")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 1000
    # Newest first.
    assert rows[0]["service_request_id"] == str(template.pk)


# --- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_token_lookup(client: Client, world: World, key: str, fmt: str) -> None:
    created = post(client, "json", key, world).json()[0]
    # Before the case exists: the token alone (the spec: no service_request_id yet).
    early = client.get(f"{BASE}/tokens/{created['token']}.{fmt}")
    assert early.status_code == 200
    if fmt == "xml":
        request = xml(early).find("request")
        assert request is not None and [c.tag for c in request] == ["token"]
    else:
        assert early.json() == [{"token": created["token"]}]
    intake_drain()
    created["service_request_id"] = str(Case.objects.get().pk)
    response = client.get(f"{BASE}/tokens/{created['token']}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        request = xml(response).find("request")
        assert request is not None
        assert request.findtext("service_request_id") == created["service_request_id"]
        assert request.findtext("token") == created["token"]
    else:
        assert response.json() == [{"service_request_id": created["service_request_id"], "token": created["token"]}]
    missing = client.get(f"{BASE}/tokens/nope.{fmt}")
    assert missing.status_code == 404
    assert errors_of(missing, fmt)[0]["code"] == "404"


def test_intake_service_is_not_bypassed(world: World) -> None:
    """An Open311 case is an ordinary case: it waits in the received queue like web reports."""
    case = services.case_intake(
        actor=None,
        channel=Channel.OPEN311,
        data={"title": "t", "description": "d", "category": "BJ0102", "address": "x"},
    )
    assert case.status == CaseStatus.RECEIVED
