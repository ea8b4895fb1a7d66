"""Template context for every page: the user's capabilities and the top bar's grouped menus.

The menus are data (``NAV_GROUPS``): each link names the capabilities any one of which shows
it, exactly the checks the bar made when it was a flat list of links. The page's own section
(the group, and the link, whose address is the longest prefix of the request's path) is
marked so the bar can highlight it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.permissions import Capability, capabilities


@dataclass(frozen=True)
class NavLink:
    url_name: str
    label: Any  # a lazy translation
    any_of: tuple[str, ...]  # shown when the user has at least one of these capabilities
    dom_id: str


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: Any
    links: tuple[NavLink, ...]


_VIEW = (Capability.CASES_VIEW.value,)
_HANDLE_OR_PATROL = (Capability.CASES_HANDLE.value, Capability.PATROL.value)

NAV_GROUPS: tuple[NavGroup, ...] = (
    NavGroup(
        "cases",
        _("案件"),
        (
            NavLink("cases:inbox", _("案件办理"), _VIEW, "nav-cases"),
            NavLink("cases:console", _("热线受理"), (Capability.CASES_INTAKE.value,), "nav-console"),
            NavLink("cases:metrics", _("办结统计"), _VIEW, "nav-metrics"),
        ),
    ),
    NavGroup(
        "grid",
        _("网格与巡查"),
        (
            NavLink("territory:browser", _("辖区网格"), (Capability.VIEW_TERRITORY.value,), "nav-territory"),
            NavLink("patrols:phone", _("巡查"), (Capability.PATROL.value,), "nav-patrols"),
            NavLink(
                "patrols:compliance_home", _("巡查考核"), (Capability.VIEW_PATROLS.value,), "nav-patrol-compliance"
            ),
            NavLink("mobile:tasks", _("网格通"), _HANDLE_OR_PATROL, "nav-mobile"),
        ),
    ),
    NavGroup(
        "command",
        _("指挥中心"),
        (
            NavLink("dashboards:home", _("指挥大屏"), _VIEW, "nav-screen"),
            NavLink("dashboards:gridmap_home", _("网格地图"), _VIEW, "nav-gridmap"),
            NavLink("cameras:registry", _("视频探头"), _VIEW, "nav-cameras"),
            NavLink("dashboards:rankings", _("考核排名"), _VIEW, "nav-rankings"),
            NavLink("reports:list", _("统计报表"), _VIEW, "nav-reports"),
        ),
    ),
    NavGroup(
        "data",
        _("基础数据"),
        (
            NavLink("people:search", _("实有人口"), (Capability.VIEW_PEOPLE.value,), "nav-people"),
            NavLink("indicators:register", _("区级指标"), (Capability.VIEW_INDICATORS.value,), "nav-indicators"),
        ),
    ),
    NavGroup(
        "system",
        _("系统"),
        (
            NavLink("audit:events", _("审计日志"), (Capability.VIEW_AUDIT.value,), "nav-audit"),
            NavLink("admin:index", _("系统管理"), (Capability.USE_ADMIN.value,), "nav-admin"),
        ),
    ),
)


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:  # an app left out of a trimmed-down URLconf
        return None


def nav_menus(caps: frozenset[str], path: str) -> list[dict[str, Any]]:
    """The groups the user sees (none without a visible link), each with its visible links.

    The current section is found among ALL links, seen or not, so a page reached some other
    way (a supervisor's patrol review under /patrols/) still lights its group."""
    urls = {link.url_name: _url(link.url_name) for group in NAV_GROUPS for link in group.links}
    current: NavLink | None = None
    best = 0
    for group in NAV_GROUPS:
        for link in group.links:
            url = urls[link.url_name]
            if url and url != "/" and path.startswith(url) and len(url) > best:
                current, best = link, len(url)
    menus: list[dict[str, Any]] = []
    for group in NAV_GROUPS:
        links = [
            {"id": link.dom_id, "label": link.label, "url": urls[link.url_name], "current": link is current}
            for link in group.links
            if urls[link.url_name] and any(cap in caps for cap in link.any_of)
        ]
        if links:
            menus.append({"key": group.key, "label": group.label, "links": links, "current": current in group.links})
    return menus


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    caps = capabilities(user)
    path = getattr(request, "path", "")
    # Lazy: partial templates (htmx swaps, JSON-ish pages) never pay for the reverse() calls.
    return {"capabilities": caps, "nav_menus": SimpleLazyObject(lambda: nav_menus(caps, path))}
