"""Patrol writes: start, upload points, end, auto-close. Each is one transaction; start, end
and auto-close are audited (the track points themselves are the patrol's append-only record,
see docs/decisions.md)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.permissions import Capability, require_capability
from civicgrid.accounts.scope import scope_queryset
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.errors import Conflict, DomainError, NotFound
from civicgrid.patrols import geometry
from civicgrid.patrols.enums import PatrolStatus, ReviewStatus
from civicgrid.patrols.models import Patrol, TrackPoint
from civicgrid.patrols.policy import policy_for
from civicgrid.territory.models import Duty, Responsibility

ROLE_DUTY = {Role.GRID_CHIEF: Duty.GRID_CHIEF, Role.AREA_CHIEF: Duty.AREA_CHIEF, Role.ROAD_CHIEF: Duty.ROAD_CHIEF}


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_many_points"


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def max_points() -> int:
    return int(_setting("PATROLS_MAX_POINTS_PER_BATCH", 10000))


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _end_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def _own_patrol(worker: Any, patrol_id: int, *, lock: bool = True) -> Patrol:
    """The worker's own patrol; anyone else's is "not found" (never revealed)."""
    qs = Patrol.objects.filter(pk=patrol_id, worker=worker)
    patrol = (qs.select_for_update() if lock else qs).first()
    if patrol is None:
        raise NotFound(_("巡查记录不存在"))
    return patrol


def _duty_of(worker: Any) -> str:
    if worker.role in ROLE_DUTY:
        return str(ROLE_DUTY[worker.role])
    first = Responsibility.objects.filter(user=worker).values_list("duty", flat=True).first()
    return str(first or Duty.GRID_CHIEF)


@dataclass(frozen=True)
class StartResult:
    patrol: Patrol
    created: bool


@transaction.atomic
def patrol_start(*, worker: Any, client_id: str = "", started_at: dt.datetime | None = None) -> StartResult:
    """Start a patrol. A retry with the same ``client_id`` returns the first patrol; a second
    active patrol is a Conflict. ``started_at`` (the phone's clock, for a start queued
    offline) may lie up to PATROLS_MAX_BACKDATE_SECONDS in the past."""
    client_id = (client_id or "").strip()[:64]
    if client_id:
        existing = Patrol.objects.filter(worker=worker, client_id=client_id).first()
        if existing is not None:
            return StartResult(existing, False)
    if Patrol.objects.filter(worker=worker, status=PatrolStatus.ACTIVE).exists():
        raise Conflict(_("已有进行中的巡查, 请先结束"), code="patrol_active")
    now = timezone.now()
    if started_at is None:
        started_at = now
    else:
        if timezone.is_naive(started_at):
            started_at = timezone.make_aware(started_at)
        skew = dt.timedelta(seconds=_setting("PATROLS_CLOCK_SKEW_SECONDS", 120))
        backdate = dt.timedelta(seconds=_setting("PATROLS_MAX_BACKDATE_SECONDS", 12 * 3600))
        if started_at > now + skew or started_at < now - backdate:
            raise DomainError(_("开始时间不合理"), fields={"started_at": [_("开始时间不合理")]})
    area_code = worker.area.code if worker.area_id else ""
    patrol = Patrol(
        worker=worker,
        duty=_duty_of(worker),
        area_code=area_code,
        day=_local_day(started_at),
        client_id=client_id,
        started_at=started_at,
    )
    try:
        with transaction.atomic():
            patrol.save()
    except IntegrityError as exc:  # a concurrent start won the race
        raise Conflict(_("已有进行中的巡查, 请先结束"), code="patrol_active") from exc
    audit_record(action=AuditAction.CREATE, obj=patrol, changes={"status": patrol.status, "duty": patrol.duty})
    return StartResult(patrol, True)


@dataclass(frozen=True)
class UploadResult:
    patrol: Patrol
    received: int
    accepted: int
    duplicates: int


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        # Epoch milliseconds (what navigator.geolocation gives).
        try:
            return dt.datetime.fromtimestamp(value / 1000.0, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def patrol_upload_points(*, worker: Any, patrol_id: int, points: Sequence[dict[str, Any]]) -> UploadResult:
    """Store a batch of {"t", "lon", "lat", "acc"} points. The whole batch is refused (nothing
    stored) when it is too large or any point is impossible; the error lists the bad
    indexes. Points already stored (same patrol and time) are ignored.

    The batch is checked before the write transaction opens, so the write lock (SQLite's is
    database-wide) is held only for the insert and the counter update."""
    limit = max_points()
    if len(points) > limit:
        raise PayloadTooLarge(
            _("一次最多上传 %(n)d 个轨迹点, 本次 %(m)d 个, 请分批上传") % {"n": limit, "m": len(points)}
        )
    checked = _own_patrol(worker, patrol_id, lock=False)
    rows = _checked_points(checked, points)
    with transaction.atomic():
        patrol = _own_patrol(worker, patrol_id)
        if patrol.ended_at != checked.ended_at:  # ended meanwhile: the time window moved
            rows = _checked_points(patrol, points)
        for row in rows:
            row.patrol = patrol
        before = patrol.point_count
        TrackPoint.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        after = TrackPoint.objects.filter(patrol=patrol).count()
        accepted = after - before
        patrol.point_count = after
        patrol.save(update_fields=["point_count", "updated_at"])
        if accepted and patrol.status != PatrolStatus.ACTIVE:
            # Points that arrive after the end (a phone back online) still count: re-evaluate.
            _evaluate(patrol)
            patrol.save()
    return UploadResult(patrol, len(points), accepted, len(points) - accepted)


def _checked_points(patrol: Patrol, points: Sequence[dict[str, Any]]) -> list[TrackPoint]:
    """The batch as rows (one per millisecond), or a DomainError listing every bad index."""
    now = timezone.now()
    skew = dt.timedelta(seconds=_setting("PATROLS_CLOCK_SKEW_SECONDS", 120))
    earliest = patrol.started_at - skew
    latest = min(now, patrol.ended_at) + skew if patrol.ended_at else now + skew
    bad_coordinates: list[int] = []
    bad_times: list[int] = []
    rows: dict[dt.datetime, TrackPoint] = {}
    for i, p in enumerate(points):
        lon, lat, acc = p.get("lon"), p.get("lat"), p.get("acc")
        ok = (
            isinstance(lon, (int, float))
            and isinstance(lat, (int, float))
            and math.isfinite(lon)
            and math.isfinite(lat)
            and -180.0 <= lon <= 180.0
            and -90.0 <= lat <= 90.0
            and not (lon == 0 and lat == 0)  # "null island": a receiver's placeholder, not a fix
            and (acc is None or (isinstance(acc, (int, float)) and math.isfinite(acc) and acc >= 0))
        )
        if not ok:
            bad_coordinates.append(i)
            continue
        moment = _as_datetime(p.get("t"))
        if moment is None or moment < earliest or moment > latest:
            bad_times.append(i)
            continue
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # millisecond precision
        point = TrackPoint(patrol=patrol, recorded_at=moment, lon=float(lon or 0), lat=float(lat or 0), accuracy=acc)
        rows.setdefault(moment, point)
    if bad_coordinates or bad_times:
        parts = []
        if bad_coordinates:
            parts.append(_("坐标无效的点: 第 %(i)s 个") % {"i": _index_list(bad_coordinates)})
        if bad_times:
            parts.append(_("时间不合理的点(早于巡查开始或晚于当前时间): 第 %(i)s 个") % {"i": _index_list(bad_times)})
        raise DomainError(
            "; ".join(parts) + _(" (本批次未保存)"),
            code="bad_points",
            fields={"bad_indexes": sorted(bad_coordinates + bad_times), "coordinates": bad_coordinates, "t": bad_times},
        )
    return list(rows.values())


def _index_list(indexes: list[int], shown: int = 20) -> str:
    text = ", ".join(str(i) for i in indexes[:shown])
    return text + (" ..." if len(indexes) > shown else "")


def _targets(patrol: Patrol) -> tuple[str, list[Any]]:
    rows = Responsibility.objects.filter(user_id=patrol.worker_id).select_related("area", "road_segment")
    if patrol.duty == Duty.ROAD_CHIEF:
        return "line", [r.road_segment.geometry for r in rows if r.road_segment is not None]
    return "area", [r.area.geometry for r in rows if r.area is not None and r.area.geometry]


def _evaluate(patrol: Patrol) -> geometry.TrackFacts:
    """Recompute distance, coverage, duty credit and flags from the stored track."""
    track = list(
        TrackPoint.objects.filter(patrol=patrol).order_by("recorded_at").values_list("recorded_at", "lon", "lat")
    )
    kind, targets = _targets(patrol)
    return _apply_facts(patrol, track, kind, targets, policy_for(patrol.area_code).coverage_threshold)


def _apply_facts(
    patrol: Patrol,
    track: Sequence[tuple[dt.datetime, float, float]],
    kind: str,
    targets: list[Any],
    threshold: float,
) -> geometry.TrackFacts:
    """Analyse ``track`` against ``targets`` and write the figures, flags, duty credit and
    review state on ``patrol`` (not saved). A reviewer's decision stands: an approved track
    counts when its coverage meets the threshold, a rejected one never counts; a newly
    flagged track waits for review."""
    base = patrol.started_at
    facts = geometry.analyse(
        [p[1] for p in track],
        [p[2] for p in track],
        [(p[0] - base).total_seconds() for p in track],
        targets=targets,
        kind=kind,
        buffer_m=_setting("PATROLS_ROAD_BUFFER_M", 30) if kind == "line" else _setting("PATROLS_GRID_BUFFER_M", 50),
        max_speed_kmh=_setting("PATROLS_MAX_SPEED_KMH", 25),
        min_segment_m=_setting("PATROLS_SPEED_MIN_SEGMENT_M", 20),
        outside_tolerance_m=_setting("PATROLS_OUTSIDE_TOLERANCE_M", 200),
    )
    reasons: list[dict[str, Any]] = []
    if facts.fast_segments:
        reasons.append(
            {
                "code": "speed",
                "message": _("移动速度过快: 最高 %(v).0f 公里/小时 (%(n)d 段)")
                % {"v": facts.max_speed_kmh, "n": facts.fast_segments},
            }
        )
    max_share = _setting("PATROLS_OUTSIDE_MAX_SHARE", 0.1)
    if targets and facts.point_count and facts.outside_points / facts.point_count > max_share:
        reasons.append(
            {
                "code": "outside",
                "message": _("%(n)d 个轨迹点不在责任区域内") % {"n": facts.outside_points},
            }
        )
    patrol.point_count = facts.point_count
    patrol.distance_m = facts.distance_m
    patrol.coverage = facts.coverage
    patrol.flagged = bool(reasons)
    patrol.flag_reasons = reasons
    patrol.simplified_track = geometry.simplify_track([p[1] for p in track], [p[2] for p in track])
    covered = facts.coverage >= threshold
    if patrol.review_status == ReviewStatus.APPROVED:
        patrol.counts_toward_duty = covered
    elif patrol.review_status == ReviewStatus.REJECTED:
        patrol.counts_toward_duty = False
    else:
        # A flagged track is held for review: it does not count until a reviewer accepts it.
        patrol.review_status = ReviewStatus.PENDING if reasons else ReviewStatus.NONE
        patrol.counts_toward_duty = covered and not reasons
    return facts


@transaction.atomic
def patrol_end(*, worker: Any, patrol_id: int) -> Patrol:
    """End the worker's patrol and evaluate its track. Ending an ended patrol returns it."""
    patrol = _own_patrol(worker, patrol_id)
    if patrol.status != PatrolStatus.ACTIVE:
        return patrol
    patrol.status = PatrolStatus.ENDED
    patrol.ended_at = timezone.now()
    _evaluate(patrol)
    patrol.save()
    audit_record(action=AuditAction.TRANSITION, obj=patrol, changes=_summary(patrol))
    return patrol


def _summary(patrol: Patrol) -> dict[str, Any]:
    return {
        "status": patrol.status,
        "points": patrol.point_count,
        "distance_m": patrol.distance_m,
        "coverage": patrol.coverage,
        "counts_toward_duty": patrol.counts_toward_duty,
        "flagged": patrol.flagged,
    }


def patrol_autoclose_stale(*, now: dt.datetime | None = None) -> int:
    """Close every patrol still active after the end of its day (idempotent: a closed
    patrol is never touched again). Returns how many were closed."""
    today = _local_day(now or timezone.now())
    closed = 0
    for pk in Patrol.objects.filter(status=PatrolStatus.ACTIVE, day__lt=today).values_list("pk", flat=True):
        with transaction.atomic():
            patrol = Patrol.objects.select_for_update().filter(pk=pk, status=PatrolStatus.ACTIVE).first()
            if patrol is None:  # ended meanwhile
                continue
            patrol.status = PatrolStatus.AUTO_CLOSED
            patrol.ended_at = _end_of_day(patrol.day)
            _evaluate(patrol)
            patrol.save()
            audit_record(
                action=AuditAction.TRANSITION,
                obj=patrol,
                changes=_summary(patrol),
                actor_label="system",
                message=_("巡查未结束, 当日结束时自动关闭"),
            )
            closed += 1
    return closed


# --- review of flagged tracks ------------------------------------------------------------------

REVIEW_NOTE_MAX = 500


def _reviewable(actor: Any, patrol_id: int) -> Patrol:
    require_capability(actor, Capability.REVIEW_PATROLS)
    # Out of the reviewer's scope is "not found" (never revealed).
    patrol = scope_queryset(actor, Patrol.objects.select_for_update().filter(pk=patrol_id)).first()
    if patrol is None:
        raise NotFound(_("巡查记录不存在"))
    if not patrol.flagged or patrol.status == PatrolStatus.ACTIVE:
        raise Conflict(_("该巡查轨迹无需核查"), code="not_flagged")
    if patrol.review_status != ReviewStatus.PENDING:
        raise Conflict(_("该巡查轨迹已核查, 请刷新页面"), code="already_reviewed")
    return patrol


def _review_note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if len(note) > REVIEW_NOTE_MAX:
        raise DomainError(
            _("核查意见不能超过 %(n)d 个字") % {"n": REVIEW_NOTE_MAX},
            fields={"note": [_("核查意见不能超过 %(n)d 个字") % {"n": REVIEW_NOTE_MAX}]},
        )
    if required and not note:
        raise DomainError(_("请填写不通过的原因"), code="note_required", fields={"note": [_("请填写不通过的原因")]})
    return note


def _decide(actor: Any, patrol: Patrol, decision: str, note: str) -> Patrol:
    before = {"review_status": patrol.review_status, "counts_toward_duty": patrol.counts_toward_duty}
    patrol.review_status = decision
    patrol.reviewed_by = actor
    patrol.reviewed_at = timezone.now()
    patrol.review_note = note
    if decision == ReviewStatus.APPROVED:
        patrol.counts_toward_duty = patrol.coverage >= policy_for(patrol.area_code).coverage_threshold
    else:
        patrol.counts_toward_duty = False
    patrol.save(
        update_fields=["review_status", "reviewed_by", "reviewed_at", "review_note", "counts_toward_duty", "updated_at"]
    )
    audit_record(
        action=AuditAction.TRANSITION,
        obj=patrol,
        area_code=patrol.area_code,
        changes={
            "review_status": {"before": before["review_status"], "after": patrol.review_status},
            "counts_toward_duty": {"before": before["counts_toward_duty"], "after": patrol.counts_toward_duty},
        },
        message=str(ReviewStatus(decision).label) + (f": {note}" if note else ""),
        actor=actor,
    )
    return patrol


@transaction.atomic
def patrol_review_approve(*, actor: Any, patrol: Patrol | int, note: str = "") -> Patrol:
    """Accept a flagged track: it counts toward the duty when its coverage meets the
    threshold of the patrol's policy. The worker's duty (read live) recomputes at once."""
    locked = _reviewable(actor, patrol if isinstance(patrol, int) else patrol.pk)
    return _decide(actor, locked, ReviewStatus.APPROVED, _review_note(note, required=False))


@transaction.atomic
def patrol_review_reject(*, actor: Any, patrol: Patrol | int, note: str) -> Patrol:
    """Refuse a flagged track (a reason is required): it never counts toward the duty."""
    locked = _reviewable(actor, patrol if isinstance(patrol, int) else patrol.pk)
    return _decide(actor, locked, ReviewStatus.REJECTED, _review_note(note, required=True))


# --- batch evaluation ------------------------------------------------------------------------------


def evaluate_patrols(patrol_ids: Sequence[int]) -> list[Patrol]:
    """Re-evaluate many ended patrols set-based: one query for the patrols, one for all their
    points, one for their workers' duties and the policies, then shapely per track, and one
    UPDATE per patrol in one transaction. Used after a policy change and by the coverage
    benchmark."""
    from civicgrid.patrols.policy import PolicyResolver

    patrols = list(Patrol.objects.filter(pk__in=list(patrol_ids)).exclude(status=PatrolStatus.ACTIVE))
    if not patrols:
        return []
    tracks: dict[int, list[tuple[dt.datetime, float, float]]] = {p.pk: [] for p in patrols}
    for pid, moment, lon, lat in (
        TrackPoint.objects.filter(patrol_id__in=list(tracks))
        .order_by("patrol_id", "recorded_at")
        .values_list("patrol_id", "recorded_at", "lon", "lat")
        .iterator(chunk_size=20000)
    ):
        tracks[pid].append((moment, lon, lat))
    lines: dict[int, list[Any]] = {}
    areas: dict[int, list[Any]] = {}
    for user_id, area_geometry, road_geometry in Responsibility.objects.filter(
        user_id__in={p.worker_id for p in patrols}
    ).values_list("user_id", "area__geometry", "road_segment__geometry"):
        if road_geometry:
            lines.setdefault(user_id, []).append(road_geometry)
        if area_geometry:
            areas.setdefault(user_id, []).append(area_geometry)
    root = _common_prefix([p.area_code for p in patrols])
    resolver = PolicyResolver(root)
    for patrol in patrols:
        road = patrol.duty == Duty.ROAD_CHIEF
        targets = (lines if road else areas).get(patrol.worker_id, [])
        _apply_facts(
            patrol,
            tracks[patrol.pk],
            "line" if road else "area",
            targets,
            resolver.for_code(patrol.area_code).coverage_threshold,
        )
    # One UPDATE per patrol: bulk_update's CASE WHEN over JSON columns costs far more to build.
    fields = (
        "point_count",
        "distance_m",
        "coverage",
        "flagged",
        "flag_reasons",
        "simplified_track",
        "review_status",
        "counts_toward_duty",
    )
    now = timezone.now()
    with transaction.atomic():
        for patrol in patrols:
            Patrol.objects.filter(pk=patrol.pk).update(updated_at=now, **{f: getattr(patrol, f) for f in fields})
    return patrols


def _common_prefix(codes: Sequence[str]) -> str:
    if not codes:
        return ""
    first, last = min(codes), max(codes)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]
