"""Automatic routing: rule > category default > grid chief > manual-dispatch queue.

``route_case(case)`` never fails and never returns "nowhere": it returns a RouteDecision
whose ``reason`` (Chinese, for the timeline) says why the target was chosen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from civicgrid.accounts.models import Department, User
from civicgrid.cases.enums import TIER_CODE_LENGTH, TIER_ORDER, TargetKind, Tier
from civicgrid.cases.models import Case, Category, RoutingRule
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Duty

LEVEL_TIER: dict[str, str] = {
    AreaLevel.GRID: Tier.GRID,
    AreaLevel.COMMUNITY: Tier.COMMUNITY,
    AreaLevel.STREET: Tier.STREET,
    AreaLevel.DISTRICT: Tier.DISTRICT,
}


@dataclass
class RouteDecision:
    kind: str  # TargetKind.GRID_CHIEF / DEPARTMENT / TIER / MANUAL
    reason: str
    handler: User | None = None
    department: Department | None = None
    unit: Area | None = None
    tier: str = Tier.GRID
    rule_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_manual(self) -> bool:
        return self.kind == TargetKind.MANUAL

    def as_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "handler_id": self.handler.pk if self.handler else None,
            "department_id": self.department.pk if self.department else None,
            "unit_code": self.unit.code if self.unit else None,
            "tier": self.tier,
            "rule_id": self.rule_id,
        }


def department_tier(department: Department) -> str:
    return LEVEL_TIER.get(department.area.level, Tier.DISTRICT)


def grid_chief_of(grid_id: int | None) -> User | None:
    """The grid's chief (Responsibility duty grid_chief), active accounts only; the earliest
    assignment wins when there are several. One query (uniq_area_responsibility's index)."""
    if not grid_id:
        return None
    chiefs = User.objects.filter(
        responsibilities__area_id=grid_id, responsibilities__duty=Duty.GRID_CHIEF, is_active=True
    ).order_by("responsibilities__id")[:1]
    return next(iter(chiefs), None)


def nearest_department(kind: str, area_code: str) -> Department | None:
    """The active department of ``kind`` serving the smallest territory that holds ``area_code``."""
    best: Department | None = None
    for dept in Department.objects.filter(kind=kind, is_active=True).select_related("area"):
        code = dept.area.code
        if area_code.startswith(code) and (best is None or len(code) > len(best.area.code)):
            best = dept
    return best


def tier_unit(area_code: str, tier: str) -> Area | None:
    """The territory node of ``tier`` that holds ``area_code`` (None for the grid tier or when
    the code is too short)."""
    length = TIER_CODE_LENGTH.get(tier)
    if length is None or len(area_code) < length:
        return None
    return Area.objects.filter(code=area_code[:length]).first()


def next_tier(tier: str) -> str | None:
    i = TIER_ORDER.index(tier) if tier in TIER_ORDER else 0
    return TIER_ORDER[i + 1] if i + 1 < len(TIER_ORDER) else None


def _grid_label(case: Case) -> str:
    return case.grid.name if case.grid_id and case.grid else case.area_code


def _resolve(
    case: Case, target: str, *, department: Department | None, kind: str, tier: str, origin: str
) -> RouteDecision | None:
    """Turn a target description into a decision, or None when it yields nobody."""
    if target == TargetKind.GRID_CHIEF:
        chief = grid_chief_of(case.grid_id)
        if chief is None:
            return None
        return RouteDecision(
            TargetKind.GRID_CHIEF,
            _("%(origin)s派往%(grid)s网格长%(user)s") % {"origin": origin, "grid": _grid_label(case), "user": chief},
            handler=chief,
            tier=Tier.GRID,
        )
    if target == TargetKind.DEPARTMENT:
        if department is None or not department.is_active:
            return None
        return RouteDecision(
            TargetKind.DEPARTMENT,
            _("%(origin)s派往%(dept)s") % {"origin": origin, "dept": department.name},
            department=department,
            tier=department_tier(department),
        )
    if target == TargetKind.DEPARTMENT_KIND:
        found = nearest_department(kind, case.area_code) if kind else None
        if found is None:
            return None
        return RouteDecision(
            TargetKind.DEPARTMENT,
            _("%(origin)s派往就近的%(dept)s") % {"origin": origin, "dept": found.name},
            department=found,
            tier=department_tier(found),
        )
    if target == TargetKind.TIER:
        if tier == Tier.GRID:
            return _resolve(case, TargetKind.GRID_CHIEF, department=None, kind="", tier=tier, origin=origin)
        unit = tier_unit(case.area_code, tier)
        if unit is None:
            return None
        return RouteDecision(
            TargetKind.TIER,
            _("%(origin)s派往%(unit)s") % {"origin": origin, "unit": unit.name},
            unit=unit,
            tier=tier,
        )
    if target == TargetKind.MANUAL:
        return RouteDecision(
            TargetKind.MANUAL, _("%(origin)s转指挥中心人工派遣") % {"origin": origin}, tier=Tier.DISTRICT
        )
    return None


def matching_rules(case: Case) -> list[RoutingRule]:
    """The active rules that apply to the case, best first. The routing table is small and
    is matched here, in Python; the departments of the matching rules (with their areas, for
    the tier) are loaded in a second query only when a matching rule names one."""
    category: Category = case.category
    category_ids = [category.pk] + ([category.parent_id] if category.parent_id else [])
    rules = [
        r
        for r in RoutingRule.objects.filter(is_active=True).order_by()
        if (r.category_id is None or r.category_id in category_ids) and case.area_code.startswith(r.area_prefix)
    ]
    # By order, then the more specific territory, then the more specific category.
    rules.sort(key=lambda r: (r.order, -len(r.area_prefix), 0 if r.category_id == category.pk else 1, r.pk))
    department_ids = {r.department_id for r in rules if r.department_id}
    if department_ids:
        departments = Department.objects.select_related("area").in_bulk(department_ids)
        for rule in rules:
            if rule.department_id:
                rule.department = departments.get(rule.department_id)
    return rules


def route_case(case: Case) -> RouteDecision:
    """Decide where a registered case goes. Never returns "nowhere"."""
    for rule in matching_rules(case):
        origin = _("按派遣规则#%(id)s“%(name)s”") % {"id": rule.pk, "name": rule.name}
        decision = _resolve(
            case,
            rule.target,
            department=rule.department,
            kind=rule.department_kind,
            tier=rule.tier or Tier.GRID,
            origin=origin,
        )
        if decision is not None:
            decision.rule_id = rule.pk
            return decision
    category = case.category
    origin = _("按类别“%(cat)s”的默认处置单位") % {"cat": category.name}
    if category.handling in (TargetKind.DEPARTMENT, TargetKind.DEPARTMENT_KIND, TargetKind.MANUAL):
        decision = _resolve(
            case,
            category.handling,
            department=category.department,
            kind=category.department_kind,
            tier=Tier.GRID,
            origin=origin,
        )
        if decision is not None:
            return decision
    decision = _resolve(case, TargetKind.GRID_CHIEF, department=None, kind="", tier=Tier.GRID, origin=_("按所在网格"))
    if decision is not None:
        return decision
    why = _("位置不明或不在辖区范围内") if not case.grid_id else _("%(grid)s未设网格长") % {"grid": _grid_label(case)}
    return RouteDecision(
        TargetKind.MANUAL, _("%(why)s, 且无适用的派遣规则, 转指挥中心人工派遣") % {"why": why}, tier=Tier.DISTRICT
    )
