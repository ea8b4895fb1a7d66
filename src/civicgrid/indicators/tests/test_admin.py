from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from civicgrid.audit.models import AuditEvent
from civicgrid.indicators import services
from civicgrid.indicators.models import IndicatorTarget
from civicgrid.indicators.tests.conftest import World

pytestmark = pytest.mark.django_db


def test_system_admin_manages_indicators_and_targets_in_the_admin(client: Client, world: World) -> None:
    client.force_login(world.sysadmin)
    assert client.get("/admin/indicators/indicator/").status_code == 200
    url = f"/admin/indicators/indicator/{world.jobs.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="period_kind"' in page.content.decode()
    target = IndicatorTarget.objects.get(indicator=world.jobs, year=2026)
    data = {
        "name": "城镇新增就业人数",
        "description": "",
        "department": world.hr.pk,
        "unit": "人",
        "period_kind": "half",
        "aggregation": "sum",
        "area": world.district.district.pk,
        "sort_order": 10,
        "is_public": "on",
        "is_active": "on",
        "targets-TOTAL_FORMS": "2",
        "targets-INITIAL_FORMS": "1",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
        "targets-0-id": target.pk,
        "targets-0-indicator": world.jobs.pk,
        "targets-0-year": "2026",
        "targets-0-target": "8500",
        "targets-1-indicator": world.jobs.pk,
        "targets-1-year": "2027",
        "targets-1-target": "-1",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and "不能为负数" in response.content.decode()  # the bad target row
    data["targets-1-target"] = "9000"
    response = client.post(url, data)
    assert response.status_code == 302
    world.jobs.refresh_from_db()
    assert world.jobs.name == "城镇新增就业人数"
    assert sorted(IndicatorTarget.objects.filter(indicator=world.jobs).values_list("year", "target")) == [
        (2026, Decimal(8500)),
        (2027, Decimal(9000)),
    ]
    assert AuditEvent.objects.filter(object_type="indicators.indicator", message="admin").exists()
    assert AuditEvent.objects.filter(object_type="indicators.indicatortarget", message="admin").count() == 2


def test_unit_and_period_are_read_only_once_values_exist(client: Client, world: World) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=1)
    client.force_login(world.sysadmin)
    body = client.get(f"/admin/indicators/indicator/{world.jobs.pk}/change/").content.decode()
    assert 'name="period_kind"' not in body and 'name="unit"' not in body and 'name="name"' in body


def test_values_are_read_only_and_others_stay_out(client: Client, world: World) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=1)
    client.force_login(world.sysadmin)
    assert client.get("/admin/indicators/indicatorvalue/").status_code == 200
    assert client.get("/admin/indicators/indicatorvalue/add/").status_code == 403
    client.force_login(world.hr_handler)
    assert client.get("/admin/indicators/indicator/").status_code == 302  # not an admin user
