from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from civicgrid.indicators import selectors, services
from civicgrid.indicators.tests.conftest import World

pytestmark = pytest.mark.django_db


def test_flow_sums_the_periods_of_the_year(world: World) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4878)
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2025-H2", value=9999)
    p = selectors.indicator_progress(world.jobs, 2026)
    assert (p.target, p.value, p.latest_period and p.latest_period.key) == (Decimal(8000), Decimal(4878), "2026-H1")
    assert p.percent == Decimal("61.0")  # 4878 / 8000 = 60.975 -> 61.0
    assert p.expected_percent == Decimal("50.0") and p.on_track is True
    assert [(s.period.key, s.value, s.cumulative, s.version) for s in p.series] == [
        ("2026-H1", Decimal(4878), Decimal(4878), 1),
        ("2026-H2", None, None, 0),
    ]
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H2", value=3000)
    p = selectors.indicator_progress(world.jobs, 2026)
    assert (p.value, p.percent, p.expected_percent) == (Decimal(7878), Decimal("98.5"), Decimal("100.0"))
    assert p.on_track is False  # the whole year reported, target not reached
    assert p.series[1].cumulative == Decimal(7878)


def test_corrections_count_once(world: World) -> None:
    for value in (4000, 4878):
        services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=value)
    assert selectors.indicator_progress(world.jobs, 2026).value == Decimal(4878)


def test_stock_takes_the_latest_period(world: World) -> None:
    for period, value in (("2026-01", 10100), ("2026-03", 10303), ("2026-02", 10200)):
        services.indicator_value_enter(actor=world.hr_handler, indicator=world.pension, period=period, value=value)
    p = selectors.indicator_progress(world.pension, 2026)
    assert (p.value, p.latest_period and p.latest_period.key) == (Decimal(10303), "2026-03")
    assert p.percent == Decimal("95.4")  # 10303 / 10800
    assert p.expected_percent is None and p.on_track is False
    assert len(p.series) == 12 and p.series[1].cumulative == Decimal(10200) and p.series[3].cumulative is None


def test_rate_and_missing_target(world: World) -> None:
    services.indicator_value_enter(actor=world.health_handler, indicator=world.rate, period="2026-Q2", value=80)
    p = selectors.indicator_progress(world.rate, 2026)
    assert (p.value, p.percent, p.bar_percent) == (Decimal(80), Decimal("94.1"), Decimal("94.1"))
    none = selectors.indicator_progress(world.rate, 2025)
    assert (none.target, none.value, none.percent, none.on_track) == (None, None, None, None)


def test_percent_over_target_and_bar_cap(world: World) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=9000)
    p = selectors.indicator_progress(world.jobs, 2026)
    assert p.percent == Decimal("112.5") and p.bar_percent == Decimal(100)
    assert p.as_dict()["percent"] == 112.5 and p.as_dict()["value"] == 9000


def test_dashboard_is_scoped_by_capability_and_territory(world: World, user_factory: Any) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4878)
    rows = selectors.indicators_for_dashboard(world.leader, 2026)
    assert [r.indicator.code for r in rows] == [
        "employment.urban_new",
        "insurance.pension",
        "health.family_doctor_rate",
    ]
    assert rows[0].as_dict()["series"][0] == {
        "period": "2026-H1",
        "label": "上半年",
        "value": 4878,
        "cumulative": 4878,
        "version": 1,
    }
    assert [r.indicator.code for r in selectors.indicators_for_dashboard(world.leader, 2026, public_only=True)] == [
        "employment.urban_new"
    ]
    # A street administrator sees no district indicators; a grid chief has no capability.
    assert selectors.indicators_for_dashboard(world.street_admin, 2026) == []
    from civicgrid.accounts.enums import Role

    chief = user_factory(Role.GRID_CHIEF, world.district.district, username="chief")
    assert selectors.indicators_for_dashboard(chief, 2026) == []
    assert [r.indicator.code for r in selectors.public_indicators_for_dashboard(2026)] == ["employment.urban_new"]


def test_dashboard_reads_in_a_constant_number_of_queries(
    world: World, django_assert_max_num_queries: Any, django_assert_num_queries: Any
) -> None:
    for period, value in (("2026-01", 1), ("2026-02", 2), ("2026-03", 3)):
        services.indicator_value_enter(actor=world.hr_handler, indicator=world.pension, period=period, value=value)
    with django_assert_num_queries(3):  # indicators (+ department, area), targets, values
        rows = selectors.indicators_for_dashboard(world.leader, 2026)
        [r.as_dict() for r in rows]


def test_progress_list_pages(world: World) -> None:
    items = selectors.ProgressList(selectors.indicator_list(world.leader), 2026)
    assert len(items) == 3
    assert [p.indicator.code for p in items[1:3]] == ["insurance.pension", "health.family_doctor_rate"]
    assert items[0].indicator.code == "employment.urban_new"


def test_value_history_keeps_every_version(world: World) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4800)
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4878)
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2025-H2", value=5000)
    rows = list(selectors.value_history(world.leader, world.jobs))
    assert [(r.period_key, r.version, r.is_current) for r in rows] == [
        ("2026-H1", 2, True),
        ("2026-H1", 1, False),
        ("2025-H2", 1, True),
    ]
    assert len(selectors.value_history(world.leader, world.jobs, year=2026)) == 2
    assert not selectors.value_history(world.street_admin, world.jobs).exists()
