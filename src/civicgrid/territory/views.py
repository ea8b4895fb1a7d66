"""Territory pages: the browser (tree + map), area pages (street/community), grid pages,
and the JSON/HTML fragments they load. Scope is enforced by the selectors; a node
outside the user's territory is a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.common.errors import NotFound
from civicgrid.territory import selectors
from civicgrid.territory.enums import AreaLevel

View = Callable[..., HttpResponse]


def territory_view(view: View) -> View:
    """Login required, VIEW_TERRITORY required (403), out-of-scope/unknown nodes are 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_capability(request.user, Capability.VIEW_TERRITORY):
            raise PermissionDenied(_("没有查看辖区网格的权限"))
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc

    return login_required(wrapped)


@territory_view
def browser(request: HttpRequest) -> HttpResponse:
    roots = selectors.area_tree(request.user)
    root = roots[0] if roots else None
    return render(request, "territory/browser.html", {"roots": roots, "root": root})


@territory_view
def children(request: HttpRequest, code: str) -> HttpResponse:
    """The htmx fragment for a tree node's children (lazy loading)."""
    _parent, nodes = selectors.area_children(request.user, code)
    return render(request, "territory/_tree_nodes.html", {"nodes": nodes})


@territory_view
def area(request: HttpRequest, code: str) -> HttpResponse:
    detail = selectors.area_detail(request.user, code, page=request.GET.get("page", 1))
    if detail.area.level == AreaLevel.GRID:
        return redirect("territory:grid", code=code)
    return render(request, "territory/area.html", {"detail": detail, "area": detail.area})


@territory_view
def grid(request: HttpRequest, code: str) -> HttpResponse:
    detail = selectors.grid_detail(request.user, code, page=request.GET.get("page", 1))
    return render(request, "territory/grid.html", {"detail": detail, "grid": detail.grid})


@territory_view
def geojson(request: HttpRequest, code: str) -> JsonResponse:
    collection = selectors.map_feature_collection(request.user, code, level=request.GET.get("level") or None)
    return JsonResponse(collection, json_dumps_params={"ensure_ascii": False})
