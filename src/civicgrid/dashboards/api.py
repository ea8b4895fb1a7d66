"""/api/dashboards: the wall screen's data (polled by the page) and the assessment ranking."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from civicgrid.dashboards import rankings
from civicgrid.dashboards.schemas import RankingOut, ScreenOut
from civicgrid.dashboards.screen import screen_data

router = Router(tags=["dashboards"])


@router.get(
    "/screen", response=ScreenOut, url_name="dashboards_screen", summary="数据大屏数据 (按辖区节点, 默认本人辖区)"
)
def screen(request: HttpRequest, area: str = "") -> dict[str, Any]:
    return screen_data(request.user, area.strip() or None)


@router.get(
    "/rankings",
    response=RankingOut,
    url_name="dashboards_rankings",
    summary="考核排名: period=2026-05|2026-Q2|2026, level=street|community|grid|department",
)
def ranking(
    request: HttpRequest, period: str = "", kind: str = "", level: str = "street", area: str = "", scheme: str = ""
) -> dict[str, Any]:
    params = rankings.parse_params({"period": period, "kind": kind, "level": level, "area": area, "scheme": scheme})
    return rankings.ranking_as_dict(rankings.ranking_for(request.user, params))
