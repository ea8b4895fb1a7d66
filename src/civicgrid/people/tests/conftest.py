"""Fixtures for the people tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.common.idcard import make_id_number
from civicgrid.people.services import PersonRow, person_bulk_create
from civicgrid.territory.models import Building, Compound, Household


def make_number(seq: int, *, male: bool = True, birth: dt.date = dt.date(1980, 5, 17)) -> str:
    """A valid number, distinct for every (seq < 500, male) pair."""
    return make_id_number("150104", birth, seq * 2 + (1 if male else 0), male)


@pytest.fixture
def homes(district: Any) -> dict[str, Any]:
    """A compound, a building and a household in the first grid of each of the first two communities."""
    out: dict[str, Any] = {}
    for idx, grid in enumerate((district.grids[0], district.grids[2])):
        compound = Compound.objects.create(grid=grid, area_code=grid.code, code=f"{grid.code}C1", name=f"清泉小区{idx}")
        building = Building.objects.create(
            compound=compound, grid=grid, area_code=grid.code, code=f"{grid.code}C1B1", name="1号楼", units=2
        )
        household = Household.objects.create(
            building=building, area_code=grid.code, code=f"{grid.code}C1B1-1-101", unit="1", room="101"
        )
        out[f"compound{idx}"], out[f"building{idx}"], out[f"household{idx}"] = compound, building, household
    return out


@pytest.fixture
def worker(district: Any, user_factory: Any) -> Any:
    """A community worker of the first community (grids 0 and 1)."""
    return user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="worker1")


@pytest.fixture
def other_worker(district: Any, user_factory: Any) -> Any:
    """A community worker of the second community (grids 2 and 3)."""
    return user_factory(Role.COMMUNITY_WORKER, district.communities[1], username="worker2")


@pytest.fixture
def residents(district: Any) -> list[Any]:
    """Two residents in community 0 (grid 0) and one in community 1 (grid 2)."""
    rows = [
        PersonRow(
            name="张三",
            id_number=make_number(11),
            grid=district.grids[0],
            phone="13800138000",
            current_address="兴隆巷街道清泉街社区3号楼2单元501",
            tags=("elderly",),
        ),
        PersonRow(name="张小四", id_number=make_number(12, male=False), grid=district.grids[1], phone="13900139000"),
        PersonRow(name="李五", id_number=make_number(13), grid=district.grids[2], phone="13700137000"),
    ]
    person_bulk_create(rows=rows)
    from civicgrid.people.models import Person

    return list(Person.objects.order_by("id"))
