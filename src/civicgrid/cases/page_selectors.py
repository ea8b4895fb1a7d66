"""Reads the case pages need beyond civicgrid.cases.selectors: address search for the
console, points for the open-cases map, a case's photos. All scoped (scope_queryset or
selectors.visible_cases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from civicgrid.accounts.models import Department
from civicgrid.accounts.scope import scope_queryset, user_scope_code
from civicgrid.cases import selectors
from civicgrid.cases.enums import OPEN_STATUSES
from civicgrid.cases.models import Case, CasePhoto, Category, ResponseTemplate
from civicgrid.territory.geo import to_shape
from civicgrid.territory.models import Area, Building, Compound, RoadSegment

PLACE_LIMIT = 20
MAP_POINT_LIMIT = 5000


@dataclass(frozen=True)
class Place:
    kind: str  # compound / building / road
    name: str
    detail: str
    lon: float
    lat: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "detail": self.detail, "lon": self.lon, "lat": self.lat}


def representative_point(geometry: Any) -> tuple[float, float] | None:
    """A point for a GeoJSON geometry: the point itself, a polygon's centroid (or a point
    inside it when the centroid falls outside), a line's midpoint."""
    if not geometry or not isinstance(geometry, dict) or not geometry.get("type"):
        return None
    try:
        shape = to_shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if shape.is_empty:
        return None
    kind = shape.geom_type
    if kind == "Point":
        point = shape
    elif kind in ("LineString", "MultiLineString"):
        point = shape.interpolate(0.5, normalized=True)
    else:
        point = shape.centroid
        if not shape.contains(point):
            point = shape.representative_point()
    return round(float(point.x), 6), round(float(point.y), 6)


def place_search(user: Any, query: str, *, limit: int = PLACE_LIMIT) -> list[Place]:
    """Compounds, buildings and road segments whose name contains ``query``, in the user's
    scope, with a point each (three small queries)."""
    q = (query or "").strip()
    if len(q) < 1:
        return []
    found: list[Place] = []
    compounds = scope_queryset(user, Compound.objects.filter(name__icontains=q)).select_related("grid")
    for compound in compounds.order_by("name", "code")[:limit]:
        point = representative_point(compound.geometry) or representative_point(compound.grid.geometry)
        if point:
            found.append(Place("compound", compound.name, compound.address or compound.grid.name, *point))
    buildings = scope_queryset(
        user, Building.objects.filter(compound__name__icontains=q) | Building.objects.filter(name__icontains=q)
    ).select_related("compound", "grid")
    for building in buildings.order_by("code")[:limit]:
        point = (
            representative_point(building.geometry)
            or representative_point(building.compound.geometry)
            or representative_point(building.grid.geometry)
        )
        if point:
            found.append(Place("building", f"{building.compound.name} {building.name}", building.grid.name, *point))
    roads = scope_queryset(user, RoadSegment.objects.filter(name__icontains=q))
    for road in roads.order_by("name", "code")[:limit]:
        point = representative_point(road.geometry)
        if point:
            found.append(Place("road", road.name, road.code, *point))
    return found[:limit]


def map_scope_code(user: Any) -> str | None:
    """The territory node whose grids the user's maps draw."""
    code = user_scope_code(user)
    if code is None:
        return None
    if code == "":  # unrestricted: the (first) district
        district = Area.objects.filter(parent__isnull=True).order_by("code").values_list("code", flat=True).first()
        return str(district) if district else None
    return code


def open_case_points(
    user: Any, *, category: int | None = None, overdue_only: bool = False, limit: int = MAP_POINT_LIMIT
) -> list[dict[str, Any]]:
    """Open cases with coordinates, for the map (one query, values only)."""
    qs: QuerySet[Case] = selectors.visible_cases(user).filter(status__in=OPEN_STATUSES, lon__isnull=False)
    if category:
        qs = qs.filter(category_id=category) | qs.filter(category__parent_id=category)
    if overdue_only:
        qs = qs.filter(overdue_at__isnull=False)
    rows = qs.order_by("-received_at").values_list(
        "pk", "title", "lon", "lat", "overdue_at", "warned_at", "status", "category__name"
    )[:limit]
    return [
        {
            "id": pk,
            "title": title,
            "value": [lon, lat],
            "overdue": overdue is not None,
            "warned": warned is not None,
            "status": status,
            "category": cat,
        }
        for pk, title, lon, lat, overdue, warned, status, cat in rows
    ]


def case_photos(case: Case, *, public: bool = False) -> list[CasePhoto]:
    qs = CasePhoto.objects.filter(case=case)
    if public:
        qs = qs.filter(is_public=True)
    return list(qs.order_by("created_at", "id"))


RESPONSE_TEMPLATE_LIMIT = 200


def response_templates(category: Category | None) -> list[ResponseTemplate]:
    """Active canned replies (常用回复) for a case of ``category``: those of the category, of its
    parent category, and the general ones (no category); specific ones first. One query."""
    ids = [c for c in (getattr(category, "pk", None), getattr(category, "parent_id", None)) if c]
    qs = ResponseTemplate.objects.filter(Q(category__isnull=True) | Q(category_id__in=ids), is_active=True)
    items = list(qs.order_by("title", "id")[:RESPONSE_TEMPLATE_LIMIT])
    return sorted(items, key=lambda t: t.category_id is None)


def console_response_templates() -> list[ResponseTemplate]:
    """Every active canned reply, with its category (the console filters them by the category
    chosen in the form). One query."""
    qs = ResponseTemplate.objects.filter(is_active=True).select_related("category")
    return list(qs.order_by("title", "id")[:RESPONSE_TEMPLATE_LIMIT])


def photo_get(user: Any, pk: int) -> CasePhoto:
    """A photo whose case the user may read (NotFound otherwise)."""
    photo = CasePhoto.objects.filter(pk=pk).first()
    if photo is None:
        from civicgrid.common.errors import NotFound

        raise NotFound("")
    selectors.case_get(user, photo.case_id)
    return photo


def departments_for_select() -> list[Department]:
    return list(Department.objects.filter(is_active=True).order_by("name")[:500])


def tier_units(case: Case) -> list[Area]:
    """The community, street and district above a case (manual dispatch to a tier unit)."""
    code = case.area_code
    prefixes = [code[:n] for n in (12, 9, 6) if len(code) >= n]
    return list(Area.objects.filter(code__in=prefixes).order_by("-code"))


def now() -> Any:
    return timezone.now()


PUBLIC_GRIDS_CACHE_KEY = "cases:public-grids:v{version}"


def public_grid_collection() -> dict[str, Any]:
    """Grid outlines (code, name, polygon) for the resident report map: public boundary
    data, no counts. Cached per territory BoundaryVersion."""
    from django.core.cache import cache

    from civicgrid.territory.enums import AreaLevel
    from civicgrid.territory.models import BoundaryVersion

    key = PUBLIC_GRIDS_CACHE_KEY.format(version=BoundaryVersion.current())
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    rows = Area.objects.filter(level=AreaLevel.GRID, geometry__isnull=False).order_by("code")
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": code, "properties": {"code": code, "name": name}, "geometry": geometry}
            for code, name, geometry in rows.values_list("code", "name", "geometry")
        ],
    }
    cache.set(key, collection, 300)
    return collection
