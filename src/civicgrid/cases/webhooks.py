"""Camera / IoT alert webhooks: POST /api/cases/webhooks/{source}.

Each source (``WebhookSource``) has a secret, stored encrypted (common.crypto) because the
signature check needs it. A delivery carries three headers:

- ``X-CivicGrid-Timestamp``: Unix seconds when it was signed;
- ``X-CivicGrid-Delivery``: the sender's unique delivery id (a retry reuses it);
- ``X-CivicGrid-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body).

A delivery is refused (401) when the source is unknown or inactive, the signature does not
match, or the timestamp is further than ``CASES_WEBHOOK_TOLERANCE_SECONDS`` (300) from now
(a replay). A redelivery with an already accepted delivery id returns the first delivery's
case (200) and creates nothing. The payload's ``event_type`` maps to a category through the
source's ``category_map`` (or ``default_category``); the case is created by
``services.case_intake`` on the camera channel."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases import services
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Case, WebhookDelivery, WebhookSource
from civicgrid.common import crypto
from civicgrid.common.errors import DomainError

SECRET_CONTEXT = "cases.webhooksource.secret"  # noqa: S105 - an AAD label, not a secret
SIGNATURE_HEADER = "X-CivicGrid-Signature"
TIMESTAMP_HEADER = "X-CivicGrid-Timestamp"
DELIVERY_HEADER = "X-CivicGrid-Delivery"
DELIVERY_ID_MAX = 100
MAX_BODY_BYTES = 64 * 1024


class WebhookRejected(DomainError):
    status = 401
    code = "webhook_rejected"


def tolerance_seconds() -> int:
    return int(getattr(settings, "CASES_WEBHOOK_TOLERANCE_SECONDS", 300))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# --- sources ------------------------------------------------------------------------------------


@transaction.atomic
def webhook_source_create(
    *, name: str, category_map: dict[str, str] | None = None, default_category: str = "", label: str = ""
) -> tuple[WebhookSource, str]:
    """Register a source; returns it and its new secret (shown once; stored encrypted)."""
    secret = secrets.token_urlsafe(32)
    source = WebhookSource(
        name=name,
        label=label,
        secret_cipher=crypto.encrypt(secret, context=SECRET_CONTEXT),
        category_map=dict(category_map or {}),
        default_category=default_category,
    )
    source.full_clean(exclude=["secret_cipher"])
    source.save()
    audit_record(
        action=AuditAction.CREATE,
        obj=source,
        changes={
            "name": {"before": None, "after": name},
            "category_map": {"before": None, "after": source.category_map},
        },
        message=f"webhook source {name}",
    )
    return source, secret


def source_secret(source: WebhookSource) -> str:
    return crypto.decrypt(source.secret_cipher, context=SECRET_CONTEXT)


# --- verification ---------------------------------------------------------------------------------


def verify_signature(*, source_name: str, timestamp: str, signature: str, body: bytes) -> WebhookSource:
    """The active source named ``source_name`` if ``signature`` is its HMAC of
    ``timestamp + "." + body`` and ``timestamp`` is within the tolerance of now; otherwise
    WebhookRejected (401) with code ``unauthenticated`` (no signature or timestamp at all),
    ``unknown_source``, ``bad_timestamp``, ``stale_timestamp`` or ``bad_signature``.

    This is the one signature check of every signed machine endpoint (this module's
    webhook, the camera alerts and heartbeats of ``civicgrid.cameras``). Replays inside the
    window are the caller's business: each endpoint makes a repeated delivery id idempotent."""
    signature = (signature or "").strip()
    timestamp = (timestamp or "").strip()
    if not signature and not timestamp:
        raise WebhookRejected(_("缺少签名, 请按接入文档签名后再发送"), code="unauthenticated")
    source = WebhookSource.objects.filter(name=source_name, is_active=True).first() if source_name else None
    if source is None:
        raise WebhookRejected(_("未知的告警接入源"), code="unknown_source")
    if not timestamp.isdigit():
        raise WebhookRejected(_("缺少或无效的时间戳"), code="bad_timestamp")
    if abs(time.time() - int(timestamp)) > tolerance_seconds():
        raise WebhookRejected(_("时间戳已过期, 疑似重放"), code="stale_timestamp")
    expected = sign(source_secret(source), timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise WebhookRejected(_("签名不正确"), code="bad_signature")
    return source


def verify(request: HttpRequest, source_name: str) -> WebhookSource | None:
    """The source that validly signed this request. None when no signature headers are sent
    at all (the caller is simply unauthenticated); WebhookRejected when they are wrong."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    stamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not signature and not stamp:
        return None
    return verify_signature(source_name=source_name, timestamp=stamp, signature=signature, body=request.body)


# --- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    case: Case
    delivery: WebhookDelivery
    replayed: bool


def _field(payload: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = payload.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError({name: _("缺少字段 %(f)s") % {"f": name}})
    if len(text) > limit:
        raise ValidationError({name: _("字段 %(f)s 过长") % {"f": name}})
    return text


def parse_payload(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise ValidationError(_("告警内容过大"))
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(_("告警内容不是合法的 JSON")) from None
    if not isinstance(payload, dict):
        raise ValidationError(_("告警内容必须是 JSON 对象"))
    return payload


def _delivery_key(source: WebhookSource, delivery_id: str) -> str:
    # case_intake's Idempotency-Key (<= 64 chars): a digest of (source, delivery id).
    return "wh-" + hashlib.sha256(f"{source.pk}:{delivery_id}".encode()).hexdigest()[:48]


def webhook_deliver(*, source: WebhookSource, delivery_id: str, body: bytes) -> DeliveryResult:
    """Accept one verified delivery: create its case, or return the earlier one."""
    delivery_id = delivery_id.strip()
    if not delivery_id or len(delivery_id) > DELIVERY_ID_MAX:
        raise ValidationError({"delivery": _("缺少或无效的投递编号 X-CivicGrid-Delivery")})
    earlier = WebhookDelivery.objects.select_related("case").filter(source=source, delivery_id=delivery_id).first()
    if earlier is not None and earlier.case is not None:
        return DeliveryResult(case=earlier.case, delivery=earlier, replayed=True)
    payload = parse_payload(body)
    event_type = _field(payload, "event_type", 50, required=True)
    camera = _field(payload, "camera", 50)
    snapshot = _field(payload, "snapshot_url", 500)
    if snapshot and not snapshot.startswith(("http://", "https://")):
        raise ValidationError({"snapshot_url": _("抓拍图片地址必须是 http(s) 地址")})
    event_time = None
    raw_time = _field(payload, "time", 40)
    if raw_time:
        event_time = parse_datetime(raw_time)
        if event_time is None:
            raise ValidationError({"time": _("告警时间格式不正确")})
        if timezone.is_naive(event_time):
            event_time = timezone.make_aware(event_time)
    category = source.category_map.get(event_type) or source.default_category
    if not category:
        raise ValidationError({"event_type": _("该接入源没有为事件类型 %(t)s 配置类别") % {"t": event_type}})
    description = _field(payload, "description", 1500)
    lines = [description or _("视频探头自动告警: %(t)s") % {"t": event_type}]
    if camera:
        lines.append(_("探头: %(c)s") % {"c": camera})
    if event_time is not None:
        lines.append(_("告警时间: %(t)s") % {"t": timezone.localtime(event_time).strftime("%Y-%m-%d %H:%M:%S")})
    if snapshot:
        lines.append(_("抓拍: %(u)s") % {"u": snapshot})
    data = {
        "title": (_("探头告警 %(c)s: %(t)s") % {"c": camera or source.name, "t": event_type})[:100],
        "description": "\n".join(lines)[:2000],
        "category": category,
        "lon": payload.get("lon"),
        "lat": payload.get("lat"),
        "address": _field(payload, "address", 200),
    }
    try:
        with transaction.atomic():
            case = services.case_intake(
                actor=None,
                channel=Channel.CAMERA,
                data=data,
                idempotency_key=_delivery_key(source, delivery_id),
            )
            delivery, _created = WebhookDelivery.objects.update_or_create(
                source=source,
                delivery_id=delivery_id,
                defaults={
                    "case": case,
                    "event_type": event_type,
                    "camera": camera,
                    "event_time": event_time,
                    "snapshot_url": snapshot,
                },
            )
    except IntegrityError:
        # A concurrent redelivery won: return what it created.
        delivery = WebhookDelivery.objects.select_related("case").get(source=source, delivery_id=delivery_id)
        if delivery.case is None:  # pragma: no cover - the winner always stores its case
            raise
        return DeliveryResult(case=delivery.case, delivery=delivery, replayed=True)
    return DeliveryResult(case=case, delivery=delivery, replayed=not _created)
