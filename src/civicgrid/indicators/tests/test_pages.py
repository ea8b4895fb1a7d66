from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from civicgrid.accounts.enums import Role
from civicgrid.indicators import services
from civicgrid.indicators.enums import PeriodKind, Unit
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.tests.conftest import World, xlsx

pytestmark = pytest.mark.django_db


def test_register_shows_progress_bars(client: Client, world: World, django_assert_max_num_queries: Any) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4878)
    client.force_login(world.leader)
    with django_assert_max_num_queries(12):
        response = client.get("/indicators/", {"year": 2026})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-code="employment.urban_new" data-percent="61.0"' in body
    assert "截至2026年上半年" in body and "61.0%" in body and 'style="width: 61.0%"' in body
    assert "Excel 导入数值" not in body and "填报</a>" not in body  # a leader reads only


def test_register_query_count_does_not_grow_with_indicators(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        services.indicator_create(
            actor=world.sysadmin,
            code=f"extra.{n}",
            name=f"指标{n}",
            department=world.hr,
            unit=Unit.PERSON,
            period_kind=PeriodKind.YEAR,
            targets={2026: 100},
        )
    client.force_login(world.hr_handler)
    with django_assert_max_num_queries(12):
        body = client.get("/indicators/").content.decode()
    assert body.count("<tr data-code=") == 20  # paginated
    assert "第 1 / 2 页, 共 33 项" in body and body.count('class="enter-link"') >= 2
    page2 = client.get("/indicators/", {"page": 2}).content.decode()
    assert page2.count("<tr data-code=") == 13


def test_register_filters_and_refuses_roles_without_the_capability(client: Client, world: World) -> None:
    client.force_login(world.leader)
    body = client.get("/indicators/", {"department": world.health.pk}).content.decode()
    assert "家庭医生签约率" in body and "城镇新增就业" not in body
    grid_chief = world.district.grids[0]
    from civicgrid.testing.factories import make_user

    client.force_login(make_user(Role.GRID_CHIEF, grid_chief, username="gc"))
    assert client.get("/indicators/").status_code == 403
    client.logout()
    assert client.get("/indicators/").status_code == 302


def test_detail_shows_chart_history_and_entry_form(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4800)
    services.indicator_value_enter(
        actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4878, note="补报"
    )
    client.force_login(world.hr_handler)
    with django_assert_max_num_queries(14):
        response = client.get(f"/indicators/{world.jobs.pk}/", {"year": 2026})
    body = response.content.decode()
    assert 'id="indicator-chart"' in body and 'id="indicator-chart-data"' in body and "echarts.min.js" in body
    assert 'class="superseded" data-period="2026-H1" data-version="1"' in body
    assert 'class="current" data-period="2026-H1" data-version="2"' in body and "补报" in body
    assert "人社统计员" in body and 'id="entry-form"' in body
    assert 'value="2026-H1" data-version="2"' in body and 'value="2026-H2" data-version="0" selected' in body
    client.force_login(world.health_handler)
    body = client.get(f"/indicators/{world.jobs.pk}/").content.decode()
    assert 'id="entry-form"' not in body and "只有指标的责任部门" in body


def test_htmx_entry_success_and_errors(client: Client, world: World) -> None:
    client.force_login(world.hr_handler)
    url = f"/indicators/{world.jobs.pk}/enter/?year=2026"
    htmx = {"HX-Request": "true"}
    r = client.post(url, {"period": "2026-H1", "value": "4878", "note": "", "expected_version": "0"}, headers=htmx)
    assert r.status_code == 200 and "已填报 2026-H1 的数值" in r.content.decode()
    assert 'id="indicator-live"' in r.content.decode() and "<html" not in r.content.decode()
    r = client.post(url, {"period": "2026-H1", "value": "-5", "expected_version": "1"}, headers=htmx)
    assert r.status_code == 400 and "不能为负数" in r.content.decode()
    r = client.post(url, {"period": "2026-H1", "value": "4900", "expected_version": "0"}, headers=htmx)
    assert r.status_code == 409 and "已被他人更新" in r.content.decode()
    r = client.post(url, {"period": "2026-05", "value": "1", "expected_version": "0"}, headers=htmx)
    assert r.status_code == 400  # not one of the form's periods
    r = client.post(url, {"period": "2026-H1", "value": "4900", "expected_version": "1"}, headers=htmx)
    assert r.status_code == 200 and "已更正 2026-H1 的数值(第2版)" in r.content.decode()
    assert IndicatorValue.objects.filter(indicator=world.jobs).count() == 2


def test_plain_post_redirects_with_a_message(client: Client, world: World) -> None:
    client.force_login(world.hr_handler)
    r = client.post(f"/indicators/{world.jobs.pk}/enter/?year=2026", {"period": "2026-H1", "value": "10"})
    assert r.status_code == 302 and r["Location"].endswith(f"/indicators/{world.jobs.pk}/?year=2026")
    assert "已填报" in client.get(r["Location"]).content.decode()


def test_entry_refused_to_other_departments_and_readers(client: Client, world: World) -> None:
    for user in (world.health_handler, world.leader):
        client.force_login(user)
        r = client.post(f"/indicators/{world.jobs.pk}/enter/", {"period": "2026-H1", "value": "10"})
        assert r.status_code == 403
    assert not IndicatorValue.objects.exists()


def test_import_page_good_and_bad_files(client: Client, world: World, django_assert_max_num_queries: Any) -> None:
    client.force_login(world.hr_handler)
    with django_assert_max_num_queries(10):
        page = client.get("/indicators/import/")
    assert page.status_code == 200 and "employment.urban_new" in page.content.decode()
    bad = xlsx([["employment.urban_new", "", "", "2026-05", 1, ""], ["insurance.pension", "", "", "2026-05", 9, ""]])
    r = client.post("/indicators/import/", {"file": bad})
    body = r.content.decode()
    assert r.status_code == 400 and 'id="import-errors"' in body and "统计周期(半年)不符" in body
    assert "未写入任何数据" in body and not IndicatorValue.objects.exists()
    good = xlsx([["employment.urban_new", "", "", "2026-H1", 4878, ""]])
    r = client.post("/indicators/import/", {"file": good})
    assert r.status_code == 200 and "新填报 1" in r.content.decode()
    assert IndicatorValue.objects.get().value == 4878


def test_import_rejects_other_files_and_roles(client: Client, world: World) -> None:
    client.force_login(world.hr_handler)
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client.post("/indicators/import/", {"file": SimpleUploadedFile("a.csv", b"a,b")})
    assert r.status_code == 400 and ".xlsx" in r.content.decode()
    r = client.post("/indicators/import/", {"file": SimpleUploadedFile("a.xlsx", b"junk")})
    assert r.status_code == 400 and "无法读取" in r.content.decode()
    client.force_login(world.leader)
    assert client.get("/indicators/import/").status_code == 403
    assert client.get("/indicators/import/template/").status_code == 403


def test_template_download(client: Client, world: World) -> None:
    client.force_login(world.health_handler)
    r = client.get("/indicators/import/template/")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    from io import BytesIO

    book = load_workbook(BytesIO(b"".join(r.streaming_content)))  # type: ignore[attr-defined]
    codes = [row[0] for row in book["指标数值"].iter_rows(min_row=2, values_only=True)]
    assert codes == ["health.family_doctor_rate"]
