"""/cameras/: the camera registry (filter + pagination), a camera's page with its recent
alerts and their cases, and the alert list. Thin: reads through selectors."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from civicgrid.accounts.permissions import capability_required
from civicgrid.accounts.scope import scope_queryset
from civicgrid.cameras import conf, selectors
from civicgrid.cameras.enums import AlertOutcome, CameraKind, CameraStatus
from civicgrid.cameras.services import offline_cutoff
from civicgrid.common.errors import NotFound
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

PAGE_SIZE = 50
ALERTS_PAGE_SIZE = 30


def _area_options(user: Any) -> list[Area]:
    """Streets and communities of the user's territory, for the filter (one query)."""
    return list(
        scope_queryset(
            user,
            Area.objects.filter(level__in=[AreaLevel.STREET, AreaLevel.COMMUNITY]).only("code", "name", "level"),
            "code",
        ).order_by("code")
    )


def _query(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


def _page_number(request: HttpRequest) -> str | None:
    return request.GET.get("page")


@capability_required(selectors.VIEW_CAPABILITY)
def registry(request: HttpRequest) -> HttpResponse:
    params = {
        "area": request.GET.get("area", "").strip()[:20],
        "status": request.GET.get("status", "").strip(),
        "kind": request.GET.get("kind", "").strip(),
        "q": request.GET.get("q", "").strip()[:50],
    }
    if params["area"] and not params["area"].isdigit():
        params["area"] = ""
    flt = selectors.CameraFilter(**params)
    page = Paginator(selectors.cameras_visible(request.user, flt), PAGE_SIZE).get_page(_page_number(request))
    cutoff = offline_cutoff()
    rows = [(camera, selectors.shown_status(camera, cutoff=cutoff)) for camera in page]
    return render(
        request,
        "cameras/registry.html",
        {
            "page": page,
            "rows": rows,
            "params": params,
            "query": _query(params),
            "counts": selectors.status_counts(request.user, flt),
            "areas": _area_options(request.user),
            "statuses": CameraStatus.choices,
            "kinds": CameraKind.choices,
            "offline_minutes": conf.offline_after_minutes(),
            "community_level": AreaLevel.COMMUNITY,
        },
    )


@capability_required(selectors.VIEW_CAPABILITY)
def detail(request: HttpRequest, camera_id: int) -> HttpResponse:
    try:
        camera = selectors.camera_get(request.user, camera_id)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    alerts = selectors.alerts_visible(request.user, selectors.AlertFilter(camera_id=camera.pk))
    page = Paginator(alerts, ALERTS_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "cameras/detail.html",
        {
            "camera": camera,
            "shown": selectors.shown_status(camera),
            "page": page,
            "offline_minutes": conf.offline_after_minutes(),
        },
    )


@capability_required(selectors.VIEW_CAPABILITY)
def alerts(request: HttpRequest) -> HttpResponse:
    params = {
        "area": request.GET.get("area", "").strip()[:20],
        "outcome": request.GET.get("outcome", "").strip(),
        "event_type": request.GET.get("event_type", "").strip()[:50],
    }
    if params["area"] and not params["area"].isdigit():
        params["area"] = ""
    flt = selectors.AlertFilter(area=params["area"], outcome=params["outcome"], event_type=params["event_type"])
    page = Paginator(selectors.alerts_visible(request.user, flt), ALERTS_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "cameras/alerts.html",
        {
            "page": page,
            "params": params,
            "query": _query(params),
            "areas": _area_options(request.user),
            "outcomes": AlertOutcome.choices,
            "community_level": AreaLevel.COMMUNITY,
        },
    )
