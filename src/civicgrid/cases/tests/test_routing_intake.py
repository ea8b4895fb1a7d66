"""Intake: validation, idempotency, routing (rule > department > grid chief > manual queue,
with the reason recorded), caller history by the phone's blind index, duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.accounts.enums import DepartmentKind
from civicgrid.accounts.models import Department
from civicgrid.audit.models import AuditEvent
from civicgrid.cases import services
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.enums import Channel, TargetKind, Tier
from civicgrid.cases.models import Case, CaseEvent, Category, RoutingRule
from civicgrid.cases.selectors import case_find_by_caller_phone, case_possible_duplicates
from civicgrid.cases.tests.conftest import World

pytestmark = pytest.mark.django_db


def _routing(case: Case) -> dict[str, Any]:
    event = case.events.filter(data__has_key="routing").order_by("-id").first()
    assert event is not None
    return dict(event.data["routing"])


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lon": 200.0}, "lon"),
        ({"lat": -91.0}, "lat"),
        ({"lon": float("nan")}, "lon"),
        ({"lon": "abc"}, "lon"),
        ({"lat": None}, "lon"),
        ({"category": "NOPE"}, "category"),
        ({"category": ""}, "category"),
        ({"title": ""}, "title"),
        ({"title": "长" * 101}, "title"),
        ({"description": "字" * 2001}, "description"),
        ({"address": "址" * 201}, "address"),
        ({"reporter_phone": "call me maybe"}, "reporter_phone"),
        ({"priority": "whenever"}, "priority"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(world: World, data: dict[str, Any], field: str) -> None:
    cases, events, audits = Case.objects.count(), CaseEvent.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as info:
        world.intake(**data)
    assert field in info.value.message_dict
    assert all(info.value.message_dict[field])
    assert (Case.objects.count(), CaseEvent.objects.count(), AuditEvent.objects.count()) == (cases, events, audits)


def test_inactive_category_is_refused(world: World) -> None:
    Category.objects.filter(code="MD01").update(is_active=False)
    with pytest.raises(ValidationError) as info:
        world.intake()
    assert "停用" in info.value.message_dict["category"][0]


def test_staff_channels_need_a_staff_account(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.case_intake(
            actor=None, channel=Channel.HOTLINE, data={"title": "t", "description": "d", "category": "MD01"}
        )
    with pytest.raises(PermissionDenied):
        world.intake(actor=world.officer)  # a department handler does not take calls
    with pytest.raises(PermissionDenied):
        world.intake(actor=world.leader)


def test_public_channels_wait_for_registration(world: World) -> None:
    case = services.case_intake(
        actor=None,
        channel=Channel.RESIDENT_WEB,
        data={"title": "垃圾没人清", "description": "楼下垃圾堆了三天", "category": "SJ0101"},
    )
    assert case.status == S.RECEIVED and case.created_by is None
    assert case.area_code == world.d.district.code and case.grid is None
    assert case.tracking_code and len(case.tracking_code) == 10


def test_the_reporter_phone_is_protected(world: World) -> None:
    case = world.intake(reporter_phone="138-0013-8000")
    assert "13800138000" not in case.reporter_phone_cipher
    assert case.reporter_phone_masked.startswith("138") and "*" in case.reporter_phone_masked
    assert case.reporter_phone_digest
    trail = AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).values_list(
        "changes", flat=True
    )
    assert all("13800138000" not in str(changes) for changes in trail)


# --- idempotency ------------------------------------------------------------------------------


def test_idempotency_key_returns_the_first_case(world: World) -> None:
    first = world.intake(idempotency_key="call-42")
    again = world.intake(idempotency_key="call-42", title="另一个标题")
    assert again.pk == first.pk and again.title == first.title
    assert Case.objects.count() == 1
    other_user = world.intake(actor=world.worker, idempotency_key="call-42")  # keys are per caller
    assert other_user.pk != first.pk
    with pytest.raises(ValidationError):
        world.intake(idempotency_key="k" * 65)


# --- routing ---------------------------------------------------------------------------------


def test_grid_chief_when_nothing_else_applies(world: World) -> None:
    case = world.intake()
    assert case.status == S.DISPATCHED and case.current_handler == world.chief
    assert case.current_tier == Tier.GRID and not case.in_manual_queue
    routing = _routing(case)
    assert routing["kind"] == TargetKind.GRID_CHIEF
    assert world.d.grids[0].name in routing["reason"] and str(world.chief) in routing["reason"]
    assert case.events.get(action="dispatch").note == routing["reason"]


def test_manual_queue_when_the_grid_has_no_chief(world: World) -> None:
    case = world.intake(grid=world.d.grids[1])
    assert case.status == S.REGISTERED and case.in_manual_queue
    assert case.current_handler is None and case.current_department is None
    assert "未设网格长" in _routing(case)["reason"]
    assert services.case_owner_ok(case)


def test_manual_queue_when_the_location_is_unknown(world: World) -> None:
    case = world.intake(lon=None, lat=None)
    assert case.in_manual_queue and case.area_code == world.d.district.code
    assert "位置不明" in _routing(case)["reason"]
    outside = world.intake(lon=100.0, lat=30.0)
    assert outside.in_manual_queue and outside.grid is None


def test_category_default_department_beats_the_grid_chief(world: World) -> None:
    # 治安隐患 goes to the nearest police station.
    case = world.intake(category="ZA01")
    assert case.current_department == world.police and case.current_handler is None
    assert case.current_tier == Tier.STREET
    assert "兴隆巷派出所" in _routing(case)["reason"]
    # In the other street there is no police station: the grid has no chief either -> queue.
    far = world.intake(category="ZA01", grid=world.d.grids[4])
    assert far.in_manual_queue


def test_a_named_department_on_the_category(world: World) -> None:
    legal = Department.objects.create(
        code="legal0", name="清泉街社区法务室", kind=DepartmentKind.LEGAL, area=world.d.communities[0]
    )
    Category.objects.filter(code="MD02").update(handling=TargetKind.DEPARTMENT, department=legal)
    case = world.intake(category="MD02")
    assert case.current_department == legal and case.current_tier == Tier.COMMUNITY


def test_routing_rule_beats_the_category_default(world: World) -> None:
    rule = RoutingRule.objects.create(
        name="兴隆巷治安隐患先到社区",
        category=Category.objects.get(code="ZA"),  # the parent covers its children
        area_prefix=world.d.streets[0].code,
        target=TargetKind.TIER,
        tier=Tier.COMMUNITY,
    )
    case = world.intake(category="ZA01")
    assert case.current_unit == world.d.communities[0] and case.current_tier == Tier.COMMUNITY
    routing = _routing(case)
    assert routing["rule_id"] == rule.pk and f"#{rule.pk}" in routing["reason"]
    # Outside the rule's territory the category default applies again.
    other = world.intake(category="ZA01", grid=world.d.grids[4])
    assert other.current_unit is None


def test_rules_that_yield_nobody_fall_through_in_order(world: World) -> None:
    RoutingRule.objects.create(name="先试部门类型", order=1, target=TargetKind.DEPARTMENT_KIND, department_kind="fire")
    RoutingRule.objects.create(name="再派网格长", order=2, target=TargetKind.GRID_CHIEF)
    inactive = RoutingRule.objects.create(name="停用", order=0, target=TargetKind.MANUAL, is_active=False)
    case = world.intake(category="ZA01")
    routing = _routing(case)
    assert case.current_handler == world.chief and routing["rule_id"] != inactive.pk
    assert "再派网格长" in routing["reason"]


def test_a_manual_rule_sends_to_the_queue(world: World) -> None:
    rule = RoutingRule.objects.create(name="全部人工", target=TargetKind.MANUAL)
    case = world.intake()
    assert case.in_manual_queue and _routing(case)["rule_id"] == rule.pk


def test_manual_dispatch_from_the_queue(world: World) -> None:
    case = world.intake(grid=world.d.grids[1])
    with pytest.raises(ValidationError):  # exactly one target
        services.case_dispatch(actor=world.operator, case=case, expected_version=case.version)
    with pytest.raises(ValidationError):  # the chief of grid 0 has no scope over grid 1
        services.case_dispatch(actor=world.operator, case=case, expected_version=case.version, handler=world.chief)
    case = services.case_dispatch(
        actor=world.operator, case=case, expected_version=case.version, unit=world.d.communities[0].pk
    )
    assert case.status == S.DISPATCHED and case.current_unit == world.d.communities[0]
    assert not case.in_manual_queue
    assert "指挥中心" not in case.events.get(action="dispatch").note
    case = services.case_dispatch(
        actor=world.operator, case=case, expected_version=case.version, department=world.police
    )
    assert case.current_department == world.police and case.current_unit is None


# --- caller history and duplicates --------------------------------------------------------------


def test_caller_history_by_blind_index(world: World) -> None:
    first = world.intake(reporter_phone="13900001111")
    second = world.intake(reporter_phone="+86 139-0000-1111", title="又打来了")
    world.intake(reporter_phone="13700002222")
    found = case_find_by_caller_phone(world.operator, "139 0000 1111")
    assert [c.pk for c in found] == [second.pk, first.pk]
    assert case_find_by_caller_phone(world.operator, "") == []
    # Scope applies: the other community's worker does not see these.
    assert case_find_by_caller_phone(world.other_worker, "13900001111") == []


def test_possible_duplicates_are_similar_nearby_and_open(world: World) -> None:
    lon, lat = world.point()
    original = world.intake(title="3号楼门口路灯不亮", description="路灯坏了好几天")
    world.intake(title="邻居装修噪音", description="每天早上七点开始装修")  # different text
    far = world.intake(grid=world.d.grids[3], title="3号楼门口路灯不亮", description="路灯坏了")
    other_category = world.intake(category="MD02", title="3号楼门口路灯不亮", description="路灯坏了")
    found = case_possible_duplicates(
        world.operator,
        category=original.category,
        lon=lon + 0.0003,
        lat=lat,
        text="3号楼门口的路灯不亮了",
    )
    ids = [d.case.pk for d in found]
    assert ids == [original.pk]
    assert found[0].distance_m is not None and found[0].distance_m < 50
    assert far.pk not in ids and other_category.pk not in ids
    # A closed case is no longer a candidate.
    Case.objects.filter(pk=original.pk).update(status=S.CLOSED)
    assert case_possible_duplicates(world.operator, category=original.category, lon=lon, lat=lat, text="路灯不亮") == []
