"""/api/reports: list (scoped, paginated, filters, bad input), generation through the page's
service (202, then poll), status and progress, the figures as JSON == the Excel file ==
``report_data``, file downloads (audited), scope (404 outside), and the OpenAPI contract."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from openpyxl import load_workbook

from civicgrid.audit.models import AuditEvent
from civicgrid.dashboards.tests.conftest import TODAY
from civicgrid.reports.content import report_data
from civicgrid.reports.models import Report, ReportSchedule, ReportStatus
from civicgrid.reports.periods import parse_period
from civicgrid.reports.services import _create, progress_key
from civicgrid.reports.tests.conftest import SITE

pytestmark = pytest.mark.django_db
URL = "/api/reports/"


@pytest.fixture(autouse=True)
def _no_live_progress() -> Any:
    """Progress lives in the cache, keyed by report id (ids repeat across rolled-back tests)."""
    cache.clear()
    yield
    cache.clear()


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _reports(fx: Any, n: int, *, node: Any = None, period: str = "2026-01", user: Any = None) -> list[Report]:
    p = parse_period(period, today=TODAY)
    return [
        _create(node or fx.d.district, p, True, False, requested_by=user or fx.w.operator, schedule=None)
        for _ in range(n)
    ]


@pytest.fixture
def made(fx: Any, django_capture_on_commit_callbacks: Any) -> tuple[Client, dict[str, Any]]:
    """The operator asks for the district's February report over the API (202), it runs after
    the commit (the inline runner), and the status then says done."""
    client = _client(fx.w.operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"area": fx.d.district.code, "period": "2026-02"}, content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["progress"]["percent"] == 0
    assert body["files"] == [] and body["data_url"] is None
    assert body["status_url"].endswith(f"/api/reports/{body['id']}")
    status = client.get(body["status_url"])
    assert status.status_code == 200
    return client, status.json()


def test_generate_poll_and_figures_equal_the_file_and_report_data(fx: Any, made: Any) -> None:
    client, body = made
    report = Report.objects.get(pk=body["id"])
    assert body["status"] == "done", body["message"]
    assert body["progress"]["percent"] == 100
    assert body["period"] == "2026-02" and body["period_kind"] == "month" and body["area_code"] == fx.d.district.code
    assert body["formats"] == ["xlsx", "pdf"] and body["requested_by"] == fx.w.operator.username
    assert [(f["format"], f["size"]) for f in body["files"]] == [("xlsx", report.xlsx_size), ("pdf", report.pdf_size)]
    assert AuditEvent.objects.filter(object_type="reports.report", object_id=str(report.pk), action="export").exists()

    figures = client.get(body["data_url"])
    assert figures.status_code == 200
    payload = figures.json()
    assert payload["report_id"] == report.pk and payload["node"]["code"] == fx.d.district.code
    assert payload["period"]["key"] == "2026-02" and payload["end"] == "2026-02-28"
    # the numbers of report_data, cell for cell
    data = report_data(fx.w.operator, fx.d.district.code, parse_period("2026-02", today=TODAY))
    assert {f["key"]: f["value"] for f in payload["headline"]} == {f.key: f.cell.value for f in data.headline}
    headline = {f["key"]: f for f in payload["headline"]}
    assert headline["received"]["value"] == data.metrics.received > 0
    assert headline["received"]["url"].startswith(f"{SITE}/dashboards/cases/?metric=received&start=2026-02-01")
    assert [s["key"] for s in payload["sections"]] == [s.key for s in data.sections]
    assert "children" in {s["key"] for s in payload["sections"]}
    for section in payload["sections"]:
        expected = data.require(section["key"])
        assert section["headers"] == expected.headers
        assert [[c["value"] for c in row] for row in section["rows"]] == [
            [float(c.value) if c.fmt == "decimal" and c.value is not None else c.value for c in row]
            for row in expected.rows
        ]
    assert payload["overdue"]["total"] == data.overdue_total

    # ... and the numbers of the Excel file the API serves
    xlsx = next(f for f in body["files"] if f["format"] == "xlsx")
    download = client.get(xlsx["url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    in_file = {row[0].value: row[1].value for row in wb["概要"].iter_rows(min_row=8) if row[0].value}
    for figure in payload["headline"]:
        if figure["value"] is not None:
            assert in_file[figure["label"]] == pytest.approx(figure["value"]), figure["label"]
    channels = next(s for s in payload["sections"] if s["key"] == "channels")
    sheet = [list(r) for r in wb["受理渠道"].iter_rows(min_row=2, max_row=1 + len(channels["rows"]), values_only=True)]
    assert [r[:3] for r in sheet] == [[c["value"] for c in row[:3]] for row in channels["rows"]]
    downloads = AuditEvent.objects.filter(object_id=str(report.pk), changes__download__after="xlsx")
    assert downloads.count() == 1


def test_status_progress_and_figures_before_done(fx: Any) -> None:
    (report,) = _reports(fx, 1)
    client = _client(fx.w.operator)
    cache.set(progress_key(report.pk), {"done": 3, "total": 9})
    body = client.get(f"{URL}{report.pk}").json()
    assert body["status"] == "pending" and body["progress"] == {"done": 3, "total": 9, "percent": 33}
    assert body["files"] == [] and body["data_url"] is None
    not_ready = client.get(f"{URL}{report.pk}/data")
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "report_not_ready"
    assert "尚未生成完成" in not_ready.json()["error"]["message"]
    assert client.get(f"{URL}{report.pk}/files/xlsx").json()["error"]["code"] == "not_found"

    Report.objects.filter(pk=report.pk).update(status=ReportStatus.FAILED, message="生成失败: 测试")
    failed = client.get(f"{URL}{report.pk}").json()
    assert failed["status"] == "failed" and failed["message"] == "生成失败: 测试"
    assert client.get(f"{URL}{report.pk}/data").status_code == 409
    # done, but made before the figures were kept
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.DONE, data=None)
    missing = client.get(f"{URL}{report.pk}/data")
    assert missing.status_code == 409 and missing.json()["error"]["code"] == "report_data_missing"


def test_list_is_scoped_paginated_and_filtered(fx: Any, django_assert_max_num_queries: Any) -> None:
    _reports(fx, 23)
    _reports(fx, 2, period="2026-02")
    _reports(fx, 1, node=fx.d.streets[0], user=fx.w.street_admin)
    period = parse_period("2026-01", today=TODAY)
    schedule = ReportSchedule.objects.create(
        name="小召月报", area=fx.d.streets[1], area_code=fx.d.streets[1].code, period_kind="month", owner=fx.w.operator
    )
    _create(fx.d.streets[1], period, True, True, requested_by=fx.w.operator, schedule=schedule)
    client = _client(fx.w.operator)
    with django_assert_max_num_queries(8):
        body = client.get(URL).json()
    assert body["count"] == 26 and len(body["items"]) == 20  # its own 25 + the scheduled one
    with django_assert_max_num_queries(8):
        second = client.get(URL, {"page": 2}).json()
    assert len(second["items"]) == 6
    assert {r["id"] for r in body["items"]}.isdisjoint(r["id"] for r in second["items"])
    assert client.get(URL, {"period": "2026-2"}).json()["count"] == 2  # normalised to 2026-02
    assert client.get(URL, {"kind": "year"}).json()["count"] == 0
    assert client.get(URL, {"kind": "month", "period": "2026-01"}).json()["count"] == 24
    by_area = client.get(URL, {"area": fx.d.streets[1].code}).json()
    assert by_area["count"] == 1 and by_area["items"][0]["schedule_name"] == "小召月报"
    # a street administrator sees only its own request
    street = _client(fx.w.street_admin).get(URL).json()
    assert [r["area_code"] for r in street["items"]] == [fx.d.streets[0].code]


def test_list_bad_input(fx: Any) -> None:
    client = _client(fx.w.street_admin)
    bad = client.get(URL, {"kind": "week", "period": "2026-13", "area": "15x"})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"kind", "period", "area"}
    assert "报表周期格式不正确" in error["fields"]["period"][0]
    outside = client.get(URL, {"area": fx.d.streets[1].code})
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_found"
    assert client.get(URL, {"period": "2030"}).json()["count"] == 0  # a filter may name any period


def test_generate_bad_input_and_scope(fx: Any) -> None:
    street = _client(fx.w.street_admin)

    def post(client: Client, body: dict[str, Any]) -> Any:
        return client.post(URL, body, content_type="application/json")

    bad_period = post(street, {"area": fx.d.streets[0].code, "period": "2026-13"})
    assert bad_period.status_code == 400
    assert "报表周期格式不正确" in bad_period.json()["error"]["fields"]["period"][0]
    future = post(street, {"area": fx.d.streets[0].code, "period": "2027"})
    assert future.status_code == 400 and "尚未开始" in future.json()["error"]["message"]
    no_format = post(street, {"area": fx.d.streets[0].code, "period": "2026-02", "want_xlsx": False, "want_pdf": False})
    assert no_format.status_code == 400 and "请至少选择一种格式" in no_format.json()["error"]["fields"]["formats"][0]
    not_digits = post(street, {"area": "abc", "period": "2026-02"})
    assert not_digits.status_code == 400 and not_digits.json()["error"]["fields"]["area"]
    missing = post(street, {"period": "2026-02"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_input"
    outside = post(street, {"area": fx.d.streets[1].code, "period": "2026-02"})
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_found"
    assert not Report.objects.exists()  # nothing half-written
    assert post(_client(fx.sysadmin), {"area": fx.d.district.code, "period": "2026-02"}).status_code == 403
    assert Client().post(URL, {}, content_type="application/json").status_code == 401


def test_reports_outside_scope_are_404(fx: Any, made: Any) -> None:
    _client_op, body = made
    street = _client(fx.w.street_admin)
    for suffix in ("", "/data", "/files/xlsx", "/files/pdf"):
        response = street.get(f"{URL}{body['id']}{suffix}")
        assert response.status_code == 404, suffix
        assert response.json()["error"]["code"] == "not_found"
    # the system administrator has no case view at all
    forbidden = _client(fx.sysadmin).get(f"{URL}{body['id']}")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    assert _client(fx.sysadmin).get(URL).status_code == 403
    assert not AuditEvent.objects.filter(object_id=str(body["id"]), changes__has_key="download").exists()


def test_file_download_formats(fx: Any, made: Any) -> None:
    client, body = made
    pdf = client.get(f"{URL}{body['id']}/files/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert f"report-{fx.d.district.code}-2026-02.pdf" in pdf["Content-Disposition"]
    wrong = client.get(f"{URL}{body['id']}/files/doc")
    assert wrong.status_code == 400 and wrong.json()["error"]["fields"]["fmt"]
    (excel_only,) = _reports(fx, 1)
    Report.objects.filter(pk=excel_only.pk).update(status=ReportStatus.DONE)
    assert client.get(f"{URL}{excel_only.pk}/files/pdf").status_code == 404  # not asked for


def test_openapi_documents_the_report_operations(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    ops = {(m, p): op for p, item in paths.items() if p.startswith("/api/reports") for m, op in item.items()}
    assert set(ops) == {
        ("get", "/api/reports/"),
        ("post", "/api/reports/"),
        ("get", "/api/reports/{report_id}"),
        ("get", "/api/reports/{report_id}/data"),
        ("get", "/api/reports/{report_id}/files/{fmt}"),
    }
    for op in ops.values():
        assert op["tags"] == ["reports"]
        assert op.get("summary") and op.get("security") and op.get("operationId")
        assert "200" in op["responses"] or "201" in op["responses"]
    listing = ops[("get", "/api/reports/")]
    assert {p["name"] for p in listing["parameters"]} >= {"kind", "period", "area", "page"}
    assert {"201", "202"} <= set(ops[("post", "/api/reports/")]["responses"])
    assert "application/pdf" in ops[("get", "/api/reports/{report_id}/files/{fmt}")]["responses"]["200"]["content"]
