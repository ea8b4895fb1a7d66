"""The wall screen's data (大屏): one scoped structure for (user, territory node), composed from
the other apps' selectors. The page renders it once and then polls ``/api/dashboards/screen``
for the same structure; every figure carries the link to the list of the cases it counts.

Definitions (all case figures are ``cases.metrics`` figures, so they equal the metrics page):

- today / this year: ``case_metrics`` for today, and for 1 January to today: received (受理),
  closed (of those, closed now: 办结), closure, on-time sign-for, on-time closing, resolution and
  satisfaction rates;
- intake by channel and by top-level category: this year's received and closed;
- trend: received and closed per week (Monday) over the last ``TREND_WEEKS`` weeks;
- overdue: open cases marked overdue by the deadline sweep (whatever their date of receipt),
  soonest handling deadline first;
- map heat: open cases per grid of the node;
- patrols: today's duty of the node's grid, road and area chiefs (``patrols.compliance_report``);
- indicators: the district indicators register (``indicators.indicators_for_dashboard``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import code_range_q, user_scope_code
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import Channel
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.selectors import visible_cases
from civicgrid.dashboards.drilldown import NOW_METRICS, DrillFilter
from civicgrid.territory.enums import LEVEL_CODE_LENGTHS, AreaLevel
from civicgrid.territory.models import Area
from civicgrid.territory.selectors import area_get

TREND_WEEKS = 12
OVERDUE_ROWS = 8
PATROL_ROWS = 10
REFRESH_SECONDS = 60


def screen_node(user: Any, area_code: str | None) -> Area:
    """The node the screen shows: ``area_code`` (in the user's scope, else NotFound) or the
    user's own node (the district for an installation-wide account)."""
    if not has_capability(user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看数据大屏的权限"))
    if area_code:
        return area_get(user, area_code)
    scope = user_scope_code(user)
    if scope is None:
        raise PermissionDenied(_("您没有查看数据大屏的权限"))
    if scope == "":
        root = Area.objects.filter(parent__isnull=True).order_by("code").first()
        if root is None:
            raise PermissionDenied(_("尚未导入辖区数据"))
        return root
    return area_get(user, scope)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _figure(value: int, url: str) -> dict[str, Any]:
    return {"value": value, "display": str(value), "url": url, "part": None, "whole": None}


def _count(value: int, f: DrillFilter) -> dict[str, Any]:
    return _figure(value, f.url())


def _rate(value: float | None, part: int, whole: int, f: DrillFilter) -> dict[str, Any]:
    return {"value": value, "display": _pct(value), "part": part, "whole": whole, "url": f.url()}


def _period_block(result: m.CaseMetrics, f: DrillFilter) -> dict[str, Any]:
    return {
        "received": _count(result.received, f.with_metric("received")),
        "closed": _count(result.closed, f.with_metric("closed")),
        "closure_rate": _rate(result.closure_rate, result.closed, result.received, f.with_metric("closed")),
        "on_time_sign_for_rate": _rate(
            result.on_time_sign_for_rate, result.signed_on_time, result.dispatched, f.with_metric("signed_on_time")
        ),
        "on_time_closing_rate": _rate(
            result.on_time_closing_rate, result.closed_on_time, result.closed, f.with_metric("closed_on_time")
        ),
        "resolution_rate": _rate(result.resolution_rate, result.resolved, result.evaluated, f.with_metric("resolved")),
        "satisfaction_rate": _rate(
            result.satisfaction_rate, result.satisfied, result.evaluated, f.with_metric("satisfied")
        ),
    }


def _channels(user: Any, node: Area, year_start: dt.date, today: dt.date) -> list[dict[str, Any]]:
    grouped = m.case_metrics_grouped(user, start=year_start, end=today, group_by="channel", area_code=node.code)
    labels = dict(Channel.choices)
    out: list[dict[str, Any]] = []
    for g in grouped:
        f = DrillFilter("received", year_start, today, node.code, channel=str(g.key))
        out.append(
            {
                "key": str(g.key),
                "label": str(labels.get(str(g.key), g.label)),
                "received": g.received,
                "closed": g.closed,
                "url": f.url(),
            }
        )
    out.sort(key=lambda c: (-c["received"], c["key"]))
    return out


def _categories(user: Any, node: Area, year_start: dt.date, today: dt.date) -> list[dict[str, Any]]:
    rows = m.case_metrics_by_category(user, start=year_start, end=today, area_code=node.code)
    return [
        {
            "key": b.key,
            "label": b.label,
            "received": b.received,
            "closed": b.closed,
            "url": DrillFilter("received", year_start, today, node.code, category_code=b.key).url(),
        }
        for b in rows
    ]


def _weeks(user: Any, node: Area, today: dt.date) -> list[dict[str, Any]]:
    first = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=TREND_WEEKS - 1)
    found = {b.key: b for b in m.case_metrics_by_week(user, start=first, end=today, area_code=node.code)}
    out = []
    for i in range(TREND_WEEKS):
        monday = first + dt.timedelta(weeks=i)
        b = found.get(monday.isoformat())
        out.append(
            {
                "key": monday.isoformat(),
                "label": f"{monday:%m-%d}",
                "received": b.received if b else 0,
                "closed": b.closed if b else 0,
                "url": DrillFilter("received", monday, min(monday + dt.timedelta(days=6), today), node.code).url(),
            }
        )
    return out


def _overdue(user: Any, node: Area) -> dict[str, Any]:
    f = DrillFilter("overdue", area_code=node.code)
    qs = visible_cases(user).filter(NOW_METRICS["overdue"][1], code_range_q("area_code", node.code))
    now = timezone.now()
    rows = list(
        qs.select_related("category", "grid", "current_department", "current_unit", "current_handler").order_by(
            "handle_due", "id"
        )[:OVERDUE_ROWS]
    )
    items = []
    for case in rows:
        due = case.handle_due or case.close_due or case.acknowledge_due
        holder = case.current_department or case.current_unit or case.current_handler
        items.append(
            {
                "id": case.pk,
                "tracking_code": case.tracking_code,
                "title": case.title,
                "category": case.category.name,
                "place": case.grid.name if case.grid else "",
                "holder": str(getattr(holder, "name", None) or holder or ""),
                "due": due.astimezone(district_zone()).strftime("%m-%d %H:%M") if due else "",
                "overdue_hours": round((now - due).total_seconds() / 3600, 1) if due and due < now else None,
                "url": reverse("cases:detail", args=[case.pk]),
            }
        )
    total = qs.count() if len(rows) == OVERDUE_ROWS else len(rows)
    return {"total": _count(total, f), "items": items}


def _heat(user: Any, node: Area) -> dict[str, Any]:
    counts = (
        visible_cases(user)
        .filter(NOW_METRICS["open"][1], code_range_q("area_code", node.code))
        .values("area_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    level = "" if node.level == AreaLevel.GRID else AreaLevel.GRID.value
    geojson = reverse("territory:geojson", args=[node.code]) + (f"?level={level}" if level else "")
    rows = list(counts)
    grid_lengths = LEVEL_CODE_LENGTHS[AreaLevel.GRID]
    # Cases located only to a street or the district are in the total, not on the grid map.
    items = [
        {"code": r["area_code"], "open": r["n"], "url": DrillFilter("open", area_code=r["area_code"]).url()}
        for r in rows
        if len(r["area_code"]) in grid_lengths
    ]
    items.sort(key=lambda i: i["code"])
    open_total = sum(r["n"] for r in rows)
    return {
        "geojson_url": geojson,
        "map_name": f"screen-{node.code}",
        "items": items,
        "max": max((i["open"] for i in items), default=0),
        "open": _count(open_total, DrillFilter("open", area_code=node.code)),
        "drill_base": reverse("dashboards:drilldown") + "?metric=open&area=",
    }


def _patrols(user: Any, node: Area, today: dt.date) -> dict[str, Any] | None:
    if not has_capability(user, Capability.VIEW_PATROLS):
        return None
    from civicgrid.patrols.selectors import compliance_report

    report = compliance_report(user, node.code, period="today", on=today)
    met = sum(1 for r in report.rows if r.days and r.days[-1].met)
    try:
        url = reverse("patrols:compliance", args=[node.code]) + "?period=today"
    except NoReverseMatch:  # pragma: no cover - patrols always installed
        url = ""
    pending = []
    for miss in report.missed_today[:PATROL_ROWS]:
        day = miss.days[-1]
        pending.append(
            {
                "name": miss.worker.name,
                "place": miss.worker.bound_name,
                "duty": miss.worker.duty_label,
                "counted": day.counted,
                "required": day.required,
            }
        )
    return {
        "workers": _figure(report.workers, url),
        "met": _figure(met, url),
        "not_met": _figure(report.workers - met, url),
        "patrols": _figure(report.patrols, url),
        "distance_km": report.distance_km,
        "pending": pending,
    }


def _indicators(user: Any, node: Area, year: int) -> list[dict[str, Any]] | None:
    """The register's indicators of the node and below (a street's screen shows the street's
    own indicators, not the district's), with their progress for ``year``."""
    if not has_capability(user, Capability.VIEW_INDICATORS):
        return None
    from civicgrid.indicators.selectors import indicators_for_dashboard

    out = []
    for p in indicators_for_dashboard(user, year):
        if not p.indicator.area_code.startswith(node.code):
            continue
        data = p.as_dict()
        try:
            url = reverse("indicators:detail", args=[p.indicator.pk])
        except NoReverseMatch:
            url = ""
        out.append(
            {
                "code": data["code"],
                "name": data["name"],
                "unit": str(p.indicator.get_unit_display()),
                "value": data["value"],
                "target": data["target"],
                "percent": data["percent"],
                "expected_percent": data["expected_percent"],
                "on_track": data["on_track"],
                "period": data["latest_period_label"] or "",
                "url": url,
            }
        )
    return out


def district_zone() -> ZoneInfo:
    """The district's time zone (settings.TIME_ZONE, Asia/Shanghai): the screen's clock."""
    return ZoneInfo(str(settings.TIME_ZONE))


def district_now() -> dt.datetime:
    return timezone.now().astimezone(district_zone())


def screen_data(user: Any, area_code: str | None = None, *, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the wall screen shows for ``area_code`` (default: the user's own node)."""
    node = screen_node(user, area_code)
    today = today or district_now().date()
    year_start = dt.date(today.year, 1, 1)
    day_result = m.case_metrics(user, start=today, end=today, area_code=node.code)
    year_result = m.case_metrics(user, start=year_start, end=today, area_code=node.code)
    return {
        "area": {"code": node.code, "name": node.name, "level": node.level},
        # The district's clock, whatever zone the request or the viewer's browser is in: the
        # page formats both this and its big clock in ``time_zone`` (Intl.DateTimeFormat).
        "generated_at": district_now().isoformat(timespec="seconds"),
        "time_zone": str(settings.TIME_ZONE),
        "refresh_seconds": REFRESH_SECONDS,
        "day": today.isoformat(),
        "year": today.year,
        "today": _period_block(day_result, DrillFilter("received", today, today, node.code)),
        "this_year": _period_block(year_result, DrillFilter("received", year_start, today, node.code)),
        "channels": _channels(user, node, year_start, today),
        "categories": _categories(user, node, year_start, today),
        "weeks": _weeks(user, node, today),
        "overdue": _overdue(user, node),
        "heat": _heat(user, node),
        "patrols": _patrols(user, node, today),
        "indicators": _indicators(user, node, today.year),
    }
