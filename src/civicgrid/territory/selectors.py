"""Territory reads. Every query goes through accounts.scope.scope_queryset (field "code"
for Area, "area_code" for the rest), so nothing outside the user's territory is ever
returned; a node outside it is reported as not found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.accounts.scope import code_range_q, code_within, scope_queryset, user_scope_code
from civicgrid.common.errors import NotFound
from civicgrid.territory import locate as locate_module
from civicgrid.territory.enums import LEVEL_CODE_LENGTHS, LEVEL_ORDER, AreaLevel
from civicgrid.territory.models import Area, Building, Compound, Household, RoadSegment

CHIEF_ROLES = (Role.GRID_CHIEF, Role.AREA_CHIEF)
PAGE_SIZE = 50


class CommandLineUser:
    """The actor of management commands: an installation-wide account for scope purposes."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True
    area_id = None
    area = None
    username = "civicgrid-cli"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


COMMAND_LINE_USER = CommandLineUser()


def visible_areas(user: Any) -> QuerySet[Area]:
    return scope_queryset(user, Area.objects.all(), "code")


def area_get(user: Any, code: str) -> Area:
    area = visible_areas(user).select_related("parent").filter(code=code).first()
    if area is None:
        raise NotFound(_("辖区节点不存在或不在您的辖区范围内"))
    return area


def area_list(user: Any, *, level: str | None = None, parent: str | None = None) -> QuerySet[Area]:
    qs = visible_areas(user).select_related("parent").order_by("code")
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent__code=parent)
    return qs


def area_url(area: Area | dict[str, Any]) -> str:
    code, level = (area["code"], area["level"]) if isinstance(area, dict) else (area.code, area.level)
    if level == AreaLevel.GRID:
        return reverse("territory:grid", args=[code])
    return reverse("territory:area", args=[code])


def ancestor_codes(code: str) -> list[str]:
    """The codes above ``code`` in the tree, top first (derived from the code lengths)."""
    result = []
    for level in LEVEL_ORDER:
        for length in LEVEL_CODE_LENGTHS[level]:
            if length < len(code) and level != AreaLevel.GRID:
                result.append(code[:length])
    return result


def area_ancestors(user: Any, area: Area) -> list[Area]:
    """Ancestors the user may see (their own node and below), top first: for breadcrumbs."""
    return list(visible_areas(user).filter(code__in=ancestor_codes(area.code)).order_by("code"))


# --- tree -------------------------------------------------------------------------------------
@dataclass
class TreeNode:
    id: int
    code: str
    name: str
    level: str
    population: int
    child_count: int = 0
    children: list[TreeNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        return area_url({"code": self.code, "level": self.level})

    @property
    def lazy(self) -> bool:
        """Children exist but were not loaded (fetched on demand)."""
        return self.child_count > 0 and not self.children


def user_roots(user: Any) -> list[Area]:
    code = user_scope_code(user)
    if code is None:
        return []
    if code == "":
        return list(Area.objects.filter(parent__isnull=True).order_by("code"))
    return list(visible_areas(user).filter(code=code))


def area_tree(user: Any, *, down_to: str = AreaLevel.COMMUNITY) -> list[TreeNode]:
    """The user's tree down to ``down_to`` (grids below it are loaded lazily), in 2 queries."""
    levels = [str(lv) for lv in LEVEL_ORDER[: [str(x) for x in LEVEL_ORDER].index(down_to) + 1]]
    scope = user_scope_code(user)
    if scope is None:
        return []
    rows = list(
        visible_areas(user)
        # A user bound below ``down_to`` (a grid chief) still sees their own node.
        .filter(Q(level__in=levels) | Q(code=scope))
        .values_list("id", "code", "name", "level", "population", "parent_id")
        .order_by("code")
    )
    counts = dict(
        visible_areas(user)
        .filter(parent_id__in=[r[0] for r in rows])
        .values_list("parent_id")
        .annotate(n=Count("id"))
        .values_list("parent_id", "n")
    )
    nodes = {r[0]: TreeNode(r[0], r[1], r[2], r[3], r[4], counts.get(r[0], 0)) for r in rows}
    roots = []
    for pk, _code, _name, _level, _pop, parent_id in rows:
        node = nodes[pk]
        if parent_id in nodes:
            nodes[parent_id].children.append(node)
        else:
            roots.append(node)
    return roots


def area_children(user: Any, code: str) -> tuple[Area, list[TreeNode]]:
    parent = area_get(user, code)
    rows = list(
        visible_areas(user)
        .filter(parent=parent)
        .annotate(n=Count("children"))
        .values_list("id", "code", "name", "level", "population", "n")
        .order_by("code")
    )
    return parent, [TreeNode(*row) for row in rows]


# --- detail pages ------------------------------------------------------------------------------
@dataclass
class AreaDetail:
    area: Area
    ancestors: list[Area]
    children: Page[Any]
    child_level: str | None
    totals: dict[str, int]


def area_detail(user: Any, code: str, *, page: Any = 1) -> AreaDetail:
    area = area_get(user, code)
    children = visible_areas(user).filter(parent=area).annotate(child_count=Count("children")).order_by("code")
    descendants = visible_areas(user).filter(code_range_q("code", area.code))
    grid_count = descendants.filter(level=AreaLevel.GRID).count()
    totals = {
        "grids": grid_count,
        "compounds": scope_queryset(user, Compound.objects.all()).filter(code_range_q("area_code", area.code)).count(),
        "buildings": scope_queryset(user, Building.objects.all()).filter(code_range_q("area_code", area.code)).count(),
    }
    position = [str(lv) for lv in LEVEL_ORDER].index(area.level)
    child_level = str(LEVEL_ORDER[position + 1]) if position + 1 < len(LEVEL_ORDER) else None
    return AreaDetail(
        area=area,
        ancestors=area_ancestors(user, area),
        children=Paginator(children, PAGE_SIZE).get_page(page),
        child_level=child_level,
        totals=totals,
    )


@dataclass
class GridDetail:
    grid: Area
    ancestors: list[Area]
    chiefs: list[User]
    compounds: Page[Any]
    compound_count: int
    building_count: int
    household_records: int
    roads: list[RoadSegment]


def grid_detail(user: Any, code: str, *, page: Any = 1) -> GridDetail:
    grid = area_get(user, code)
    if grid.level != AreaLevel.GRID:
        raise NotFound(_("网格不存在或不在您的辖区范围内"))
    # The grid is already in the viewer's scope; its chiefs are named to whoever sees it,
    # even when a chief's own scope is the wider community.
    chiefs = list(
        User.objects.filter(Q(area=grid) | Q(responsibilities__area=grid), role__in=CHIEF_ROLES, is_active=True)
        .distinct()
        .order_by("role", "username")
    )
    compounds = (
        scope_queryset(user, Compound.objects.all())
        .filter(grid=grid)
        .annotate(building_count=Count("buildings", distinct=True))
        .order_by("code")
    )
    compound_page = Paginator(compounds, PAGE_SIZE).get_page(page)
    return GridDetail(
        grid=grid,
        ancestors=area_ancestors(user, grid),
        chiefs=chiefs,
        compounds=compound_page,
        compound_count=compound_page.paginator.count,
        building_count=scope_queryset(user, Building.objects.all()).filter(grid=grid).count(),
        household_records=scope_queryset(user, Household.objects.all()).filter(building__grid=grid).count(),
        roads=list(scope_queryset(user, RoadSegment.objects.all()).filter(grids=grid).order_by("code")[:PAGE_SIZE]),
    )


# --- GeoJSON ------------------------------------------------------------------------------------
def _feature(row: dict[str, Any], *, with_url: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        **(row.get("properties") or {}),
        "code": row["code"],
        "name": row["name"],
        "level": row["level"],
        "parent_code": row["parent__code"],
        "population": row["population"],
        "households": row["households"],
        "area_km2": float(row["area_km2"]) if row["area_km2"] is not None else None,
    }
    if row.get("street_kind"):
        props["street_kind"] = row["street_kind"]
    if with_url:
        props["url"] = area_url(row)
    return {"type": "Feature", "id": row["code"], "properties": props, "geometry": row["geometry"]}


_FEATURE_FIELDS = (
    "code",
    "name",
    "level",
    "parent__code",
    "population",
    "households",
    "area_km2",
    "street_kind",
    "geometry",
    "properties",
)


def map_feature_collection(user: Any, code: str, *, level: str | None = None) -> dict[str, Any]:
    """What a map of node ``code`` draws: its children (or its descendants at ``level``;
    a grid draws itself), each with a ``url`` to its page. One feature per polygon."""
    node = area_get(user, code)
    if level:
        if level not in AreaLevel.values:
            raise NotFound(_("未知层级"))
        qs = visible_areas(user).filter(code_range_q("code", node.code), level=level)
    elif node.level == AreaLevel.GRID:
        qs = visible_areas(user).filter(pk=node.pk)
    else:
        qs = visible_areas(user).filter(parent=node)
    rows = qs.filter(geometry__isnull=False).order_by("code").values(*_FEATURE_FIELDS)
    return {
        "type": "FeatureCollection",
        "properties": {"code": node.code, "name": node.name, "level": node.level},
        "features": [_feature(row, with_url=True) for row in rows],
    }


def area_feature_collection(
    user: Any, *, level: str | None = None, under: str | None = None, roads: bool = False
) -> dict[str, Any]:
    """Export: areas (and optionally road segments) in the import format."""
    qs = visible_areas(user)
    if level:
        qs = qs.filter(level=level)
    if under:
        qs = qs.filter(code_range_q("code", under))
    features = [_feature(row, with_url=False) for row in qs.order_by("code").values(*_FEATURE_FIELDS)]
    if roads:
        road_qs = scope_queryset(user, RoadSegment.objects.all())
        if under:
            road_qs = road_qs.filter(code_range_q("area_code", under))
        for code, name, street_code, geometry, length in road_qs.order_by("code").values_list(
            "code", "name", "area_code", "geometry", "length_m"
        ):
            features.append(
                {
                    "type": "Feature",
                    "id": code,
                    "properties": {
                        "kind": "road",
                        "code": code,
                        "name": name,
                        "street_code": street_code,
                        "length_m": length,
                    },
                    "geometry": geometry,
                }
            )
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }


# --- locate, scoped --------------------------------------------------------------------------------
def _in_scope(scope: str | None, result: locate_module.LocateResult) -> locate_module.LocateResult:
    if not result.inside or result.grid is None:
        return result
    if scope is not None and code_within(result.grid.code, scope):
        return result
    return locate_module.RESULT_OUT_OF_SCOPE


def locate_for_user(user: Any, lon: Any, lat: Any) -> locate_module.LocateResult:
    """locate(), with grids outside the user's territory reported as out of scope."""
    return _in_scope(user_scope_code(user), locate_module.locate(lon, lat))


def locate_many_for_user(
    user: Any, lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray
) -> list[locate_module.LocateResult]:
    scope = user_scope_code(user)
    batch = locate_module.locate_many(lons, lats)
    return [_in_scope(scope, r) for r in batch.results()]


@dataclass
class ScopeOverview:
    """What the user's territory holds, for their home page: nodes by level and the
    population and households of their root node(s)."""

    roots: list[Area]
    counts_by_level: dict[str, int]
    population: int
    households: int


def scope_overview(user: Any) -> ScopeOverview:
    roots = user_roots(user)
    counts = dict(visible_areas(user).values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    return ScopeOverview(
        roots=roots,
        counts_by_level={str(level): int(counts.get(str(level), 0)) for level in LEVEL_ORDER},
        population=sum(r.population for r in roots),
        households=sum(r.households for r in roots),
    )
