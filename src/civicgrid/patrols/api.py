"""/api/patrols: start (client_id idempotency), upload points in batches, end, my patrols and
my duty. A problem found on patrol becomes a case through POST /api/cases/patrol-reports."""

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from civicgrid.accounts.permissions import Capability, require_capability
from civicgrid.patrols import selectors, services
from civicgrid.patrols.models import Patrol
from civicgrid.patrols.schemas import DutyOut, PatrolOut, PatrolStartIn, PointsIn, PointsOut

router = Router(tags=["patrols"])


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
