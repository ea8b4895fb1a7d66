"""/api/dashboards: the wall screen's data (polled by the page) and the assessment ranking."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.params.functions import Query

from civicgrid.dashboards import gridmap, public, rankings
from civicgrid.dashboards.schemas import RankingOut, ScreenOut
from civicgrid.dashboards.screen import screen_data

router = Router(tags=["dashboards"])


@router.get(
    "/screen", response=ScreenOut, url_name="dashboards_screen", summary="数据大屏数据 (按辖区节点, 默认本人辖区)"
)
def screen(request: HttpRequest, area: str = "") -> dict[str, Any]:
    return screen_data(request.user, area.strip() or None)


RANKING_DEFAULT_LIMIT = rankings.PAGE_SIZE  # the page's page size
RANKING_MAX_LIMIT = 500


@router.get(
    "/rankings",
    response=RankingOut,
    url_name="dashboards_rankings",
    summary="考核排名 (分页, 含全部单位合计): period=2026-05|2026-Q2|2026, level=street|community|grid|department",
)
def ranking(
    request: HttpRequest,
    period: str = "",
    kind: str = "",
    level: str = "street",
    area: str = "",
    scheme: str = "",
    offset: int = Query(0, ge=0),
    limit: int = Query(RANKING_DEFAULT_LIMIT, ge=1, le=RANKING_MAX_LIMIT),
) -> dict[str, Any]:
    """Units ``offset`` to ``offset + limit`` in rank order; ``count`` and ``totals`` cover all
    units (a district has 500+ grids), as on the page and in its Excel export."""
    params = rankings.parse_params({"period": period, "kind": kind, "level": level, "area": area, "scheme": scheme})
    return rankings.ranking_as_dict(rankings.ranking_for(request.user, params), offset=offset, limit=limit)


# --- the live grid map (issue 4 §5): dashboards/gridmap.py --------------------------------------


@router.get(
    "/gridmap/{code}/grids",
    url_name="gridmap_grids",
    summary="网格地图: 各网格的网格长和指标 (在办、超期、千人案件数、今日巡查达标率)",
)
def gridmap_grids(request: HttpRequest, code: str, start: str = "", end: str = "") -> dict[str, Any]:
    return gridmap.grid_measures(request.user, code, gridmap.parse_period(start, end))


@router.get("/gridmap/{code}/markers", url_name="gridmap_markers", summary="网格地图: 在办案件和探头的实时标注")
def gridmap_markers(request: HttpRequest, code: str) -> dict[str, Any]:
    return gridmap.map_markers(request.user, code)


@router.get("/gridmap/{code}/heat", url_name="gridmap_heat", summary="网格地图: 一段时间内某类案件的热力 (按格网汇总)")
def gridmap_heat(request: HttpRequest, code: str, start: str = "", end: str = "", category: str = "") -> dict[str, Any]:
    period = gridmap.parse_period(start, end)
    return gridmap.heat_points(request.user, code, period, gridmap.parse_category(category))


# --- the public transparency page (issue 5 §5): dashboards/public.py, no log-in ------------------


@router.get("/open/summary", auth=None, url_name="open_summary", summary="公开: 各社区办结率和公开承诺进度")
def open_summary(request: HttpRequest, period: str = "", category: str = "") -> dict[str, Any]:
    f = public.parse_filter({"period": period, "category": category})
    return {"closure": public.closure_by_community(f), "commitments": public.commitments(timezone.localdate().year)}


@router.get("/open/map", auth=None, url_name="open_map", summary="公开: 案件分布 (位置概化到200米格网)")
def open_map(
    request: HttpRequest, period: str = "", category: str = "", community: str = "", status: str = ""
) -> dict[str, Any]:
    f = public.parse_filter({"period": period, "category": category, "community": community, "status": status})
    return public.public_map(f)


@router.get("/open/cases", auth=None, url_name="open_cases", summary="公开: 案件列表 (不含个人信息, 分页)")
def open_cases(
    request: HttpRequest, period: str = "", category: str = "", community: str = "", status: str = "", page: int = 1
) -> dict[str, Any]:
    f = public.parse_filter({"period": period, "category": category, "community": community, "status": status})
    return public.case_page(f, page)


@router.get("/open/geojson", auth=None, url_name="open_geojson", summary="公开: 社区边界 (GeoJSON)")
def open_geojson(request: HttpRequest) -> dict[str, Any]:
    return public.public_geojson()
