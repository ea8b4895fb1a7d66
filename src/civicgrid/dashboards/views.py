"""Dashboard pages: the wall screen (/dashboards/screen/<code>/, 1920×1080, dark, refreshed by
polling /api/dashboards/screen) and the drill-down list behind every figure
(/dashboards/cases/). The rankings page lives in ``rankings.py``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import capability_required
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Category
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.drilldown import DrillFilter, drill_cases, parse_filter
from civicgrid.dashboards.screen import screen_data, screen_node
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.selectors import area_get, visible_areas

PAGE_SIZE = 50
SCREEN_LEVELS = (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY)


@capability_required(CaseCapability.VIEW)
def home(request: HttpRequest) -> HttpResponse:
    """/dashboards/: the wall screen of the user's own territory node."""
    try:
        node = screen_node(request.user, None)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return redirect("dashboards:screen", code=node.code)


@capability_required(CaseCapability.VIEW)
def screen(request: HttpRequest, code: str) -> HttpResponse:
    try:
        data = screen_data(request.user, code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    # Where else the screen may point: the district, streets and communities in scope.
    targets = list(
        visible_areas(request.user)
        .filter(level__in=SCREEN_LEVELS)
        .order_by("code")
        .values_list("code", "name", "level")
    )
    return render(
        request,
        "dashboards/screen.html",
        {
            "data": data,
            "targets": targets,
            "api_url": reverse("api:dashboards_screen") + f"?area={data['area']['code']}",
        },
    )


def _drill_title(f: DrillFilter) -> str:
    return f.label


@capability_required(CaseCapability.VIEW)
def drilldown(request: HttpRequest) -> HttpResponse:
    try:
        f = parse_filter(request.GET)
        qs = drill_cases(request.user, f)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ValidationError as exc:
        return render(request, "dashboards/drilldown.html", {"error": "; ".join(exc.messages)}, status=400)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "filter": f,
        "title": _drill_title(f),
        "page": page,
        "query": "&".join(f"{k}={v}" for k, v in f.query().items()),
        "area": area_get(request.user, f.area_code) if f.area_code else None,
        "category": Category.objects.filter(code=f.category_code).first() if f.category_code else None,
        "channel": Channel(f.channel).label if f.channel else None,
        "department": Department.objects.filter(pk=f.department_id).first() if f.department_id else None,
        "received_url": f.with_metric("received").url() if f.is_period else None,
    }
    return render(request, "dashboards/drilldown.html", context)
