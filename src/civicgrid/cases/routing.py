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
from civicgrid.territory.models import Area, Duty, Responsibility

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


class RoutingLookups:
    """The reads routing needs, shared by the cases of one intake batch
    (``services.case_intake_batch``): the active rules (one query, their departments in a
    second), the chiefs of the batch's grids (one query), nearest departments and tier units
    (memoised). ``route_case(case, lookups)`` then decides exactly as it does alone."""

    def __init__(self, grid_ids: Any = ()) -> None:
        self.rules = list(RoutingRule.objects.filter(is_active=True).order_by())
        department_ids = {r.department_id for r in self.rules if r.department_id}
        if department_ids:
            departments = Department.objects.select_related("area").in_bulk(department_ids)
            for rule in self.rules:
                if rule.department_id:
                    rule.department = departments.get(rule.department_id)
        self.chiefs: dict[int, User | None] = {}
        ids = sorted({int(g) for g in grid_ids if g})
        if ids:
            found: dict[int, User] = {}
            for row in (
                Responsibility.objects.filter(area_id__in=ids, duty=Duty.GRID_CHIEF, user__is_active=True)
                .select_related("user")
                .order_by("id")
            ):
                if row.area_id is not None:
                    found.setdefault(row.area_id, row.user)  # the earliest assignment wins
            self.chiefs = {grid_id: found.get(grid_id) for grid_id in ids}
        self._of_kind: dict[str, list[Department]] = {}
        self._units: dict[tuple[str, str], Area | None] = {}

    def grid_chief(self, grid_id: int | None) -> User | None:
        if not grid_id:
            return None
        if grid_id not in self.chiefs:
            self.chiefs[grid_id] = grid_chief_of(grid_id)
        return self.chiefs[grid_id]

    def nearest_department(self, kind: str, area_code: str) -> Department | None:
        if kind not in self._of_kind:
            self._of_kind[kind] = list(Department.objects.filter(kind=kind, is_active=True).select_related("area"))
        return _nearest(self._of_kind[kind], area_code)

    def tier_unit(self, area_code: str, tier: str) -> Area | None:
        key = (area_code, tier)
        if key not in self._units:
            self._units[key] = tier_unit(area_code, tier)
        return self._units[key]


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
    return _nearest(Department.objects.filter(kind=kind, is_active=True).select_related("area"), area_code)


def _nearest(departments: Any, area_code: str) -> Department | None:
    best: Department | None = None
    for dept in departments:
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
    case: Case,
    target: str,
    *,
    department: Department | None,
    kind: str,
    tier: str,
    origin: str,
    lookups: RoutingLookups | None = None,
) -> RouteDecision | None:
    """Turn a target description into a decision, or None when it yields nobody."""
    if target == TargetKind.GRID_CHIEF:
        chief = lookups.grid_chief(case.grid_id) if lookups else grid_chief_of(case.grid_id)
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
        if not kind:
            found = None
        else:
            found = (
                lookups.nearest_department(kind, case.area_code)
                if lookups
                else nearest_department(kind, case.area_code)
            )
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
            return _resolve(
                case, TargetKind.GRID_CHIEF, department=None, kind="", tier=tier, origin=origin, lookups=lookups
            )
        unit = lookups.tier_unit(case.area_code, tier) if lookups else tier_unit(case.area_code, tier)
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


def matching_rules(case: Case, lookups: RoutingLookups | None = None) -> list[RoutingRule]:
    """The active rules that apply to the case, best first. The routing table is small and
    is matched here, in Python; the departments of the matching rules (with their areas, for
    the tier) are loaded in a second query only when a matching rule names one."""
    category: Category = case.category
    category_ids = [category.pk] + ([category.parent_id] if category.parent_id else [])
    candidates = lookups.rules if lookups is not None else RoutingRule.objects.filter(is_active=True).order_by()
    rules = [
        r
        for r in candidates
        if (r.category_id is None or r.category_id in category_ids) and case.area_code.startswith(r.area_prefix)
    ]
    # By order, then the more specific territory, then the more specific category.
    rules.sort(key=lambda r: (r.order, -len(r.area_prefix), 0 if r.category_id == category.pk else 1, r.pk))
    if lookups is not None:
        return rules  # their departments are loaded already
    department_ids = {r.department_id for r in rules if r.department_id}
    if department_ids:
        departments = Department.objects.select_related("area").in_bulk(department_ids)
        for rule in rules:
            if rule.department_id:
                rule.department = departments.get(rule.department_id)
    return rules


def route_case(case: Case, lookups: RoutingLookups | None = None) -> RouteDecision:
    """Decide where a registered case goes. Never returns "nowhere". ``lookups`` (a batch's
    shared reads) changes how the data is read, never the decision."""
    for rule in matching_rules(case, lookups):
        origin = _("按派遣规则#%(id)s“%(name)s”") % {"id": rule.pk, "name": rule.name}
        decision = _resolve(
            case,
            rule.target,
            department=rule.department,
            kind=rule.department_kind,
            tier=rule.tier or Tier.GRID,
            origin=origin,
            lookups=lookups,
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
            lookups=lookups,
        )
        if decision is not None:
            return decision
    decision = _resolve(
        case, TargetKind.GRID_CHIEF, department=None, kind="", tier=Tier.GRID, origin=_("按所在网格"), lookups=lookups
    )
    if decision is not None:
        return decision
    why = _("位置不明或不在辖区范围内") if not case.grid_id else _("%(grid)s未设网格长") % {"grid": _grid_label(case)}
    return RouteDecision(
        TargetKind.MANUAL, _("%(why)s, 且无适用的派遣规则, 转指挥中心人工派遣") % {"why": why}, tier=Tier.DISTRICT
    )
