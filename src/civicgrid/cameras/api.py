"""/api/cameras: the signed alert and heartbeat endpoints of camera / AI-video platforms
(see docs/cameras.md), and the registry and alerts for staff (session, scoped)."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from civicgrid.cameras import selectors, services, webhook
from civicgrid.cameras.models import Camera, CameraAlert
from civicgrid.cameras.schemas import AlertOut, CameraAlertOut, CameraOut, HeartbeatOut

router = Router(tags=["cameras"])

SIGNED = (
    "Signed like the case webhook: headers X-CivicGrid-Timestamp (Unix seconds) and "
    'X-CivicGrid-Signature ("sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)); '
    "the source is `source` in the body (or the X-CivicGrid-Source header). 401 unauthenticated, "
    "unknown_source, bad_timestamp, stale_timestamp, bad_signature."
)


@router.post(
    "/alerts",
    response={201: AlertOut, 200: AlertOut},
    auth=webhook.CameraSignatureAuth(webhook.alert_limit),
    summary="探头/AI 视频告警接入 (HMAC 签名, 防重放, 按 delivery_id 幂等)",
    description=SIGNED + " JSON body: source, delivery_id, camera, event_type, occurred_at (ISO 8601), description, "
    "snapshot (base64 JPEG/PNG/WebP); or multipart: `payload` (that JSON, signed, with snapshot_sha256) "
    "+ `snapshot` file. 201 recorded (outcome case_opened / merged / ignored_by_rule / no_rule / "
    "camera_disabled), 200 replay of a delivery id, 404 unknown_camera, 400 invalid, 413 too large.",
)
def alert(request: HttpRequest) -> Status[dict[str, Any]]:
    verified: webhook.Verified = request.auth  # type: ignore[attr-defined]
    result = services.alert_receive(source=verified.source, data=webhook.parse_alert(request, verified))
    return Status(200 if result.replayed else 201, result.as_dict())


@router.post(
    "/heartbeat",
    response=HeartbeatOut,
    auth=webhook.CameraSignatureAuth(lambda: webhook.HEARTBEAT_MAX_BYTES),
    summary="探头心跳 (HMAC 签名; 一批探头编号)",
    description=SIGNED + ' JSON body: {"source": "...", "cameras": ["CAM-1", ...]} (at most 1000).',
)
def heartbeat(request: HttpRequest) -> dict[str, Any]:
    verified: webhook.Verified = request.auth  # type: ignore[attr-defined]
    codes, at = webhook.parse_heartbeat(verified)
    return services.camera_heartbeat(source=verified.source, codes=codes, at=at).as_dict()


@router.get("/alerts", response=list[CameraAlertOut], summary="告警列表 (按辖区, 新的在前)")
@paginate
def alert_list(
    request: HttpRequest, outcome: str = "", event_type: str = "", area: str = "", camera_id: int | None = None
) -> QuerySet[CameraAlert]:
    return selectors.alerts_visible(
        request.user,
        selectors.AlertFilter(area=area, outcome=outcome, event_type=event_type, camera_id=camera_id),
    )


@router.get("/", response=list[CameraOut], summary="探头台账 (按辖区; 可按区域、状态、类型、关键字筛选)")
@paginate
def camera_list(
    request: HttpRequest, area: str = "", status: str = "", kind: str = "", q: str = ""
) -> QuerySet[Camera]:
    return selectors.cameras_visible(request.user, selectors.CameraFilter(area=area, status=status, kind=kind, q=q))


@router.get("/{camera_id}", response=CameraOut, summary="探头详情")
def camera_detail(request: HttpRequest, camera_id: int) -> Camera:
    return selectors.camera_get(request.user, camera_id)
