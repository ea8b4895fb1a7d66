"""The screen's patrol and indicator parts: today's duty of the node's chiefs, and the
register's indicators of the node (a street's screen shows its own, not the district's)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.dashboards.screen import screen_data
from civicgrid.dashboards.tests.conftest import NOW, TODAY, Fixture
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.patrols.enums import PatrolStatus
from civicgrid.patrols.models import Patrol
from civicgrid.territory.models import Area, Duty, Responsibility
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


def test_todays_patrol_duty(fx: Fixture) -> None:
    chief2 = make_user(Role.GRID_CHIEF, fx.d.grids[4], username="chief4")
    Responsibility.objects.create(user=chief2, duty=Duty.GRID_CHIEF, area=fx.d.grids[4])
    for hour in (8, 14):  # two counted patrols: the default duty (2 a day) is met
        Patrol.objects.create(
            worker=chief2,
            duty=Duty.GRID_CHIEF,
            area_code=fx.d.grids[4].code,
            day=TODAY,
            started_at=NOW.replace(hour=hour) - dt.timedelta(hours=1),
            ended_at=NOW.replace(hour=hour),
            status=PatrolStatus.ENDED,
            coverage=0.95,
            counts_toward_duty=True,
        )
    whole = screen_data(fx.w.operator)["patrols"]
    assert whole is not None
    assert (whole["workers"]["value"], whole["met"]["value"], whole["not_met"]["value"]) == (2, 1, 1)
    assert whole["patrols"]["value"] == 2
    assert [p["name"] for p in whole["pending"]] == [fx.w.chief.display_name or fx.w.chief.username]
    assert whole["workers"]["url"] == f"/patrols/compliance/{fx.d.district.code}/?period=today"
    street0 = screen_data(fx.w.street_admin)["patrols"]
    assert street0 is not None and (street0["workers"]["value"], street0["met"]["value"]) == (1, 0)
    # a department handler does not read patrols: the part is left out, not an error
    assert screen_data(fx.w.officer)["patrols"] is None


def test_indicators_of_the_node_only(fx: Fixture) -> None:
    def indicator(code: str, area: Area, value: int, target: int) -> Indicator:
        ind = Indicator.objects.create(
            code=code,
            name=f"指标{code}",
            department=fx.w.police,
            unit="人",
            period_kind="year",
            aggregation="sum",
            area=area,
        )
        IndicatorTarget.objects.create(indicator=ind, year=TODAY.year, target=Decimal(target))
        IndicatorValue.objects.create(
            indicator=ind,
            period_key=str(TODAY.year),
            period_start=dt.date(TODAY.year, 1, 1),
            period_end=dt.date(TODAY.year, 12, 31),
            year=TODAY.year,
            value=Decimal(value),
        )
        return ind

    indicator("jobs", fx.d.district, 4878, 9000)
    indicator("street0.jobs", fx.d.streets[0], 120, 100)
    district = screen_data(fx.w.operator)["indicators"]
    assert district is not None
    assert [(i["code"], i["value"], i["target"], i["percent"]) for i in district] == [
        ("jobs", 4878, 9000, 54.2),
        ("street0.jobs", 120, 100, 120),
    ]
    street = screen_data(fx.w.street_admin)["indicators"]
    assert street is not None and [i["code"] for i in street] == ["street0.jobs"]
    # the operator pointing the screen at the street sees the street's part too
    pointed = screen_data(fx.w.operator, fx.d.streets[0].code)["indicators"]
    assert pointed is not None and [i["code"] for i in pointed] == ["street0.jobs"]
    # a community worker has no right to the register: the part is left out
    assert screen_data(fx.community_worker)["indicators"] is None
