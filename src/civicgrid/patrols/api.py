"""/api/patrols: start (client_id idempotency), upload points in batches, end, my patrols and
my duty (workers); the day's tracks of a territory node for maps, a patrol's track, the review
of flagged tracks and the compliance figures (supervisors). A problem found on patrol becomes a
case through POST /api/cases/patrol-reports."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.pagination import paginate

from civicgrid.accounts.permissions import Capability, require_capability
from civicgrid.accounts.scope import user_scope_code
from civicgrid.patrols import selectors, services
from civicgrid.patrols.enums import PatrolStatus, ReviewStatus
from civicgrid.patrols.models import Patrol
from civicgrid.patrols.schemas import (
    ComplianceOut,
    DutyOut,
    PatrolOut,
    PatrolStartIn,
    PointsIn,
    PointsOut,
    ReviewIn,
    ReviewOut,
    TracksOut,
)

router = Router(tags=["patrols"])

TRACKS_DEFAULT_LIMIT = 500
TRACKS_MAX_LIMIT = 2000
COMPLIANCE_MAX_LIMIT = 500


def _worker(request: HttpRequest) -> Any:
    require_capability(request.user, Capability.PATROL)
    return request.user


@router.post("/", response={201: PatrolOut, 200: PatrolOut}, summary="开始巡查 (client_id 防重复)")
def start(request: HttpRequest, body: PatrolStartIn) -> Status[Patrol]:
    result = services.patrol_start(worker=_worker(request), client_id=body.client_id, started_at=body.started_at)
    return Status(201 if result.created else 200, result.patrol)


@router.post("/{patrol_id}/points", response=PointsOut, summary="批量上传轨迹点 (每批最多10000个, 重复点忽略)")
def points(request: HttpRequest, patrol_id: int, body: PointsIn) -> dict[str, int]:
    result = services.patrol_upload_points(
        worker=_worker(request), patrol_id=patrol_id, points=[p.dict() for p in body.points]
    )
    return {
        "received": result.received,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "point_count": result.patrol.point_count,
    }


@router.post("/{patrol_id}/end", response=PatrolOut, summary="结束巡查 (计算里程、覆盖率, 标记异常轨迹)")
def end(request: HttpRequest, patrol_id: int) -> Patrol:
    return services.patrol_end(worker=_worker(request), patrol_id=patrol_id)


@router.get("/mine", response=list[PatrolOut], summary="我的巡查 (可按日期)")
@paginate
def mine(request: HttpRequest, day: dt.date | None = None) -> QuerySet[Patrol]:
    return selectors.patrols_mine(_worker(request), day)


@router.get("/duty", response=DutyOut, summary="我的当日巡查任务完成情况")
def duty(request: HttpRequest, day: dt.date | None = None) -> dict[str, Any]:
    return selectors.duty_status(_worker(request), day).as_dict()


# --- supervisors: maps, review, compliance -------------------------------------------------------


def _supervisor(request: HttpRequest) -> Any:
    require_capability(request.user, Capability.VIEW_PATROLS)
    return request.user


def _area(request: HttpRequest, area: str | None) -> str:
    code = (area or "").strip() or (user_scope_code(request.user) or "")
    if not code:
        raise ValidationError({"area": [_("请指定辖区编码 area")]})
    return code


def _page(offset: int, limit: int, most: int) -> tuple[int, int]:
    if offset < 0:
        raise ValidationError({"offset": [_("offset 不能为负数")]})
    if not 1 <= limit <= most:
        raise ValidationError({"limit": [_("limit 应在 1 到 %(n)d 之间") % {"n": most}]})
    return offset, limit


def _state(patrol: Patrol) -> str:
    if patrol.status == PatrolStatus.ACTIVE:
        return "active"
    if patrol.review_status == ReviewStatus.PENDING:
        return "flagged"
    return "counted" if patrol.counts_toward_duty else "not_counted"


@router.get("/tracks", response=TracksOut, url_name="patrol_tracks", summary="某日辖区内的巡查轨迹 (地图用, 简化线)")
def tracks(
    request: HttpRequest,
    area: str | None = None,
    day: dt.date | None = None,
    offset: int = 0,
    limit: int = TRACKS_DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Tracks of ``day`` (default today) under node ``area`` (default: the caller's node), in
    start order, ``limit`` per page. Each line is simplified (~3 m, at most 300 points); an
    active patrol's line is built from its points so far. ``state`` is what a map colours by."""
    user = _supervisor(request)
    offset, limit = _page(offset, limit, TRACKS_MAX_LIMIT)
    code = _area(request, area)
    day = day or selectors.today()
    qs = selectors.tracks_of_day(user, code, day)
    total = qs.count()
    page = list(qs[offset : offset + limit])
    live = selectors.live_tracks([p.pk for p in page if p.status == PatrolStatus.ACTIVE])
    items = [
        {
            "id": p.pk,
            "worker": p.worker.display_name or p.worker.username,
            "duty": p.duty,
            "area_code": p.area_code,
            "status": p.status,
            "state": _state(p),
            "started_at": p.started_at,
            "ended_at": p.ended_at,
            "distance_m": p.distance_m,
            "coverage": p.coverage,
            "counts_toward_duty": p.counts_toward_duty,
            "flagged": p.flagged,
            "review_status": p.review_status,
            "coordinates": live.get(p.pk, p.simplified_track or []),
        }
        for p in page
    ]
    next_offset = offset + limit if offset + limit < total else None
    return {"area": code, "day": day, "count": total, "items": items, "next_offset": next_offset}


@router.get("/{patrol_id}/track", url_name="patrol_track", summary="一次巡查的轨迹、责任网格/路段 (核查地图用)")
def track(request: HttpRequest, patrol_id: int) -> dict[str, Any]:
    user = _supervisor(request)
    return selectors.patrol_track_map(selectors.patrol_visible(user, patrol_id))


@router.post("/{patrol_id}/review", response=ReviewOut, summary="核查异常轨迹: approve 通过 / reject 不通过")
def review(request: HttpRequest, patrol_id: int, body: ReviewIn) -> Patrol:
    if body.decision == "approve":
        return services.patrol_review_approve(actor=request.user, patrol=patrol_id, note=body.note)
    if body.decision == "reject":
        return services.patrol_review_reject(actor=request.user, patrol=patrol_id, note=body.note)
    raise ValidationError({"decision": [_("核查结论应为 approve 或 reject")]})


@router.get("/compliance", response=ComplianceOut, summary="巡查考核: 每人每日巡查次数、里程、覆盖率、是否达标")
def compliance(
    request: HttpRequest,
    area: str | None = None,
    period: str = selectors.PERIOD_TODAY,
    month: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """The figures of the compliance page (the same function computes both), workers paginated."""
    user = _supervisor(request)
    offset, limit = _page(offset, limit, COMPLIANCE_MAX_LIMIT)
    report = selectors.compliance_report(user, _area(request, area), period=period, month=month)
    rows = report.rows[offset : offset + limit]
    return {
        "area": report.node.code,
        "name": report.node.name,
        "period": report.period.kind,
        "start": report.period.start,
        "end": report.period.end,
        "workers": report.workers,
        "days_met": report.days_met,
        "days_due": report.days_due,
        "met_rate": report.met_rate,
        "missed_today": [m.worker.username for m in report.missed_today],
        "missed_week": [m.worker.username for m in report.missed_week],
        "count": len(report.rows),
        "items": [
            {
                "worker_id": r.worker.id,
                "username": r.worker.username,
                "name": r.worker.name,
                "duty": ",".join(r.worker.duties),
                "bound_code": r.worker.bound_code,
                "required_per_day": r.policy.times_per_day,
                "days_met": r.days_met,
                "days_due": r.days_due,
                "patrols": r.patrols,
                "counted": r.counted,
                "distance_km": r.distance_km,
                "days": [
                    {
                        "day": d.day.isoformat(),
                        "patrols": d.patrols,
                        "counted": d.counted,
                        "required": d.required,
                        "distance_m": round(d.distance_m, 1),
                        "mean_coverage": d.mean_coverage,
                        "best_coverage": d.best_coverage,
                        "pending_review": d.pending_review,
                        "windows": [{"label": w.label, "met": w.met} for w in d.windows],
                        "met": d.met,
                        "state": d.state,
                    }
                    for d in r.days
                ],
            }
            for r in rows
        ],
    }
