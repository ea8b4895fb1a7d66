"""The live grid map (网格地图, issue 4 §5): every grid of a territory node with its chiefs,
coloured by a chosen measure, with live markers (open cases, cameras, today's patrol tracks)
and a heat map of cases. Reads only, through the other apps' selectors (scoped).

Measures per grid (``grid_measures``; all set-based, a fixed number of queries whatever the
number of grids):

- ``open``: open cases now (``OPEN_STATUSES``) whose scope code is the grid's;
- ``overdue``: of those, the ones the deadline sweep marked overdue (``overdue_at`` set) -
  the wall screen's and the drill-down list's definitions (``drilldown.NOW_METRICS``);
- ``per_1000``: cases received in the period, counted as ``cases.metrics`` counts them
  (``case_metrics_grouped(group_by="area", level="grid")``: not merged, not 不予受理), per
  1000 residents of the grid (``territory.Area.population``, the figure the GeoJSON import and
  the demo maintain; None for a grid without residents);
- ``patrol``: the share of the grid's grid and area chiefs (``territory.Responsibility``) who
  met today's patrol duty (``patrols.selectors.compliance_report(period="today")``); None for a
  grid without a chief, and left out for users without ``patrols.view``.

Markers (``map_markers``): open cases with coordinates (newest first, at most ``CASE_MARKER_CAP``,
the total is reported), cameras (``cameras.selectors.cameras_visible``, online/offline as the
registry shows them). Today's tracks are read by the page from ``GET /api/patrols/tracks`` (the
patrols app's own selector and endpoint). The heat map (``heat_points``) aggregates the period's
cases (``cases.metrics.base_queryset``) to a lattice in the database, so its size depends on the
area drawn, not on the number of cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.accounts.permissions import Capability, capability_required, has_capability
from civicgrid.accounts.scope import code_range_q, scope_queryset
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import CaseStatus
from civicgrid.cases.models import Category
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.selectors import visible_cases
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.drilldown import NOW_METRICS, DrillFilter, day_bounds
from civicgrid.dashboards.screen import screen_node
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.lattice import Lattice, reference_latitude
from civicgrid.territory.models import Area, Duty, Responsibility
from civicgrid.territory.selectors import visible_areas

REFRESH_SECONDS = 60
CASE_MARKER_CAP = 2000
CAMERA_MARKER_CAP = 5000
DEFAULT_PERIOD_DAYS = 30
CHIEF_DUTIES = (Duty.GRID_CHIEF, Duty.AREA_CHIEF)
# Heat lattice cell (metres) by the level of the node drawn: a district map needs no finer
# cells than a 200 m square; a community's can show 50 m.
HEAT_CELL_M = {
    AreaLevel.DISTRICT: 200,
    AreaLevel.STREET: 100,
    AreaLevel.COMMUNITY: 50,
    AreaLevel.GRID: 50,
}

# key -> (Chinese label, unit)
MEASURES: dict[str, tuple[str, str]] = {
    "open": (gettext_noop("在办案件"), gettext_noop("件")),
    "overdue": (gettext_noop("超期案件"), gettext_noop("件")),
    "per_1000": (gettext_noop("千人案件数"), gettext_noop("件/千人")),
    "patrol": (gettext_noop("今日巡查达标率"), "%"),
}


def map_node(user: Any, code: str | None) -> Area:
    """The node a map shows: ``code`` in the user's scope (else NotFound, a 404), or the
    user's own node. Needs ``cases.view`` (403 otherwise)."""
    if not has_capability(user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看网格地图的权限"))
    return screen_node(user, code or None)


# --- parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPeriod:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return day_bounds(self.start, self.end)


def _date(value: str | None, field: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({field: _("日期格式应为 YYYY-MM-DD")}) from exc


def parse_period(start: str | None, end: str | None, *, today: dt.date | None = None) -> MapPeriod:
    """The heat map's and the per-1000 measure's period: inclusive dates, default the last
    30 days; at most three years, not after today."""
    today = today or timezone.localdate()
    end_day = _date(end, "end") or today
    start_day = _date(start, "start") or end_day - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if end_day < start_day:
        raise ValidationError({"end": _("结束日期不能早于开始日期")})
    if (end_day - start_day).days > m.MAX_PERIOD_DAYS:
        raise ValidationError({"end": _("统计周期不能超过三年")})
    return MapPeriod(start_day, end_day)


def parse_category(value: str | None) -> str | None:
    code = (value or "").strip()
    if not code:
        return None
    if not Category.objects.filter(code=code).exists():
        raise ValidationError({"category": _("案件类别不存在")})
    return code


# --- measures -------------------------------------------------------------------------------


def _grids(user: Any, node: Area) -> list[dict[str, Any]]:
    qs = visible_areas(user).filter(level=AreaLevel.GRID)
    qs = qs.filter(pk=node.pk) if node.level == AreaLevel.GRID else qs.filter(code_range_q("code", node.code))
    rows: list[dict[str, Any]] = [dict(r) for r in qs.order_by("code").values("id", "code", "name", "population")]
    return rows


def _chiefs(user: Any, node: Area) -> dict[str, list[dict[str, Any]]]:
    """The grid and area chiefs of each grid under the node (``territory.Responsibility``):
    one query. A grid's chiefs are named to whoever may see the grid."""
    rows = (
        scope_queryset(user, Responsibility.objects.filter(code_range_q("area_code", node.code)))
        .filter(duty__in=CHIEF_DUTIES, area__isnull=False, user__is_active=True)
        .order_by("area_code", "duty", "user__username")
        .values_list("area_code", "duty", "user_id", "user__display_name", "user__username")
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for code, duty, uid, name, username in rows:
        out.setdefault(code, []).append(
            {"id": uid, "name": name or username, "duty": duty, "duty_label": str(Duty(duty).label)}
        )
    return out


def _open_counts(user: Any, node: Area) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Open and overdue cases per scope code under the node (one GROUP BY)."""
    rows = (
        visible_cases(user)
        .filter(NOW_METRICS["open"][1], code_range_q("area_code", node.code))
        .values("area_code")
        .annotate(open=Count("id"), overdue=Count("id", filter=NOW_METRICS["overdue"][1]))
        .order_by()
    )
    per_code = {r["area_code"]: {"open": int(r["open"]), "overdue": int(r["overdue"])} for r in rows}
    totals = {
        "open": sum(v["open"] for v in per_code.values()),
        "overdue": sum(v["overdue"] for v in per_code.values()),
    }
    return per_code, totals


def _received(user: Any, node: Area, period: MapPeriod) -> dict[str, int]:
    """Cases received in the period per grid, as ``case_metrics`` counts them."""
    level = None if node.level == AreaLevel.GRID else AreaLevel.GRID
    if level is None:
        result = m.case_metrics(user, start=period.start, end=period.end, area_code=node.code)
        return {node.code: result.received}
    rows = m.case_metrics_grouped(
        user, start=period.start, end=period.end, group_by="area", area_code=node.code, level=level
    )
    return {r.key: r.received for r in rows if r.key}


def _patrols(user: Any, node: Area, today: dt.date) -> dict[str, dict[str, int]] | None:
    """Per grid: how many of its grid/area chiefs hold a duty today and how many met it."""
    if not has_capability(user, Capability.VIEW_PATROLS):
        return None
    from civicgrid.patrols.selectors import compliance_report

    report = compliance_report(user, node.code, period="today", on=today)
    out: dict[str, dict[str, int]] = {}
    for row in report.rows:
        if not any(d in CHIEF_DUTIES for d in row.worker.duties):
            continue
        met = bool(row.days and row.days[-1].met)
        for code in row.worker.codes:
            entry = out.setdefault(code, {"workers": 0, "met": 0})
            entry["workers"] += 1
            entry["met"] += int(met)
    return out


def _per_1000(received: int, population: int) -> float | None:
    return round(received * 1000 / population, 2) if population else None


def grid_measures(user: Any, code: str | None, period: MapPeriod, *, today: dt.date | None = None) -> dict[str, Any]:
    """Every grid of the node with its chiefs and the four measures (see the module doc)."""
    node = map_node(user, code)
    today = today or timezone.localdate()
    grids = _grids(user, node)
    chiefs = _chiefs(user, node)
    open_counts, open_totals = _open_counts(user, node)
    received = _received(user, node, period)
    patrols = _patrols(user, node, today)
    start_at, end_at = period.bounds
    items = []
    for g in grids:
        c = open_counts.get(g["code"], {"open": 0, "overdue": 0})
        p = patrols.get(g["code"]) if patrols is not None else None
        rec = received.get(g["code"], 0)
        items.append(
            {
                "code": g["code"],
                "name": g["name"],
                "url": reverse("territory:grid", args=[g["code"]]),
                "population": int(g["population"] or 0),
                "chiefs": chiefs.get(g["code"], []),
                "open": c["open"],
                "overdue": c["overdue"],
                "received": rec,
                "per_1000": _per_1000(rec, int(g["population"] or 0)),
                "patrol_workers": p["workers"] if p else 0,
                "patrol_met": p["met"] if p else 0,
                "patrol": round(100 * p["met"] / p["workers"], 1) if p and p["workers"] else None,
                "open_url": DrillFilter("open", area_code=g["code"]).url(),
                "received_url": DrillFilter("received", period.start, period.end, g["code"]).url(),
            }
        )
    on_grids = {"open": sum(i["open"] for i in items), "overdue": sum(i["overdue"] for i in items)}
    level = "" if node.level == AreaLevel.GRID else AreaLevel.GRID.value
    geojson = reverse("territory:geojson", args=[node.code]) + (f"?level={level}" if level else "")
    measures = [
        {"key": k, "label": _(label), "unit": _(unit) if unit != "%" else unit}
        for k, (label, unit) in MEASURES.items()
        if k != "patrol" or patrols is not None
    ]
    return {
        "area": {"code": node.code, "name": node.name, "level": node.level},
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "refresh_seconds": REFRESH_SECONDS,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "period_from": start_at.isoformat(),
        "period_to": end_at.isoformat(),
        "geojson_url": geojson,
        "map_name": f"gridmap-{node.code}",
        "measures": measures,
        "patrols_enabled": patrols is not None,
        "grids": items,
        "max": {
            "open": max((i["open"] for i in items), default=0),
            "overdue": max((i["overdue"] for i in items), default=0),
            "per_1000": max((i["per_1000"] or 0 for i in items), default=0),
            "patrol": 100,
        },
        # Open cases located only to a street or the district: in the totals, not on a grid.
        "unlocated": {k: open_totals[k] - on_grids[k] for k in on_grids},
        "totals": open_totals,
    }


# --- markers and heat ---------------------------------------------------------------------------


def _case_markers(user: Any, node: Area) -> dict[str, Any]:
    qs = visible_cases(user).filter(NOW_METRICS["open"][1], code_range_q("area_code", node.code))
    located = qs.filter(lon__isnull=False, lat__isnull=False)
    rows = list(
        located.order_by("-received_at", "-id").values(
            "id", "title", "status", "lon", "lat", "overdue_at", "received_at", "category__name"
        )[:CASE_MARKER_CAP]
    )
    total = located.count() if len(rows) == CASE_MARKER_CAP else len(rows)
    labels = dict(CaseStatus.choices)
    items = [
        {
            "id": r["id"],
            "title": r["title"],
            "category": r["category__name"],
            "status": r["status"],
            "status_label": str(labels.get(r["status"], r["status"])),
            "lon": r["lon"],
            "lat": r["lat"],
            "overdue": r["overdue_at"] is not None,
            "received_at": timezone.localtime(r["received_at"]).strftime("%Y-%m-%d %H:%M"),
            "url": reverse("cases:detail", args=[r["id"]]),
        }
        for r in rows
    ]
    return {"items": items, "total": total, "shown": len(items), "cap": CASE_MARKER_CAP}


def _camera_markers(user: Any, node: Area) -> dict[str, Any]:
    from civicgrid.cameras.selectors import CameraFilter, cameras_visible, shown_status
    from civicgrid.cameras.services import offline_cutoff

    cutoff = offline_cutoff()
    qs = (
        cameras_visible(user, CameraFilter(area=node.code))
        .select_related(None)
        .only("id", "code", "name", "kind", "lon", "lat", "status", "last_heartbeat_at", "area_code")
    )
    cams = list(qs[:CAMERA_MARKER_CAP])
    total = qs.count() if len(cams) == CAMERA_MARKER_CAP else len(cams)
    items = []
    for cam in cams:
        status = shown_status(cam, cutoff=cutoff)
        items.append(
            {
                "id": cam.pk,
                "code": cam.code,
                "name": cam.name,
                "lon": cam.lon,
                "lat": cam.lat,
                "status": status,
                "url": reverse("cameras:detail", args=[cam.pk]),
            }
        )
    return {"items": items, "total": total, "shown": len(items), "cap": CAMERA_MARKER_CAP}


def map_markers(user: Any, code: str | None) -> dict[str, Any]:
    """The live layers of the map: open cases and cameras (today's tracks: the patrols API)."""
    node = map_node(user, code)
    tracks_url = ""
    if has_capability(user, Capability.VIEW_PATROLS):
        tracks_url = reverse("api:patrol_tracks") + f"?area={node.code}"
    return {
        "area": {"code": node.code, "name": node.name, "level": node.level},
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "cases": _case_markers(user, node),
        "cameras": _camera_markers(user, node),
        "tracks_url": tracks_url,
    }


def heat_points(user: Any, code: str | None, period: MapPeriod, category_code: str | None = None) -> dict[str, Any]:
    """The period's cases (``case_metrics``' received cases, optionally of one category and
    its sub-categories) counted per lattice cell in the database."""
    node = map_node(user, code)
    start_at, end_at = period.bounds
    qs = m.base_queryset(user, start=start_at, end=end_at, area_code=node.code, category_code=category_code)
    lattice = Lattice(HEAT_CELL_M.get(AreaLevel(node.level), 200), reference_latitude(node))
    points = lattice.counts(qs)
    total = qs.count()
    on_map = sum(p["count"] for p in points)
    return {
        "area": {"code": node.code, "name": node.name, "level": node.level},
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "category": category_code or "",
        "cell_m": lattice.cell_m,
        "points": [[p["lon"], p["lat"], p["count"]] for p in points],
        "max": max((p["count"] for p in points), default=0),
        "total": total,
        "unlocated": total - on_map,
        "received_url": DrillFilter("received", period.start, period.end, node.code, category_code=category_code).url(),
    }


def category_choices() -> list[tuple[str, str]]:
    """Top-level categories and their children for the heat map's category switch."""
    rows = list(
        Category.objects.filter(is_active=True)
        .order_by("sort_order", "code")
        .values_list("code", "name", "parent_id", "pk")
    )
    tops = [(c, n, pk) for c, n, parent, pk in rows if parent is None]
    out: list[tuple[str, str]] = []
    for code, name, pk in tops:
        out.append((code, name))
        out.extend((c, f"· {n}") for c, n, parent, _pk in rows if parent == pk)
    return out


def map_targets(user: Any) -> list[tuple[str, str, str]]:
    """Nodes the map may be pointed at: the district, streets and communities in scope."""
    return list(
        visible_areas(user)
        .filter(level__in=(AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY))
        .order_by("code")
        .values_list("code", "name", "level")
    )


__all__ = [
    "MEASURES",
    "Lattice",
    "MapPeriod",
    "category_choices",
    "grid_measures",
    "gridmap_home",
    "gridmap_page",
    "heat_points",
    "map_markers",
    "map_node",
    "map_targets",
    "parse_category",
    "parse_period",
    "reference_latitude",
]


# --- the page ----------------------------------------------------------------------------------


@capability_required(CaseCapability.VIEW)
def gridmap_home(request: HttpRequest) -> HttpResponse:
    """/dashboards/map/: the map of the user's own territory node."""
    try:
        node = map_node(request.user, None)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return redirect("dashboards:gridmap", code=node.code)


@capability_required(CaseCapability.VIEW)
def gridmap_page(request: HttpRequest, code: str) -> HttpResponse:
    """/dashboards/map/<code>/: the page renders the grid measures at once (the map draws
    without waiting), then polls the markers and the measures every REFRESH_SECONDS."""
    try:
        period = parse_period(request.GET.get("start"), request.GET.get("end"))
        category = parse_category(request.GET.get("category"))
        data = grid_measures(request.user, code, period)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ValidationError as exc:
        return render(request, "dashboards/gridmap.html", {"error": "; ".join(exc.messages)}, status=400)
    measure = request.GET.get("measure") or "open"
    if measure not in {m_["key"] for m_ in data["measures"]}:
        measure = "open"
    node = data["area"]["code"]
    return render(
        request,
        "dashboards/gridmap.html",
        {
            "data": data,
            "measure": measure,
            "category": category or "",
            "categories": category_choices(),
            "targets": map_targets(request.user),
            "grids_url": reverse("api:gridmap_grids", args=[node]),
            "markers_url": reverse("api:gridmap_markers", args=[node]),
            "heat_url": reverse("api:gridmap_heat", args=[node]),
        },
    )
