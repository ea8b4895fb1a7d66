"""Fixtures for the case engine's tests: a sample district with the staff a case meets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.accounts.models import Department, User
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.territory.models import Area, Duty, Responsibility
from civicgrid.testing.factories import SampleDistrict, make_user


@dataclass
class World:
    d: SampleDistrict
    operator: User  # command centre, whole district
    street_admin: User  # street 0
    worker: User  # community 0
    other_worker: User  # community 2 (the other street)
    chief: User  # grid chief of grid 0 (no chief for the other grids)
    police: Department  # street 0's police station
    officer: User  # its handler
    leader: User

    def point(self, grid: Area | None = None) -> tuple[float, float]:
        return self.d.grid_center(grid or self.d.grids[0])

    def intake(self, actor: Any = None, *, grid: Area | None = None, **data: Any) -> Case:
        lon, lat = self.point(grid)
        payload: dict[str, Any] = {
            "title": "小区门口路灯不亮",
            "description": "清泉街小区3号楼门口路灯连续三晚不亮, 老人夜里出行不便",
            "category": "MD01",
            "lon": lon,
            "lat": lat,
            "reporter_name": "王先生",
            "reporter_phone": "13800138000",
        }
        register = data.pop("register", None)
        key = data.pop("idempotency_key", None)
        channel = data.pop("channel", "hotline")
        payload.update(data)
        return services.case_intake(
            actor=actor or self.operator, channel=channel, data=payload, idempotency_key=key, register=register
        )


def build_world(d: SampleDistrict) -> World:
    operator = make_user(Role.COMMAND_OPERATOR, d.district, username="op")
    street_admin = make_user(Role.STREET_ADMIN, d.streets[0], username="street0")
    worker = make_user(Role.COMMUNITY_WORKER, d.communities[0], username="worker0")
    other_worker = make_user(Role.COMMUNITY_WORKER, d.communities[2], username="worker2")
    chief = make_user(Role.GRID_CHIEF, d.grids[0], username="chief0")
    Responsibility.objects.create(user=chief, duty=Duty.GRID_CHIEF, area=d.grids[0])
    police = Department.objects.create(
        code="police0", name="兴隆巷派出所", kind=DepartmentKind.POLICE, area=d.streets[0]
    )
    officer = make_user(Role.DEPARTMENT_HANDLER, d.streets[0], username="officer0")
    officer.departments.set([police])
    leader = make_user(Role.LEADER, d.district, username="leader")
    return World(d, operator, street_admin, worker, other_worker, chief, police, officer, leader)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """These tests create many accounts and never log in: skip argon2's deliberate cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(district: SampleDistrict) -> World:
    return build_world(district)
