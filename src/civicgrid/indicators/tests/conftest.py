"""An indicators world on the sample district: the human-resources bureau and the health
commission (district departments), a handler of each, a leader, a street administrator,
the system administrator and three indicators (a half-yearly flow, a monthly stock, a
rate) with 2026 targets. The clock is frozen at 2026-11-15 (local time)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
import time_machine
from openpyxl import Workbook

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.accounts.models import Department, User
from civicgrid.indicators import services
from civicgrid.indicators.enums import Aggregation, PeriodKind, Unit
from civicgrid.indicators.models import Indicator
from civicgrid.testing.factories import SampleDistrict, make_user

NOW = dt.datetime(2026, 11, 15, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 15)


@dataclass
class World:
    district: SampleDistrict
    hr: Department
    health: Department
    hr_handler: User
    health_handler: User
    leader: User
    street_admin: User
    sysadmin: User
    jobs: Indicator  # 人社局, half-yearly, sum
    pension: Indicator  # 人社局, monthly, latest
    rate: Indicator  # 卫健委, quarterly, rate


def build_world(d: SampleDistrict) -> World:
    hr = Department.objects.create(
        code="150104-hr", name="玉泉区人力资源和社会保障局", kind=DepartmentKind.HUMAN_RESOURCES, area=d.district
    )
    health = Department.objects.create(
        code="150104-health", name="玉泉区卫生健康委员会", kind=DepartmentKind.HEALTH, area=d.district
    )
    hr_handler = make_user(Role.DEPARTMENT_HANDLER, d.district, username="renshe", display_name="人社统计员")
    hr_handler.departments.add(hr)
    health_handler = make_user(Role.DEPARTMENT_HANDLER, d.district, username="weijian", display_name="卫健统计员")
    health_handler.departments.add(health)
    sysadmin = make_user(Role.SYSTEM_ADMIN, d.district, username="sysadmin")
    jobs = services.indicator_create(
        actor=sysadmin,
        code="employment.urban_new",
        name="城镇新增就业",
        department=hr,
        unit=Unit.PERSON,
        period_kind=PeriodKind.HALF_YEAR,
        aggregation=Aggregation.SUM,
        targets={2026: 8000},
        is_public=True,
        sort_order=10,
    )
    pension = services.indicator_create(
        actor=sysadmin,
        code="insurance.pension",
        name="城乡居民养老保险参保",
        department=hr,
        unit=Unit.PERSON,
        period_kind=PeriodKind.MONTH,
        aggregation=Aggregation.LATEST,
        targets={2026: 10800},
        sort_order=20,
    )
    rate = services.indicator_create(
        actor=sysadmin,
        code="health.family_doctor_rate",
        name="家庭医生签约率",
        department=health,
        unit=Unit.PERCENT,
        period_kind=PeriodKind.QUARTER,
        aggregation=Aggregation.RATE,
        targets={2026: Decimal("85")},
        sort_order=30,
    )
    return World(
        district=d,
        hr=hr,
        health=health,
        hr_handler=hr_handler,
        health_handler=health_handler,
        leader=make_user(Role.LEADER, d.district, username="lingdao"),
        street_admin=make_user(Role.STREET_ADMIN, d.streets[0], username="jiedao"),
        sysadmin=sysadmin,
        jobs=jobs,
        pension=pension,
        rate=rate,
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def world(district: SampleDistrict, frozen: None) -> World:
    return build_world(district)


def xlsx(rows: list[list[Any]], headers: list[str] | None = None) -> BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers or ["指标编码", "指标名称", "单位", "统计期", "数值", "说明"])
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    workbook.save(out)
    out.seek(0)
    out.name = "values.xlsx"
    return out
