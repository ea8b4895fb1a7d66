from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.common.errors import Conflict
from civicgrid.indicators import services
from civicgrid.indicators.enums import Aggregation, PeriodKind, Unit
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.indicators.periods import parse_any, parse_period
from civicgrid.indicators.tests.conftest import TODAY, World
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


def enter(world: World, indicator: Indicator, period: str, value: object, **kw: object) -> services.EntryResult:
    actor = world.health_handler if indicator.department_id == world.health.pk else world.hr_handler
    return services.indicator_value_enter(actor=actor, indicator=indicator, period=period, value=value, **kw)  # type: ignore[arg-type]


# --- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-H1", "2026-H1"),
        ("2026h2", "2026-H2"),
        ("2026年上半年", "2026-H1"),
        ("2026-Q3", "2026-Q3"),
        ("2026年第二季度", "2026-Q2"),
        ("2026-5", "2026-05"),
        ("2026年5月", "2026-05"),
        ("202605", "2026-05"),
        ("2026", "2026"),
        (2026, "2026"),
    ],
)
def test_period_spellings(text: object, key: str) -> None:
    assert parse_any(text).key == key


def test_period_bounds_and_dates() -> None:
    h1 = parse_any("2026-H1")
    assert (h1.start.isoformat(), h1.end.isoformat(), h1.share_of_year) == ("2026-01-01", "2026-06-30", 0.5)
    feb = parse_any("2028-02")
    assert feb.end.day == 29
    for bad in ("2026-13", "2026-Q5", "2026-H3", "1999", "abc", ""):
        with pytest.raises(ValidationError):
            parse_any(bad)


def test_period_must_match_the_kind_and_have_started() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_period("2026-05", PeriodKind.HALF_YEAR, today=TODAY)
    assert "统计周期(半年)不符" in exc.value.messages[0] and "2026-H1" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        parse_period("2027-H1", PeriodKind.HALF_YEAR, today=TODAY)
    assert "尚未开始" in exc.value.messages[0]
    assert parse_period("2026-H2", PeriodKind.HALF_YEAR, today=TODAY).key == "2026-H2"


# --- entering values ---------------------------------------------------------------------------


def test_first_entry_is_version_one_and_audited(world: World) -> None:
    before = AuditEvent.objects.count()
    result = enter(world, world.jobs, "2026-H1", "4878", note="上半年报表")
    assert result.outcome == "created"
    row = result.value
    assert (row.value, row.version, row.is_current, row.entered_by, row.period_key) == (
        Decimal(4878),
        1,
        True,
        world.hr_handler,
        "2026-H1",
    )
    assert row.area_code == "150104" and row.year == 2026
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event is not None and event.action == "create" and event.actor_id == world.hr_handler.pk
    assert event.changes["value"] == {"before": None, "after": "4878.00"}
    assert event.changes["period"] == "2026-H1"


def test_correction_keeps_history_and_exactly_one_current(world: World) -> None:
    enter(world, world.jobs, "2026-H1", 4800)
    corrected = enter(world, world.jobs, "2026-H1", 4878, note="更正: 补报两个街道")
    assert corrected.outcome == "corrected"
    rows = list(IndicatorValue.objects.filter(indicator=world.jobs).order_by("version"))
    assert [(r.version, r.value, r.is_current) for r in rows] == [
        (1, Decimal(4800), False),
        (2, Decimal(4878), True),
    ]
    assert rows[1].supersedes_id == rows[0].pk
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.action == "update"
    assert event.changes["value"] == {"before": "4800.00", "after": "4878.00"} and event.changes["version"] == 2


def test_same_value_again_changes_nothing(world: World) -> None:
    enter(world, world.jobs, "2026-H1", 4878)
    before = AuditEvent.objects.count()
    result = enter(world, world.jobs, "2026-H1", "4,878")
    assert result.outcome == "unchanged" and not result.changed
    assert IndicatorValue.objects.filter(indicator=world.jobs).count() == 1
    assert AuditEvent.objects.count() == before


def test_stale_expected_version_is_a_conflict(world: World) -> None:
    enter(world, world.jobs, "2026-H1", 4800, expected_version=0)
    with pytest.raises(Conflict) as exc:
        enter(world, world.jobs, "2026-H1", 4878, expected_version=0)
    assert "已被他人更新" in str(exc.value.message) and exc.value.status == 409
    assert enter(world, world.jobs, "2026-H1", 4878, expected_version=1).outcome == "corrected"


@pytest.mark.parametrize(
    ("indicator", "period", "value", "field", "fragment"),
    [
        ("jobs", "2026-H1", -1, "value", "不能为负数"),
        ("jobs", "2026-H1", "12.5", "value", "必须是整数"),
        ("jobs", "2026-H1", "abc", "value", "必须是数字"),
        ("jobs", "2026-H1", "", "value", "请填写数值"),
        ("jobs", "2026-H1", "1000000000000", "value", "过大"),
        ("rate", "2026-Q1", "100.5", "value", "0 到 100"),
        ("rate", "2026-Q1", "80.123", "value", "两位小数"),
        ("jobs", "2026-05", 10, "period", "统计周期(半年)不符"),
        ("pension", "2026-H1", 10, "period", "统计周期(月度)不符"),
        ("jobs", "2027-H1", 10, "period", "尚未开始"),
    ],
)
def test_bad_values_are_refused_in_chinese(
    world: World, indicator: str, period: str, value: object, field: str, fragment: str
) -> None:
    target = getattr(world, indicator)
    with pytest.raises(ValidationError) as exc:
        enter(world, target, period, value)
    assert field in exc.value.message_dict
    assert fragment in " ".join(exc.value.message_dict[field])
    assert not IndicatorValue.objects.exists()


def test_rates_accept_decimals_and_a_percent_sign(world: World) -> None:
    assert enter(world, world.rate, "2026-Q2", "79.85%").value.value == Decimal("79.85")


def test_only_the_owner_department_may_enter(world: World) -> None:
    with pytest.raises(PermissionDenied) as exc:
        services.indicator_value_enter(actor=world.health_handler, indicator=world.jobs, period="2026-H1", value=1)
    assert "玉泉区人力资源和社会保障局" in str(exc.value)
    for actor in (world.leader, world.sysadmin, world.street_admin):
        with pytest.raises(PermissionDenied):
            services.indicator_value_enter(actor=actor, indicator=world.jobs, period="2026-H1", value=1)
    # A handler without any department, and one of the right department but another territory.
    lone = make_user(Role.DEPARTMENT_HANDLER, world.district.district, username="lone")
    with pytest.raises(PermissionDenied):
        services.indicator_value_enter(actor=lone, indicator=world.jobs, period="2026-H1", value=1)
    street_member = make_user(Role.DEPARTMENT_HANDLER, world.district.streets[0], username="streetmember")
    street_member.departments.add(world.hr)
    with pytest.raises(PermissionDenied) as exc:
        services.indicator_value_enter(actor=street_member, indicator=world.jobs, period="2026-H1", value=1)
    assert "辖区" in str(exc.value)
    assert not IndicatorValue.objects.exists()


def test_inactive_indicator_takes_no_values(world: World) -> None:
    services.indicator_update(actor=world.sysadmin, indicator=world.jobs, data={"is_active": False})
    with pytest.raises(PermissionDenied) as exc:
        enter(world, world.jobs, "2026-H1", 1)
    assert "停用" in str(exc.value)


# --- managing the register ------------------------------------------------------------------------


def test_only_managers_create_and_update(world: World) -> None:
    for actor in (world.hr_handler, world.leader):
        with pytest.raises(PermissionDenied):
            services.indicator_create(
                actor=actor,
                code="x.y",
                name="X",
                department=world.hr,
                unit=Unit.PERSON,
                period_kind=PeriodKind.YEAR,
            )
        with pytest.raises(PermissionDenied):
            services.indicator_update(actor=actor, indicator=world.jobs, data={"name": "改名"})
        with pytest.raises(PermissionDenied):
            services.indicator_target_set(actor=actor, indicator=world.jobs, year=2026, target=1)


def test_create_validates_unit_aggregation_and_code(world: World) -> None:
    base = {"actor": world.sysadmin, "name": "X", "department": world.hr, "period_kind": PeriodKind.YEAR}
    with pytest.raises(ValidationError) as exc:
        services.indicator_create(code="a.rate", unit=Unit.PERCENT, aggregation=Aggregation.SUM, **base)  # type: ignore[arg-type]
    assert "比率" in " ".join(exc.value.message_dict["aggregation"])
    with pytest.raises(ValidationError) as exc:
        services.indicator_create(code="a.count", unit=Unit.PERSON, aggregation=Aggregation.RATE, **base)  # type: ignore[arg-type]
    assert "unit" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.indicator_create(code="有 空格", unit=Unit.PERSON, **base)  # type: ignore[arg-type]
    assert "code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.indicator_create(code=world.jobs.code, unit=Unit.PERSON, **base)  # type: ignore[arg-type]
    assert "code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.indicator_create(code="a.grid", unit=Unit.PERSON, area=world.district.grids[0], **base)  # type: ignore[arg-type]
    assert "区或街道" in " ".join(exc.value.message_dict["area"])
    with pytest.raises(ValidationError) as exc:
        services.indicator_create(code="a.t", unit=Unit.PERSON, targets={2026: -5}, **base)  # type: ignore[arg-type]
    assert "target" in exc.value.message_dict
    assert not Indicator.objects.filter(code__startswith="a.").exists()


def test_street_indicator_and_defaults(world: World) -> None:
    street = world.district.streets[0]
    ind = services.indicator_create(
        actor=world.sysadmin,
        code="street.jobs",
        name="兴隆巷新增就业",
        department=world.hr,
        unit=Unit.PERSON,
        period_kind=PeriodKind.QUARTER,
        area=street,
    )
    assert ind.area_code == street.code and world.jobs.area_code == "150104"
    event = AuditEvent.objects.filter(object_type="indicators.indicator", object_id=str(ind.pk)).get()
    assert event.action == "create" and event.changes["code"]["after"] == "street.jobs"


def test_update_is_audited_and_frozen_fields_stay_once_values_exist(world: World) -> None:
    services.indicator_update(actor=world.sysadmin, indicator=world.jobs, data={"name": "城镇新增就业人数"})
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.changes == {"name": {"before": "城镇新增就业", "after": "城镇新增就业人数"}}
    services.indicator_update(actor=world.sysadmin, indicator=world.jobs, data={"period_kind": PeriodKind.QUARTER})
    world.jobs.refresh_from_db()
    assert world.jobs.period_kind == PeriodKind.QUARTER
    enter(world, world.jobs, "2026-Q1", 100)
    with pytest.raises(Conflict) as exc:
        services.indicator_update(actor=world.sysadmin, indicator=world.jobs, data={"period_kind": PeriodKind.MONTH})
    assert "period_kind" in exc.value.fields
    with pytest.raises(ValidationError):
        services.indicator_update(actor=world.sysadmin, indicator=world.jobs, data={"code": "new"})


def test_targets_are_set_once_per_year_and_audited(world: World) -> None:
    services.indicator_target_set(actor=world.sysadmin, indicator=world.jobs, year=2027, target="9000")
    services.indicator_target_set(actor=world.sysadmin, indicator=world.jobs, year=2027, target="9500")
    assert IndicatorTarget.objects.get(indicator=world.jobs, year=2027).target == Decimal(9500)
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.changes["target"] == {"before": "9000.00", "after": "9500.00"}
    with pytest.raises(ValidationError):
        services.indicator_target_set(actor=world.sysadmin, indicator=world.rate, year=2027, target=120)
    with pytest.raises(ValidationError):
        services.indicator_target_set(actor=world.sysadmin, indicator=world.jobs, year=1990, target=1)
