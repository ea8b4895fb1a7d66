"""The signed camera endpoints' request handling: read the body, find the source, check the
signature (``cases.webhooks.verify_signature``: the same per-source secret, headers and
timestamp window as the case webhook), then parse the alert or heartbeat.

Two shapes of alert request:

- ``application/json``: the alert object, the snapshot (optional) as base64 in ``snapshot``;
  the signature covers the raw body.
- ``multipart/form-data``: the alert object as JSON in the ``payload`` field, the picture as
  the ``snapshot`` file; the signature covers ``payload``, which must carry
  ``snapshot_sha256`` (hex SHA-256 of the file) when a file is sent, so the picture is
  covered too.

The source is named by ``source`` in the object or the ``X-CivicGrid-Source`` header; the
delivery id is ``delivery_id`` in the (signed) object, so a captured request cannot be
replayed under a new id."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja.security import APIKeyHeader

from civicgrid.cameras import conf
from civicgrid.cameras.services import AlertIn
from civicgrid.cases import photos
from civicgrid.cases.models import WebhookSource
from civicgrid.cases.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    verify_signature,
)
from civicgrid.common.errors import DomainError

SOURCE_HEADER = "X-CivicGrid-Source"
HEARTBEAT_MAX_BYTES = 256 * 1024


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class Verified:
    source: WebhookSource
    payload: dict[str, Any]
    timestamp: int
    snapshot_bytes: bytes | None


def _read_body(request: HttpRequest, limit: int) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(_("请求过大, 不能超过%(kb)d KB") % {"kb": limit // 1024})
    # Read the stream ourselves: request.body would apply DATA_UPLOAD_MAX_MEMORY_SIZE, too
    # small for a base64 snapshot.
    body = request._body if hasattr(request, "_body") else request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(_("请求过大, 不能超过%(kb)d KB") % {"kb": limit // 1024})
    return body


def _json_object(raw: bytes, *, name: str = "") -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        message = _("%(f)s 不是合法的 JSON") % {"f": name} if name else _("请求内容不是合法的 JSON")
        raise ValidationError({name or "body": message}) from None
    if not isinstance(value, dict):
        raise ValidationError({name or "body": _("请求内容必须是 JSON 对象")})
    return value


def _source_name(request: HttpRequest, payload: dict[str, Any]) -> str:
    header = request.headers.get(SOURCE_HEADER, "").strip()
    named = str(payload.get("source") or "").strip()
    if header and named and header != named:
        raise WebhookRejected(_("请求头与内容中的接入源不一致"), code="source_mismatch")
    return named or header


def verify_request(request: HttpRequest, *, limit: int) -> Verified:
    """Check the signature of a camera request and return its source and JSON object.
    WebhookRejected (401) for a missing or bad signature, an unknown source or a stale
    timestamp; ValidationError (400) for a body that is not a JSON object."""
    content_type = (request.content_type or "").lower()
    snapshot_bytes: bytes | None = None
    if content_type.startswith("multipart/"):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(_("请求过大, 不能超过%(kb)d KB") % {"kb": limit // 1024})
        raw_payload = str(request.POST.get("payload") or "")
        if not raw_payload:
            raise ValidationError({"payload": _("缺少 payload 字段(告警内容 JSON)")})
        signed = raw_payload.encode("utf-8")
        payload = _json_object(signed, name="payload")
        upload = request.FILES.get("snapshot")
        if upload is not None:
            snapshot_bytes = upload.read(limit + 1)
    else:
        signed = _read_body(request, limit)
        payload = _json_object(signed)
    source = verify_signature(
        source_name=_source_name(request, payload),
        timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
        signature=request.headers.get(SIGNATURE_HEADER, ""),
        body=signed,
    )
    if snapshot_bytes is not None:
        declared_digest = str(payload.get("snapshot_sha256") or "").lower()
        actual = hashlib.sha256(snapshot_bytes).hexdigest()
        if not hmac.compare_digest(declared_digest.encode(), actual.encode()):
            raise WebhookRejected(_("抓拍文件与签名内容中的 snapshot_sha256 不一致"), code="bad_signature")
    return Verified(
        source=source,
        payload=payload,
        timestamp=int(request.headers.get(TIMESTAMP_HEADER, "0")),
        snapshot_bytes=snapshot_bytes,
    )


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    return "" if value is None else str(value).strip()


def _occurred_at(payload: dict[str, Any]) -> dt.datetime:
    raw = _text(payload, "occurred_at")
    if not raw:
        raise ValidationError({"occurred_at": _("缺少告警时间 occurred_at (ISO 8601)")})
    value = parse_datetime(raw) if len(raw) <= 40 else None
    if value is None:
        raise ValidationError({"occurred_at": _("告警时间格式不正确, 应为 ISO 8601, 如 2025-05-01T09:30:00+08:00")})
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _snapshot(payload: dict[str, Any], file_bytes: bytes | None) -> photos.CheckedPhoto | None:
    data = file_bytes
    if data is None:
        encoded = payload.get("snapshot")
        if encoded in (None, ""):
            return None
        if not isinstance(encoded, str):
            raise ValidationError({"snapshot": _("抓拍 snapshot 应为 base64 字符串")})
        if encoded.startswith("data:") and "," in encoded:
            encoded = encoded.split(",", 1)[1]
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError({"snapshot": _("抓拍 snapshot 不是合法的 base64")}) from None
    try:
        return photos.check_photo(ContentFile(data, name="snapshot"))
    except ValidationError as exc:
        raise ValidationError({"snapshot": exc.messages}) from None


def parse_alert(request: HttpRequest, verified: Verified) -> AlertIn:
    payload = verified.payload
    delivery_id = _text(payload, "delivery_id")
    header = request.headers.get(DELIVERY_HEADER, "").strip()
    if header and delivery_id and header != delivery_id:
        raise ValidationError({"delivery_id": _("请求头 X-CivicGrid-Delivery 与内容中的 delivery_id 不一致")})
    return AlertIn(
        delivery_id=delivery_id,
        camera_code=_text(payload, "camera"),
        event_type=_text(payload, "event_type"),
        occurred_at=_occurred_at(payload),
        description=_text(payload, "description"),
        snapshot=_snapshot(payload, verified.snapshot_bytes),
    )


def parse_heartbeat(verified: Verified) -> tuple[list[str], dt.datetime]:
    """The camera codes of a heartbeat and its time (the signed timestamp, so a replayed
    heartbeat sets the same time again and changes nothing)."""
    cameras = verified.payload.get("cameras")
    if not isinstance(cameras, list) or not all(isinstance(c, str) for c in cameras):
        raise ValidationError({"cameras": _("cameras 应为探头编号的数组")})
    at = dt.datetime.fromtimestamp(verified.timestamp, tz=dt.UTC)
    return cameras, at


class CameraSignatureAuth(APIKeyHeader):
    """The signed camera endpoints' authentication, declared in the OpenAPI document like the
    case webhook's: a request without a signature is a 401 before its body is read."""

    param_name = SIGNATURE_HEADER

    def __init__(self, limit: Callable[[], int]) -> None:
        super().__init__()
        self._limit = limit

    def authenticate(self, request: HttpRequest, key: str | None) -> Verified:
        if not key and not request.headers.get(TIMESTAMP_HEADER):
            raise WebhookRejected(_("缺少签名, 请按接入文档签名后再发送"), code="unauthenticated")
        return verify_request(request, limit=self._limit())


def alert_limit() -> int:
    return conf.max_request_bytes()
