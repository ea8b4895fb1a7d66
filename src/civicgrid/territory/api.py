"""/api/territory: areas (scoped, paginated), their GeoJSON, and locate."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router
from ninja.pagination import paginate

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.common.errors import DomainError
from civicgrid.territory import selectors
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.locate import INVALID
from civicgrid.territory.models import Area
from civicgrid.territory.schemas import AreaDetailOut, AreaOut, BulkLocateIn, BulkLocateOut, LocateOut

router = Router(tags=["territory"])

MAX_BULK_POINTS = 10_000


class TooManyPoints(DomainError):
    status = 413
    code = "too_many_points"


def _require_view(request: HttpRequest) -> None:
    if not has_capability(request.user, Capability.VIEW_TERRITORY):
        raise PermissionDenied(_("没有查看辖区网格的权限"))


@router.get("/areas", response=list[AreaOut], summary="辖区节点列表")
@paginate
def list_areas(request: HttpRequest, level: AreaLevel | None = None, parent: str | None = None) -> QuerySet[Area]:
    _require_view(request)
    return selectors.area_list(request.user, level=level, parent=parent)


@router.get("/areas/{code}", response=AreaDetailOut, summary="辖区节点详情")
def get_area(request: HttpRequest, code: str) -> Area:
    _require_view(request)
    area = selectors.area_get(request.user, code)
    area.child_count = selectors.visible_areas(request.user).filter(parent=area).count()  # type: ignore[attr-defined]
    return area


@router.get("/areas/{code}/geojson", summary="下级区域GeoJSON(地图用)")
def area_geojson(request: HttpRequest, code: str, level: AreaLevel | None = None) -> dict[str, Any]:
    _require_view(request)
    return selectors.map_feature_collection(request.user, code, level=level)


@router.get("/locate", response=LocateOut, summary="坐标定位到网格")
def locate_point(request: HttpRequest, lon: float, lat: float) -> dict[str, Any]:
    _require_view(request)
    result = selectors.locate_for_user(request.user, lon, lat)
    if result.status == INVALID:
        raise DomainError(result.message, code="invalid_coordinates", fields={"lon": [str(lon)], "lat": [str(lat)]})
    return result.as_dict()


@router.post("/locate", response=BulkLocateOut, summary="批量坐标定位(最多10000个点)")
def locate_points(request: HttpRequest, payload: BulkLocateIn) -> dict[str, Any]:
    _require_view(request)
    if len(payload.points) > MAX_BULK_POINTS:
        raise TooManyPoints(
            _("一次最多定位%(max)d个点，本次提交了%(n)d个，请分批提交")
            % {"max": MAX_BULK_POINTS, "n": len(payload.points)}
        )
    lons = [p[0] for p in payload.points]
    lats = [p[1] for p in payload.points]
    results = selectors.locate_many_for_user(request.user, lons, lats)
    return {
        "count": len(results),
        "inside": sum(1 for r in results if r.inside),
        "results": [r.as_dict() for r in results],
    }
