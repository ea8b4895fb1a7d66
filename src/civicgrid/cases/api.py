"""/api/cases: intake (Idempotency-Key), inboxes, a case, its timeline and its transitions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Header, Router, Status
from ninja.pagination import paginate

from civicgrid.accounts.permissions import has_capability
from civicgrid.cases import selectors, services, workflow
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.schemas import ActionsOut, CaseEventOut, CaseIntakeIn, CaseOut, TransitionIn

router = Router(tags=["cases"])


def _require_view(request: HttpRequest) -> None:
    if not has_capability(request.user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看案件的权限"))


@router.post("/", response={201: CaseOut, 200: CaseOut}, summary="受理案件 (Idempotency-Key 防重复提交)")
def intake(
    request: HttpRequest,
    body: CaseIntakeIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),  # type: ignore[type-arg]
) -> Status[Case]:
    data = body.dict(exclude={"channel", "auto_register"})
    replay = services.case_for_idempotency_key(actor=request.user, channel=body.channel, key=idempotency_key)
    if replay is not None:
        return Status(200, replay)
    case = services.case_intake(
        actor=request.user,
        channel=body.channel,
        data=data,
        idempotency_key=idempotency_key,
        register=body.auto_register,
    )
    return Status(201, case)


@router.get("/inbox/{box}", response=list[CaseOut], summary="收件箱: to_register, to_sign_for, mine, overdue, ...")
@paginate
def inbox(request: HttpRequest, box: str) -> QuerySet[Case]:
    _require_view(request)
    return selectors.inbox(request.user, box)


@router.get("/{case_id}", response=CaseOut, summary="案件详情")
def get_case(request: HttpRequest, case_id: int) -> Case:
    _require_view(request)
    return selectors.case_get(request.user, case_id)


@router.get("/{case_id}/timeline", response=list[CaseEventOut], summary="案件办理过程")
@paginate
def timeline(request: HttpRequest, case_id: int) -> QuerySet[CaseEvent]:
    _require_view(request)
    return selectors.timeline(request.user, case_id)


@router.get("/{case_id}/actions", response=ActionsOut, summary="当前可执行的操作")
def actions(request: HttpRequest, case_id: int) -> dict[str, Any]:
    _require_view(request)
    case = selectors.case_get(request.user, case_id)
    return {"status": case.status, "version": case.version, "actions": workflow.available_actions(request.user, case)}


@router.post("/{case_id}/transitions", response=CaseOut, summary="执行操作 (乐观锁: expected_version)")
def transition(request: HttpRequest, case_id: int, body: TransitionIn) -> Case:
    _require_view(request)
    case = selectors.case_get(request.user, case_id)
    return services.case_transition(
        actor=request.user,
        case=case,
        action=body.action,
        expected_version=body.expected_version,
        note=body.note,
        **body.payload(),
    )
