"""Patrol reads. A worker reads their own patrols; supervisors read through scope_queryset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Max, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.scope import code_range_q, scope_queryset
from civicgrid.common.errors import NotFound
from civicgrid.patrols.enums import PatrolStatus, ReviewStatus
from civicgrid.patrols.models import Patrol, TrackPoint
from civicgrid.patrols.policy import EffectivePolicy, PolicyResolver, Window, policy_for
from civicgrid.territory.models import Area, Duty, Responsibility


def today() -> dt.date:
    return timezone.localdate()


def patrols_mine(worker: Any, day: dt.date | None = None) -> QuerySet[Patrol]:
    qs = scope_queryset(worker, Patrol.objects.filter(worker=worker))
    if day is not None:
        qs = qs.filter(day=day)
    return qs.order_by("-started_at")


def patrols_visible(user: Any) -> QuerySet[Patrol]:
    return scope_queryset(user, Patrol.objects.select_related("worker"))


def active_patrol(worker: Any) -> Patrol | None:
    return Patrol.objects.filter(worker=worker, status=PatrolStatus.ACTIVE).first()


@dataclass(frozen=True)
class WindowStatus:
    label: str
    met: bool


@dataclass(frozen=True)
class DutyStatus:
    day: dt.date
    required: int
    counted: int
    patrols: int
    windows: list[WindowStatus]
    met: bool
    coverage_threshold: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "required": self.required,
            "counted": self.counted,
            "patrols": self.patrols,
            "windows": [{"label": w.label, "met": w.met} for w in self.windows],
            "met": self.met,
            "coverage_threshold": self.coverage_threshold,
        }


def duty_status(worker: Any, day: dt.date | None = None) -> DutyStatus:
    """How the worker stands against their duty on ``day``: counted patrols (coverage met,
    not flagged) against the required number, and each time window (met when a counted
    patrol started inside it, local time)."""
    day = day or today()
    area_code = worker.area.code if worker.area_id else ""
    policy = policy_for(area_code)
    rows = list(Patrol.objects.filter(worker=worker, day=day).values_list("started_at", "counts_toward_duty"))
    counted_starts = [timezone.localtime(s).time() for s, counts in rows if counts]
    windows = [WindowStatus(w.label, any(w.contains(t) for t in counted_starts)) for w in policy.windows]
    counted = len(counted_starts)
    return DutyStatus(
        day=day,
        required=policy.times_per_day,
        counted=counted,
        patrols=len(rows),
        windows=windows,
        met=counted >= policy.times_per_day and all(w.met for w in windows),
        coverage_threshold=policy.coverage_threshold,
    )


# --- compliance (巡查考核) ------------------------------------------------------------------------
#
# For a territory node and a period: every worker holding a duty (territory.Responsibility) under
# the node, every day of the period, the patrols done, counted, distance, coverage and whether the
# duty was met - from a handful of set-based queries (the node, its workers, the policies in
# play, one GROUP BY (worker, day) over the patrols, the children), never one per worker.

PERIOD_TODAY = "today"
PERIOD_WEEK = "week"
PERIOD_MONTH = "month"
PERIODS = (PERIOD_TODAY, PERIOD_WEEK, PERIOD_MONTH)
MAX_MONTHS_BACK = 24


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date  # inclusive
    today: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        if self.kind == PERIOD_TODAY:
            return _("今日 (%(d)s)") % {"d": f"{self.start:%Y-%m-%d}"}
        if self.kind == PERIOD_WEEK:
            return _("本周 (%(a)s 至 %(b)s)") % {"a": f"{self.start:%m-%d}", "b": f"{self.end:%m-%d}"}
        return _("%(y)d年%(m)d月") % {"y": self.start.year, "m": self.start.month}


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def compliance_period(kind: str | None = None, *, month: str | None = None, on: dt.date | None = None) -> Period:
    """today / week (Monday to Sunday of this week) / month ("YYYY-MM", default this month).
    Bad input is a ValidationError with a Chinese message."""
    now = on or today()
    kind = kind or PERIOD_TODAY
    if kind not in PERIODS:
        raise ValidationError(_("统计周期应为 今日、本周 或 月份"), code="period")
    if kind == PERIOD_TODAY:
        return Period(kind, now, now, now)
    if kind == PERIOD_WEEK:
        start, end = week_of(now)
        return Period(kind, start, end, now)
    if month:
        try:
            first = dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError as exc:
            raise ValidationError(_("月份格式应为 YYYY-MM"), code="month") from exc
    else:
        first = now.replace(day=1)
    oldest = (now.replace(day=1) - dt.timedelta(days=31 * MAX_MONTHS_BACK)).replace(day=1)
    if first > now or first < oldest:
        raise ValidationError(
            _("只能查询最近 %(n)d 个月内的月份, 且不能晚于本月") % {"n": MAX_MONTHS_BACK}, code="month"
        )
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return Period(kind, first, last, now)


@dataclass
class Worker:
    id: int
    username: str
    name: str
    role: str
    bound_code: str
    bound_name: str
    duties: list[str]
    targets: int
    codes: set[str]  # the area codes of the worker's duties

    @property
    def duty_label(self) -> str:
        return "、".join(str(Duty(d).label) for d in self.duties)


class DayFigures(NamedTuple):
    """One worker's day (a NamedTuple: a month of a district is ~10 000 of them)."""

    day: dt.date
    patrols: int
    counted: int
    required: int
    distance_m: float
    mean_coverage: float | None
    best_coverage: float | None
    pending_review: int
    windows: tuple[WindowStatus, ...]
    met: bool
    state: str  # "met", "missed", "open" (today, not met yet), "future"

    @property
    def distance_km(self) -> float:
        return round(self.distance_m / 1000, 2)


@dataclass
class WorkerCompliance:
    worker: Worker
    policy: EffectivePolicy
    days: list[DayFigures]

    @cached_property
    def patrols(self) -> int:
        return sum(d.patrols for d in self.days)

    @cached_property
    def counted(self) -> int:
        return sum(d.counted for d in self.days)

    @cached_property
    def distance_km(self) -> float:
        return round(sum(d.distance_m for d in self.days) / 1000, 2)

    @cached_property
    def days_met(self) -> int:
        return sum(1 for d in self.days if d.met)

    @cached_property
    def days_missed(self) -> int:
        return sum(1 for d in self.days if d.state == "missed")

    @property
    def days_due(self) -> int:
        """Days assessed: every past day, and today once met (today is not over yet)."""
        return self.days_met + self.days_missed

    @property
    def met_rate(self) -> float | None:
        return round(self.days_met / self.days_due, 4) if self.days_due else None


@dataclass(frozen=True)
class Miss:
    worker: Worker
    days: list[DayFigures]  # the missed (or, for today, not yet met) days

    @property
    def count(self) -> int:
        return len(self.days)


@dataclass(frozen=True)
class ChildSummary:
    code: str
    name: str
    level: str
    workers: int
    days_met: int
    days_due: int

    @property
    def met_rate(self) -> float | None:
        return round(self.days_met / self.days_due, 4) if self.days_due else None


@dataclass
class ComplianceReport:
    node: Area
    ancestors: list[Area]
    period: Period
    rows: list[WorkerCompliance]
    missed_today: list[Miss]
    missed_week: list[Miss]
    children: list[ChildSummary]

    @property
    def workers(self) -> int:
        return len(self.rows)

    @cached_property
    def days_met(self) -> int:
        return sum(r.days_met for r in self.rows)

    @cached_property
    def days_due(self) -> int:
        return sum(r.days_due for r in self.rows)

    @property
    def met_rate(self) -> float | None:
        return round(self.days_met / self.days_due, 4) if self.days_due else None

    @cached_property
    def patrols(self) -> int:
        return sum(r.patrols for r in self.rows)

    @cached_property
    def distance_km(self) -> float:
        return round(sum(r.distance_km for r in self.rows), 2)


def compliance_node(user: Any, code: str) -> Area:
    """The node (in the user's scope, else NotFound), without its geometry."""
    node = (
        scope_queryset(user, Area.objects.all(), "code")
        .filter(code=code)
        .only("code", "name", "level", "parent_id")
        .first()
    )
    if node is None:
        raise NotFound(_("辖区节点不存在或不在您的辖区范围内"))
    return node


def compliance_workers(user: Any, node_code: str) -> list[Worker]:
    """The holders of a duty (grid, area or road chief) under the node: one query."""
    rows = (
        scope_queryset(user, Responsibility.objects.filter(code_range_q("area_code", node_code)))
        .filter(user__is_active=True)
        .order_by("user__area__code", "user__username", "duty")
        .values_list(
            "user_id",
            "duty",
            "area_code",
            "user__username",
            "user__display_name",
            "user__role",
            "user__area__code",
            "user__area__name",
        )
    )
    workers: dict[int, Worker] = {}
    for uid, duty, code, username, name, role, bound_code, bound_name in rows:
        w = workers.get(uid)
        if w is None:
            w = Worker(uid, username, name or username, role, bound_code or "", bound_name or "", [], 0, set())
            workers[uid] = w
        if duty not in w.duties:
            w.duties.append(duty)
        w.targets += 1
        w.codes.add(code)
    return list(workers.values())


def _window_key(w: Window) -> tuple[dt.time, dt.time]:
    return (w.start or dt.time.min, w.end or dt.time.max)


def _window_q(w: Window) -> Q:
    q = Q(counts_toward_duty=True)
    if w.start is not None:
        q &= Q(start_minute__gte=w.start.hour * 60 + w.start.minute)
    if w.end is not None:
        q &= Q(start_minute__lt=w.end.hour * 60 + w.end.minute)
    return q


def _day_aggregates(
    user: Any, node_code: str, start: dt.date, end: dt.date, windows: list[Window]
) -> dict[tuple[int, dt.date], dict[str, Any]]:
    """One GROUP BY (worker, day) over the patrols of the node's workers."""
    workers = scope_queryset(user, Responsibility.objects.filter(code_range_q("area_code", node_code))).values(
        "user_id"
    )
    done = ~Q(status=PatrolStatus.ACTIVE)
    annotations: dict[str, Any] = {
        "n": Count("pk", filter=done),
        "counted": Count("pk", filter=Q(counts_toward_duty=True)),
        "distance": Sum("distance_m", filter=done),
        "cov_avg": Avg("coverage", filter=done),
        "cov_max": Max("coverage", filter=done),
        "pending": Count("pk", filter=Q(review_status=ReviewStatus.PENDING)),
    }
    for i, w in enumerate(windows):
        annotations[f"w{i}"] = Count("pk", filter=_window_q(w))
    rows = (
        scope_queryset(user, Patrol.objects.all())
        .filter(day__gte=start, day__lte=end, worker_id__in=Subquery(workers))
        .values("worker_id", "day")
        .annotate(**annotations)
        .order_by()
    )
    return {(r["worker_id"], r["day"]): dict(r) for r in rows}


_STATUSES: dict[tuple[tuple[tuple[str, str], ...], tuple[bool, ...]], tuple[WindowStatus, ...]] = {}


def _statuses(windows: tuple[tuple[str, str], ...], met: tuple[bool, ...]) -> tuple[WindowStatus, ...]:
    """The window statuses, shared between days with the same outcome (they are immutable)."""
    key = (windows, met)
    found = _STATUSES.get(key)
    if found is None:
        if len(_STATUSES) > 4096:
            _STATUSES.clear()
        found = _STATUSES[key] = tuple(WindowStatus(label, m) for (label, _k), m in zip(windows, met, strict=True))
    return found


def _figures(
    day: dt.date,
    now: dt.date,
    agg: dict[str, Any] | None,
    required: int,
    windows: tuple[tuple[str, str], ...],
) -> DayFigures:
    """One worker's day. ``windows`` are the policy's (label, aggregate key) pairs."""
    if agg is None:
        met = required <= 0 and not windows
        state = "future" if day > now else "met" if met else "open" if day == now else "missed"
        statuses = _statuses(windows, (False,) * len(windows))
        return DayFigures(day, 0, 0, required, 0.0, None, None, 0, statuses, met and day <= now, state)
    counted = int(agg["counted"])
    window_met = tuple(bool(agg[key]) for _label, key in windows)
    met = counted >= required and all(window_met)
    state = "future" if day > now else "met" if met else "open" if day == now else "missed"
    cov_avg, cov_max = agg["cov_avg"], agg["cov_max"]
    return DayFigures(
        day,
        int(agg["n"]),
        counted,
        required,
        float(agg["distance"] or 0),
        round(float(cov_avg), 4) if cov_avg is not None else None,
        round(float(cov_max), 4) if cov_max is not None else None,
        int(agg["pending"]),
        _statuses(windows, window_met),
        met and day <= now,
        state,
    )


def compliance_report(
    user: Any, code: str, *, period: str | None = None, month: str | None = None, on: dt.date | None = None
) -> ComplianceReport:
    """Everything the compliance page and its Excel export show, computed once."""
    node = compliance_node(user, code)
    span = compliance_period(period, month=month, on=on)
    now = span.today
    workers = compliance_workers(user, node.code)
    resolver = PolicyResolver(node.code)
    windows = sorted(resolver.windows, key=_window_key)
    window_index = {_window_key(w): i for i, w in enumerate(windows)}
    week_start, _week_end = week_of(now)
    # One aggregate covers the period and, when it lies next to it, this week (for the
    # "missed this week" list); otherwise a second one covers the week.
    lo, hi = min(span.start, week_start), max(span.end, now)
    if (hi - lo).days <= 62:
        aggs = _day_aggregates(user, node.code, lo, hi, windows)
        week_aggs = aggs
    else:
        aggs = _day_aggregates(user, node.code, span.start, span.end, windows)
        week_aggs = _day_aggregates(user, node.code, week_start, now, windows)
    period_days = span.days
    week_days = [week_start + dt.timedelta(days=i) for i in range((now - week_start).days + 1)]
    rows: list[WorkerCompliance] = []
    missed_today: list[Miss] = []
    missed_week: list[Miss] = []
    # Each policy's windows as (label, aggregate key), computed once per policy.
    window_keys: dict[EffectivePolicy, tuple[tuple[str, str], ...]] = {}
    for w in workers:
        policy = resolver.for_code(w.bound_code or next(iter(w.codes), node.code))
        keys = window_keys.get(policy)
        if keys is None:
            keys = tuple((win.label, f"w{window_index[_window_key(win)]}") for win in policy.windows)
            window_keys[policy] = keys
        required = policy.times_per_day
        days = [_figures(d, now, aggs.get((w.id, d)), required, keys) for d in period_days]
        rows.append(WorkerCompliance(w, policy, days))
        if week_aggs is aggs and span.start <= week_start and now <= span.end:
            offset = (week_start - span.start).days
            week = days[offset : offset + len(week_days)]
        else:
            week = [_figures(d, now, week_aggs.get((w.id, d)), required, keys) for d in week_days]
        if week and week[-1].state == "open":
            missed_today.append(Miss(w, [week[-1]]))
        past = [f for f in week if f.state == "missed"]
        if past:
            missed_week.append(Miss(w, past))
    missed_week.sort(key=lambda m: (-m.count, m.worker.bound_code, m.worker.username))
    children = _children(node, rows)
    return ComplianceReport(
        node=node,
        ancestors=_ancestors(user, node),
        period=span,
        rows=rows,
        missed_today=missed_today,
        missed_week=missed_week,
        children=children,
    )


def _ancestors(user: Any, node: Area) -> list[Area]:
    codes = [c for c in {node.code[:n] for n in (6, 9, 12)} if len(c) < len(node.code)]
    return list(
        scope_queryset(user, Area.objects.filter(code__in=codes), "code").only("code", "name", "level").order_by("code")
    )


def _children(node: Area, rows: list[WorkerCompliance]) -> list[ChildSummary]:
    children = list(Area.objects.filter(parent_id=node.pk).only("code", "name", "level").order_by("code"))
    out = []
    for child in children:
        mine = [r for r in rows if any(c.startswith(child.code) for c in r.worker.codes)]
        out.append(
            ChildSummary(
                code=child.code,
                name=child.name,
                level=child.level,
                workers=len(mine),
                days_met=sum(r.days_met for r in mine),
                days_due=sum(r.days_due for r in mine),
            )
        )
    return out


# --- review queue and maps ---------------------------------------------------------------------


def patrols_for_review(user: Any, *, status: str = ReviewStatus.PENDING, area_code: str = "") -> QuerySet[Patrol]:
    """Flagged tracks in the user's scope (pending first-in-first-out; decided ones newest first)."""
    qs = scope_queryset(user, Patrol.objects.select_related("worker", "worker__area", "reviewed_by")).filter(
        flagged=True
    )
    if area_code:
        qs = qs.filter(code_range_q("area_code", area_code))
    if status:
        qs = qs.filter(review_status=status)
    qs = qs.exclude(status=PatrolStatus.ACTIVE).defer("simplified_track")
    return qs.order_by("started_at", "pk") if status == ReviewStatus.PENDING else qs.order_by("-started_at", "-pk")


def patrol_visible(user: Any, patrol_id: int) -> Patrol:
    patrol = patrols_visible(user).select_related("worker__area", "reviewed_by").filter(pk=patrol_id).first()
    if patrol is None:
        raise NotFound(_("巡查记录不存在"))
    return patrol


def patrol_track_map(patrol: Patrol) -> dict[str, Any]:
    """What the review map draws: the worker's assigned grids (polygons) and roads (lines), the
    full track (simplified when long) and the patrol's facts."""
    rows = Responsibility.objects.filter(user_id=patrol.worker_id).values_list(
        "area__code",
        "area__name",
        "area__geometry",
        "road_segment__code",
        "road_segment__name",
        "road_segment__geometry",
    )
    areas: list[dict[str, Any]] = []
    roads: list[dict[str, Any]] = []
    road_ids: list[str] = []
    for a_code, a_name, a_geom, r_code, r_name, r_geom in rows:
        if a_geom:
            areas.append({"type": "Feature", "properties": {"code": a_code, "name": a_name}, "geometry": a_geom})
        if r_geom:
            road_ids.append(r_code)
            roads.append({"code": r_code, "name": r_name, "lines": _lines_of(r_geom)})
    if not areas and road_ids:
        # A road chief: draw the grids their roads cross as the base map.
        for code, name, geometry in (
            Area.objects.filter(crossing_roads__code__in=road_ids, geometry__isnull=False)
            .distinct()
            .values_list("code", "name", "geometry")
        ):
            areas.append({"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry})
    points = list(TrackPoint.objects.filter(patrol=patrol).order_by("recorded_at").values_list("lon", "lat"))
    from civicgrid.patrols.geometry import simplify_track

    track = simplify_track([p[0] for p in points], [p[1] for p in points], max_points=2000)
    return {
        "id": patrol.pk,
        "areas": {"type": "FeatureCollection", "features": areas},
        "roads": roads,
        "track": track,
        "point_count": len(points),
        "coverage": patrol.coverage,
        "distance_m": patrol.distance_m,
        "flag_reasons": patrol.flag_reasons,
    }


def _lines_of(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry.get("type") == "LineString":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiLineString":
        return list(geometry["coordinates"])
    return []


MAX_TRACKS = 2000


def tracks_of_day(user: Any, code: str, day: dt.date) -> QuerySet[Patrol]:
    """The patrols of ``day`` under node ``code`` (in the user's scope), for a map."""
    compliance_node(user, code)
    return (
        scope_queryset(user, Patrol.objects.filter(code_range_q("area_code", code), day=day))
        .select_related("worker")
        .only(
            "id",
            "worker__display_name",
            "worker__username",
            "duty",
            "area_code",
            "day",
            "status",
            "started_at",
            "ended_at",
            "point_count",
            "distance_m",
            "coverage",
            "counts_toward_duty",
            "flagged",
            "review_status",
            "simplified_track",
        )
        .order_by("started_at", "pk")
    )


def live_tracks(patrol_ids: list[int]) -> dict[int, list[list[float]]]:
    """Simplified tracks of active patrols (not evaluated yet) from their points: one query."""
    from civicgrid.patrols.geometry import simplify_track

    if not patrol_ids:
        return {}
    points: dict[int, tuple[list[float], list[float]]] = {pid: ([], []) for pid in patrol_ids}
    for pid, lon, lat in (
        TrackPoint.objects.filter(patrol_id__in=patrol_ids)
        .order_by("patrol_id", "recorded_at")
        .values_list("patrol_id", "lon", "lat")
    ):
        points[pid][0].append(lon)
        points[pid][1].append(lat)
    return {pid: simplify_track(lons, lats) for pid, (lons, lats) in points.items()}
