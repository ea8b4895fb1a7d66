"""/api/cases: intake (Idempotency-Key), inboxes, a case, its timeline and its transitions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Header, Router, Status
from ninja.pagination import paginate
from ninja.security import SessionAuth

from civicgrid.accounts.permissions import has_capability
from civicgrid.cases import joint, selectors, services, submissions, webhooks, workflow
from civicgrid.cases.api_auth import ApiKeyAuth, WebhookSignatureAuth, intake_caller
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import (
    ApiKey,
    Case,
    CaseAssist,
    CaseEvent,
    IntakeSubmission,
    SubmissionStatus,
    WebhookSource,
)
from civicgrid.cases.open311.intake import intake_with_record
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.schemas import (
    ActionsOut,
    AssistActionIn,
    AssistRequestIn,
    CaseAssistOut,
    CaseEventOut,
    CaseIntakeIn,
    CaseOut,
    PatrolReportIn,
    SubmissionOut,
    TransitionIn,
    WebhookOut,
)
from civicgrid.common.errors import NotFound

router = Router(tags=["cases"])


def _require_view(request: HttpRequest) -> None:
    if not has_capability(request.user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看案件的权限"))


@router.post(
    "/",
    response={201: CaseOut, 200: CaseOut | SubmissionOut, 202: SubmissionOut},
    summary="受理案件 (Idempotency-Key 防重复提交; 接口密钥客户端: 202 先受理后生成案件)",
    description=(
        "Staff (session): the case is created now: 201 with the case (200 for a replayed "
        "Idempotency-Key). API-key clients (X-Api-Key): the submission is validated completely "
        "and accepted: 202 with a token and status pending; the case follows within seconds "
        "(GET /api/cases/submissions/{token}, or replay the same Idempotency-Key: 202 while "
        "pending, 200 with case_id once processed)."
    ),
    auth=[ApiKeyAuth(), SessionAuth()],  # a key first: a key-only client has no CSRF token
)
def intake(
    request: HttpRequest,
    body: CaseIntakeIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),  # type: ignore[type-arg]
) -> Status[Case] | HttpResponse:
    # A retry with the same key returns the first case (200); another payload with the same
    # key is a 409 (open311.intake keeps the request's fingerprint beside the case).
    actor, key = intake_caller(request, idempotency_key)
    api_key = _api_key_of(request)
    if api_key is not None and submissions.async_intake_enabled():
        accepted = submissions.submission_accept(
            channel=body.channel,
            data=body.dict(exclude={"channel", "auto_register"}),
            api_key=api_key,
            idempotency_key=key,
            register=body.auto_register,
        )
        return _submission_response(accepted.submission)
    result = intake_with_record(
        actor=actor,
        channel=body.channel,
        data=body.dict(exclude={"channel", "auto_register"}),
        idempotency_key=key,
        register=body.auto_register,
        api_key=api_key,
    )
    return Status(201 if result.created else 200, result.case)


# --- machine intake: API keys, patrol reports, camera / IoT webhooks (see docs/open311.md) -------
# (Declared before /{case_id}: ninja matches paths in order, and /{case_id} would take
# /patrol-reports.)


def _submission_body(submission: IntakeSubmission) -> dict[str, Any]:
    case = submission.case if submission.case_id else None
    return {
        "token": submission.token,
        "status": submission.status,
        "case_id": submission.case_id,
        "tracking_code": case.tracking_code if case is not None else None,
        "error": submission.error if submission.status == SubmissionStatus.FAILED else "",
    }


def _submission_response(submission: IntakeSubmission) -> HttpResponse:
    """202 while the case is being made, 200 once it exists (or the submission failed).
    Serialised directly: this answer is the hot path of machine intake."""
    status = 202 if submission.status == SubmissionStatus.PENDING else 200
    return JsonResponse(_submission_body(submission), status=status)


@router.get(
    "/submissions/{token}",
    response=SubmissionOut,
    summary="接口提交的处理状态 (令牌 → 案件)",
    auth=ApiKeyAuth(),
)
def submission_status(request: HttpRequest, token: str) -> dict[str, Any]:
    found = submissions.submission_by_token(token)
    api_key = _api_key_of(request)
    if found is None or api_key is None or found.api_key_id != api_key.pk:
        raise NotFound(_("提交不存在"))
    return _submission_body(found)


def _api_key_of(request: HttpRequest) -> ApiKey | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiKey) else None


@router.post(
    "/patrol-reports",
    response={201: CaseOut, 200: CaseOut},
    summary="巡查上报 (网格员/巡查员; Idempotency-Key 防重复提交)",
)
def patrol_report(
    request: HttpRequest,
    body: PatrolReportIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),  # type: ignore[type-arg]
) -> Status[Case]:
    result = intake_with_record(
        actor=request.user,
        channel=Channel.PATROL,
        data=body.dict(),
        idempotency_key=idempotency_key,
    )
    return Status(201 if result.created else 200, result.case)


@router.post(
    "/webhooks/{source}",
    response={201: WebhookOut, 200: WebhookOut},
    summary="视频探头/物联网告警接入 (HMAC-SHA256 签名, 防重放, 幂等投递)",
    description=(
        "Headers X-CivicGrid-Timestamp (Unix seconds), X-CivicGrid-Delivery (unique id), "
        'X-CivicGrid-Signature ("sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)). '
        "JSON body: event_type, camera, time, lon, lat, snapshot_url, description, address."
    ),
    auth=WebhookSignatureAuth(),
)
def webhook(request: HttpRequest, source: str) -> Status[dict[str, Any]]:
    verified = getattr(request, "auth", None)
    assert isinstance(verified, WebhookSource)
    result = webhooks.webhook_deliver(
        source=verified,
        delivery_id=request.headers.get(webhooks.DELIVERY_HEADER, ""),
        body=request.body,
    )
    out = {"case_id": result.case.pk, "delivery_id": result.delivery.delivery_id, "replayed": result.replayed}
    return Status(200 if result.replayed else 201, out)


# --- joint handling (联合处置; see docs/cases.md) ------------------------------------------------


@router.get("/assists/inbox", response=list[CaseAssistOut], summary="协办收件箱: 本部门待办的协办任务")
@paginate
def assist_inbox(request: HttpRequest) -> QuerySet[CaseAssist]:
    _require_view(request)
    return selectors.assist_inbox(request.user)


@router.post(
    "/assists/{assist_id}/actions",
    response=CaseAssistOut,
    summary="协办任务操作: acknowledge 签收, report 反馈, decline 拒绝(协办单位); cancel 撤回(牵头单位)",
)
def assist_action(request: HttpRequest, assist_id: int, body: AssistActionIn) -> CaseAssist:
    _require_view(request)
    assist = selectors.assist_get(request.user, assist_id)
    return joint.case_assist_act(
        actor=request.user,
        assist=assist,
        action=body.action,
        expected_version=body.expected_version,
        note=body.note,
    )


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


@router.get("/{case_id}/assists", response=list[CaseAssistOut], summary="联合处置: 案件的协办任务")
@paginate
def case_assists(request: HttpRequest, case_id: int) -> QuerySet[CaseAssist]:
    _require_view(request)
    return selectors.case_assists_qs(request.user, case_id)


@router.post(
    "/{case_id}/assists",
    response={201: list[CaseAssistOut]},
    summary="联合处置: 请求协办单位协办 (乐观锁: 案件的 expected_version)",
)
def request_assists(request: HttpRequest, case_id: int, body: AssistRequestIn) -> Status[list[CaseAssist]]:
    _require_view(request)
    case = selectors.case_get(request.user, case_id)
    parts = joint.case_assist_request(
        actor=request.user,
        case=case,
        department_ids=body.department_ids,
        note=body.note,
        expected_version=body.expected_version,
    )
    return Status(201, parts)
