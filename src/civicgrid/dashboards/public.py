"""The public transparency page (公开透明, issue 5 §5) at ``/open/``: no log-in, no personal data.

What it shows (see docs/transparency.md for the decisions):

- a map of the public cases with every location generalised to the centre of a fixed 200 m
  lattice cell (never the reported point, never an address), over the communities coloured by
  their closure rate;
- a paginated list of the public cases: category, grid (and community), a public status
  (处理中 / 已办结), the received and closed dates, and the title after a personal-data scrub
  (``cases.public.scrub_public_text``): no description, no reporter, no photo, no tracking code;
- closure rates per community for a chosen period, counted by ``cases.metrics`` (the same
  definition as every staff figure) over the public categories only;
- the progress of the public commitments: the indicators register's ``is_public`` indicators.

Which cases are public: a case whose category is public (``Category.is_public``) and, for a
sub-category, whose top-level class is public too (so 矛盾纠纷 and 治安隐患, seeded non-public, stay
out whatever their sub-categories say), not hidden by moderation (``Case.is_hidden``), and past
the operator's screening (registered or later: not 已受理, not 不予受理, not merged). The rates count
the public categories' cases as ``case_metrics`` does (hidden ones included: hiding a case's
content must not change a community's closure rate).

Everything is read without a user: the metrics through ``PublicReader`` (a read-only,
installation-wide reader bound to the root node, used only here) and the rest by explicit public
filters. The data is cached for ``OPEN_DATA_CACHE_SECONDS`` (60) per parameters and language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department
from civicgrid.accounts.scope import code_range_q
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import OPEN_STATUSES, CaseStatus
from civicgrid.cases.models import Case, Category
from civicgrid.cases.public import PUBLIC_CELL_M, public_category_q, scrub_public_text
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.lattice import Lattice, reference_latitude
from civicgrid.territory.models import Area
from civicgrid.territory.selectors import map_feature_collection

PAGE_SIZE = 30
CLOSED_STATUSES = (CaseStatus.CLOSED, CaseStatus.EVALUATED)
# Not on the public list and map: not screened yet, not a case, or a duplicate.
UNLISTED_STATUSES = (CaseStatus.RECEIVED, CaseStatus.NOT_ACCEPTED, CaseStatus.MERGED)

T = TypeVar("T")


def cache_seconds() -> int:
    return int(getattr(settings, "OPEN_DATA_CACHE_SECONDS", 60))


def cached(key: str, compute: Callable[[], T]) -> T:
    """``compute()`` cached for ``cache_seconds()`` under ``key`` (per language)."""
    seconds = cache_seconds()
    if seconds <= 0:
        return compute()
    full = f"civicgrid:open:{get_language() or ''}:{key}"
    found = cache.get(full)
    if found is not None:
        return found  # type: ignore[no-any-return]
    value = compute()
    cache.set(full, value, seconds)
    return value


# --- the reader of the metrics --------------------------------------------------------------


class PublicReader:
    """A read-only, installation-wide reader for the public aggregates (``cases.metrics``
    needs a reader). Bound to a root node: its scope is that root's whole tree. It holds no
    case (pk 0) and no department, and is never a request's user."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    pk = 0
    id = 0
    role = Role.LEADER  # cases.view, read only
    username = "civicgrid-public"

    def __init__(self, root: Area) -> None:
        self.area = root
        self.area_id = root.pk
        self.departments = Department.objects.none()
        self._case_department_ids: set[int] = set()

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


def roots() -> list[Area]:
    return list(Area.objects.filter(parent__isnull=True).only("id", "code", "name", "level").order_by("code"))


# --- which categories are public ---------------------------------------------------------------


def public_categories() -> list[Category]:
    """The public categories (top-level first, in catalogue order)."""
    return list(Category.objects.filter(public_category_q("")).select_related("parent").order_by("sort_order", "code"))


def category_choices() -> list[tuple[str, str]]:
    """Top-level public classes and their public sub-categories, for the filter."""
    cats = public_categories()
    tops = [c for c in cats if c.parent_id is None]
    out: list[tuple[str, str]] = []
    for top in tops:
        out.append((top.code, top.name))
        out.extend((c.code, f"· {c.name}") for c in cats if c.parent_id == top.pk)
    return out


def _excluded_codes(category: Category | None) -> list[str]:
    """Disjoint category codes whose cases are to be taken out of a ``case_metrics`` count (over
    all categories, or over ``category`` and its children) to leave the public ones: the
    non-public top-level classes (their children with them) and the non-public children of
    public classes."""
    if category is not None:
        if category.parent_id is not None:
            return []
        return list(Category.objects.filter(parent=category, is_public=False).values_list("code", flat=True))
    tops = Category.objects.filter(parent__isnull=True, is_public=False).values_list("code", flat=True)
    children = Category.objects.filter(parent__isnull=False, parent__is_public=True, is_public=False).values_list(
        "code", flat=True
    )
    return sorted([*tops, *children])


def parse_category(value: str | None) -> Category | None:
    code = (value or "").strip()
    if not code:
        return None
    found = Category.objects.filter(public_category_q(""), code=code).select_related("parent").first()
    if found is None:
        raise ValidationError({"category": _("案件类别不存在或未公开")})
    return found


def parse_community(value: str | None) -> Area | None:
    code = (value or "").strip()
    if not code:
        return None
    found = Area.objects.filter(code=code, level=AreaLevel.COMMUNITY).only("id", "code", "name", "level").first()
    if found is None:
        raise ValidationError({"community": _("社区不存在")})
    return found


def parse_status(value: str | None) -> str:
    status = (value or "").strip()
    if status not in ("", "open", "closed"):
        raise ValidationError({"status": _("状态只能是处理中或已办结")})
    return status


# --- periods -------------------------------------------------------------------------------------

PERIODS: dict[str, str] = {
    "30d": gettext_noop("近30天"),
    "month": gettext_noop("本月"),
    "quarter": gettext_noop("本季度"),
    "year": gettext_noop("本年"),
    "last_year": gettext_noop("上一年"),
}
DEFAULT_PERIOD = "year"


@dataclass(frozen=True)
class PublicPeriod:
    key: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self) -> str:
        return _(PERIODS[self.key])

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        first = timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))
        after = timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))
        return first, after


def parse_period(value: str | None, *, today: dt.date | None = None) -> PublicPeriod:
    key = (value or "").strip() or DEFAULT_PERIOD
    if key not in PERIODS:
        raise ValidationError({"period": _("统计周期只能是近30天、本月、本季度、本年或上一年")})
    today = today or timezone.localdate()
    if key == "30d":
        return PublicPeriod(key, today - dt.timedelta(days=29), today)
    if key == "month":
        return PublicPeriod(key, today.replace(day=1), today)
    if key == "quarter":
        return PublicPeriod(key, dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today)
    if key == "year":
        return PublicPeriod(key, dt.date(today.year, 1, 1), today)
    return PublicPeriod(key, dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))


@dataclass(frozen=True)
class PublicFilter:
    period: PublicPeriod
    category: Category | None = None
    community: Area | None = None
    status: str = ""

    def key(self) -> str:
        return "|".join(
            [
                self.period.key,
                self.period.end.isoformat(),
                self.category.code if self.category else "",
                self.community.code if self.community else "",
                self.status,
            ]
        )

    def query(self, **override: str) -> str:
        params = {
            "period": self.period.key,
            "category": self.category.code if self.category else "",
            "community": self.community.code if self.community else "",
            "status": self.status,
            **override,
        }
        return "&".join(f"{k}={v}" for k, v in params.items() if v)


def parse_filter(params: Any, *, today: dt.date | None = None) -> PublicFilter:
    """A PublicFilter from query parameters; ValidationError (a 400) when one is bad."""
    return PublicFilter(
        period=parse_period(params.get("period"), today=today),
        category=parse_category(params.get("category")),
        community=parse_community(params.get("community")),
        status=parse_status(params.get("status")),
    )


# --- the public cases --------------------------------------------------------------------------


def public_cases(f: PublicFilter) -> QuerySet[Case]:
    """The cases the public page may show (list and map): public category, not hidden,
    screened, received in the period; narrowed by category, community and status."""
    start, end = f.period.bounds
    qs = Case.objects.filter(public_category_q(), is_hidden=False, received_at__gte=start, received_at__lt=end)
    qs = qs.exclude(status__in=UNLISTED_STATUSES)
    if f.category is not None:
        qs = qs.filter(Q(category=f.category) | Q(category__parent=f.category))
    if f.community is not None:
        qs = qs.filter(code_range_q("area_code", f.community.code))
    if f.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif f.status == "closed":
        qs = qs.filter(status__in=CLOSED_STATUSES)
    return qs


def _public_status(status: str) -> tuple[str, str]:
    if status in CLOSED_STATUSES:
        return "closed", _("已办结")
    return "open", _("处理中")


def _day(value: dt.datetime | None) -> str:
    return timezone.localtime(value).date().isoformat() if value else ""


def case_page(f: PublicFilter, page: Any) -> dict[str, Any]:
    """One page of the public list (newest first), as plain rows (cached)."""
    try:
        number = max(int(page or 1), 1)
    except (TypeError, ValueError):
        number = 1

    def compute() -> dict[str, Any]:
        qs = (
            public_cases(f)
            .order_by("-received_at", "-id")
            .values(
                "title",
                "reporter_name",
                "status",
                "received_at",
                "closed_at",
                "category__name",
                "category__parent__name",
                "grid__name",
                "grid__parent__name",
            )
        )
        pg = Paginator(qs, PAGE_SIZE).get_page(number)
        rows = []
        for r in pg.object_list:
            key, label = _public_status(r["status"])
            rows.append(
                {
                    "title": scrub_public_text(r["title"], r["reporter_name"]),
                    "category": r["category__parent__name"] or r["category__name"],
                    "subcategory": r["category__name"] if r["category__parent__name"] else "",
                    "grid": r["grid__name"] or "",
                    "community": r["grid__parent__name"] or "",
                    "status": key,
                    "status_label": label,
                    "received": _day(r["received_at"]),
                    "closed": _day(r["closed_at"]) if key == "closed" else "",
                }
            )
        return {
            "rows": rows,
            "page": pg.number,
            "pages": pg.paginator.num_pages,
            "count": pg.paginator.count,
            "page_size": PAGE_SIZE,
            "has_previous": pg.has_previous(),
            "has_next": pg.has_next(),
        }

    return cached(f"cases:{f.key()}:{number}", compute)


def public_map(f: PublicFilter) -> dict[str, Any]:
    """The public cases per 200 m lattice cell (centre of the cell, count, closed count)."""

    def compute() -> dict[str, Any]:
        cells: list[dict[str, Any]] = []
        for root in roots():
            lattice = Lattice(PUBLIC_CELL_M, reference_latitude(root))
            qs = public_cases(f).filter(code_range_q("area_code", root.code))
            cells.extend(lattice.counts(qs, closed=Count("id", filter=Q(status__in=CLOSED_STATUSES))))
        return {
            "cell_m": PUBLIC_CELL_M,
            "cells": cells,
            "max": max((c["count"] for c in cells), default=0),
            "total": sum(c["count"] for c in cells),
        }

    return cached(f"map:{f.key()}", compute)


def public_geojson() -> dict[str, Any]:
    """The communities' boundaries (code and name only) for the public map."""

    def compute() -> dict[str, Any]:
        features: list[dict[str, Any]] = []
        for root in roots():
            collection = map_feature_collection(PublicReader(root), root.code, level=AreaLevel.COMMUNITY.value)
            for feat in collection["features"]:
                props = feat["properties"]
                features.append(
                    {
                        "type": "Feature",
                        "id": props["code"],
                        "properties": {"code": props["code"], "name": props["name"]},
                        "geometry": feat["geometry"],
                    }
                )
        return {"type": "FeatureCollection", "features": features}

    return cached("geojson", compute)


# --- closure rates and commitments ------------------------------------------------------------


def _grouped_counts(reader: PublicReader, period: PublicPeriod, category_code: str | None) -> dict[str, dict[str, int]]:
    rows = m.case_metrics_grouped(
        reader,
        start=period.start,
        end=period.end,
        group_by="area",
        level=AreaLevel.COMMUNITY,
        category_code=category_code,
    )
    return {r.key: {"received": r.received, "closed": r.closed} for r in rows}


def closure_by_community(f: PublicFilter) -> dict[str, Any]:
    """Received, closed and the closure rate per community for the period, over the public
    categories (or one of them): ``case_metrics_grouped`` over every category minus the same
    over each non-public class (the counts are additive, so the difference is exactly the
    public categories' count)."""

    def compute() -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        for root in roots():
            reader = PublicReader(root)
            counts = _grouped_counts(reader, f.period, f.category.code if f.category else None)
            for code in _excluded_codes(f.category):
                for key, c in _grouped_counts(reader, f.period, code).items():
                    base = counts.setdefault(key, {"received": 0, "closed": 0})
                    base["received"] -= c["received"]
                    base["closed"] -= c["closed"]
            communities = (
                Area.objects.filter(code_range_q("code", root.code), level=AreaLevel.COMMUNITY)
                .order_by("code")
                .values_list("code", "name", "parent__name")
            )
            for code, name, street in communities:
                c = counts.get(code, {"received": 0, "closed": 0})
                rows.append(
                    {
                        "code": code,
                        "name": name,
                        "street": street or "",
                        "received": c["received"],
                        "closed": c["closed"],
                        "closure_rate": m.rate(c["closed"], c["received"]),
                        "percent": _percent(m.rate(c["closed"], c["received"])),
                    }
                )
            other = counts.get("", {"received": 0, "closed": 0})
            if other["received"]:
                rows.append(
                    {
                        "code": "",
                        "name": _("未定位到社区"),
                        "street": "",
                        "received": other["received"],
                        "closed": other["closed"],
                        "closure_rate": m.rate(other["closed"], other["received"]),
                        "percent": _percent(m.rate(other["closed"], other["received"])),
                    }
                )
        received = sum(r["received"] for r in rows)
        closed = sum(r["closed"] for r in rows)
        return {
            "period": f.period.key,
            "period_label": f.period.label,
            "start": f.period.start.isoformat(),
            "end": f.period.end.isoformat(),
            "category": f.category.code if f.category else "",
            "rows": rows,
            "received": received,
            "closed": closed,
            "closure_rate": m.rate(closed, received),
            "percent": _percent(m.rate(closed, received)),
        }

    return cached(f"closure:{f.period.key}:{f.period.end.isoformat()}:{f.category.code if f.category else ''}", compute)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else round(number, 2)


def commitments(year: int) -> list[dict[str, Any]]:
    """The public indicators (公开承诺) with their progress for ``year``."""
    from civicgrid.indicators.selectors import public_indicators_for_dashboard

    def compute() -> list[dict[str, Any]]:
        out = []
        for p in public_indicators_for_dashboard(year):
            ind = p.indicator
            out.append(
                {
                    "code": ind.code,
                    "name": ind.name,
                    "department": ind.department.name,
                    "unit": str(ind.get_unit_display()),
                    "target": _num(p.target),
                    "value": _num(p.value),
                    "percent": _num(p.percent),
                    "bar": _num(p.bar_percent),
                    "expected_percent": _num(p.expected_percent),
                    "on_track": p.on_track,
                    "period": p.latest_period.label if p.latest_period else "",
                }
            )
        return out

    return cached(f"commitments:{year}", compute)


# --- the page -------------------------------------------------------------------------------------


def open_page(request: HttpRequest) -> HttpResponse:
    """/open/: anonymous; bad parameters are a 400 with the reason."""
    try:
        f = parse_filter(request.GET)
    except ValidationError as exc:
        context: dict[str, Any] = {"error": "; ".join(exc.messages), "periods": _period_choices()}
        return render(request, "dashboards/public.html", context, status=400)
    today = timezone.localdate()
    cases = case_page(f, request.GET.get("page"))
    context = {
        "filter": f,
        "periods": _period_choices(),
        "categories": category_choices(),
        "communities": _community_choices(),
        "closure": closure_by_community(f),
        "commitments": commitments(today.year),
        "year": today.year,
        "cases": cases,
        # the list's pager (includes/pager.html) needs a Page: one over the count alone, as the
        # rows are cached plain dicts
        "pager": Paginator(range(cases["count"]), PAGE_SIZE).get_page(cases["page"]),
        "query": f.query(),
        "map_url": reverse("api:open_map") + "?" + f.query(),
        "geojson_url": reverse("api:open_geojson"),
        "cell_m": PUBLIC_CELL_M,
    }
    return render(request, "dashboards/public.html", context)


def _period_choices() -> list[tuple[str, str]]:
    return [(k, _(label)) for k, label in PERIODS.items()]


def _community_choices() -> list[tuple[str, str]]:
    def compute() -> list[tuple[str, str]]:
        return list(Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code").values_list("code", "name"))

    return cached("communities", compute)


app_name = "open"
urlpatterns = [path("", open_page, name="index")]
