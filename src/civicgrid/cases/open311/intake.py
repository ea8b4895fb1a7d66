"""Machine intake with a record: Open311 POST, the JSON API and patrol reports all create
their case through ``services.case_intake`` (and its Idempotency-Key support) and store an
``IntakeRecord`` beside it in the same transaction: the request's fingerprint (so a retry
with the same key but another payload is a clear conflict), the Open311 token, attribute
answers, the media URL and the API key that sent it."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.cases import services
from civicgrid.cases.models import ApiKey, Case, IntakeRecord
from civicgrid.common.errors import Conflict


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    record: IntakeRecord | None
    created: bool


def fingerprint(channel: str, payload: Mapping[str, Any]) -> str:
    """A stable digest of what was asked (channel + payload, keys sorted)."""
    text = json.dumps({"channel": channel, "payload": payload}, sort_keys=True, ensure_ascii=False, default=str)
    # Keyed, so the stored digest reveals nothing about a reporter's phone or name.
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def _replay(case: Case, digest: str) -> IntakeResult:
    record = IntakeRecord.objects.filter(case=case).first()
    if record is not None and record.fingerprint and record.fingerprint != digest:
        raise IdempotencyConflict(
            _("该 Idempotency-Key 已用于另一份不同内容的提交; 重试请发送完全相同的内容, 新的提交请换一个新的键")
        )
    return IntakeResult(case=case, record=record, created=False)


def intake_with_record(
    *,
    actor: Any,
    channel: str,
    data: Mapping[str, Any],
    idempotency_key: str | None = None,
    register: bool | None = None,
    api_key: ApiKey | None = None,
    attributes: Mapping[str, Any] | None = None,
    media_url: str = "",
    with_token: bool = False,
) -> IntakeResult:
    """Create the case (or return the one an earlier call with the same key created)."""
    digest = fingerprint(channel, {"data": dict(data), "attributes": dict(attributes or {}), "media_url": media_url})
    if idempotency_key is not None:
        earlier = services.case_for_idempotency_key(actor=actor, channel=channel, key=idempotency_key)
        if earlier is not None:
            return _replay(earlier, digest)
    with transaction.atomic():
        case = services.case_intake(
            actor=actor, channel=channel, data=data, idempotency_key=idempotency_key, register=register
        )
        if IntakeRecord.objects.filter(case=case).exists():
            # A concurrent call with the same key won the race: case_intake returned its case.
            return _replay(case, digest)
        record = IntakeRecord.objects.create(
            case=case,
            channel=channel,
            fingerprint=digest,
            api_key=api_key,
            token=secrets.token_urlsafe(18) if with_token else None,
            attributes=dict(attributes or {}),
            media_url=media_url,
        )
    return IntakeResult(case=case, record=record, created=True)
