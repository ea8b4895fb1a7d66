"""Notification writes: the outbox (``notification_enqueue``), reading marks and subscriptions.

``notification_enqueue`` never commits on its own: it joins the caller's transaction, so the
messages commit or roll back with the change that causes them (a transactional outbox)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import ensure_in_scope
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases.models import Case
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common import crypto
from civicgrid.common.bulk import insert_rows
from civicgrid.common.errors import NotFound
from civicgrid.common.protected import digest, protect
from civicgrid.notifications.enums import EXTERNAL_CHANNELS, NotificationChannel, NotificationStatus
from civicgrid.notifications.models import ADDRESS_CONTEXT, Notification, Subscription

SUBJECT_MAX = 200
BODY_MAX = 2000
OPENID_RE = re.compile(r"^[A-Za-z0-9_\-]{6,64}$")
PHONE_RE = re.compile(r"^1\d{10}$")


@dataclass(frozen=True)
class Recipient:
    """A user (in-app, or SMS to their mobile) or an external address (phone / openid)."""

    channel: str
    user_id: int | None = None
    address: str = ""

    @property
    def key(self) -> str:
        if self.user_id is not None:
            return f"u{self.user_id}"
        return "a" + digest(_address_kind(self.channel), self.address, context=ADDRESS_CONTEXT)[:40]


def _address_kind(channel: str) -> str:
    return "phone" if channel == NotificationChannel.SMS else "address"


def _protect_address(channel: str, address: str) -> tuple[str, str, str]:
    if channel == NotificationChannel.SMS:
        p = protect("phone", address, context=ADDRESS_CONTEXT)
        return p.cipher, p.masked, p.digest
    value = address.strip()
    masked = value[:3] + "****" + value[-3:] if len(value) > 6 else "****"
    return crypto.encrypt(value, context=ADDRESS_CONTEXT), masked, digest("address", value, context=ADDRESS_CONTEXT)


def notification_enqueue(
    *,
    recipients: Iterable[Recipient],
    subject: str,
    body: str = "",
    cause: str,
    object_type: str = "",
    object_id: str = "",
    link: str = "",
    area_code: str = "",
    now: datetime | None = None,
) -> int:
    """Write one message per recipient and channel in the CURRENT transaction.

    ``cause`` identifies what happened (e.g. "case:42:event:917"); with the recipient and
    channel it forms the unique ``dedupe_key``, so enqueueing the same cause twice writes
    nothing new. Returns the number of rows offered (duplicates are silently dropped)."""
    rows = notification_rows(
        recipients=recipients,
        subject=subject,
        body=body,
        cause=cause,
        object_type=object_type,
        object_id=object_id,
        link=link,
        area_code=area_code,
        now=now,
    )
    return notification_write(rows)


def notification_write(rows: list[Notification]) -> int:
    """Insert outbox rows built by ``notification_rows`` (several causes at once, e.g. a batch
    of intakes) in the current transaction: one savepoint, one multi-row INSERT."""
    if not rows:
        return 0
    with transaction.atomic():  # a savepoint inside the caller's transaction
        insert_rows(rows, returning=False, ignore_conflicts=True)
    return len(rows)


def notification_rows(
    *,
    recipients: Iterable[Recipient],
    subject: str,
    body: str = "",
    cause: str,
    object_type: str = "",
    object_id: str = "",
    link: str = "",
    area_code: str = "",
    now: datetime | None = None,
) -> list[Notification]:
    """The outbox rows ``notification_enqueue`` writes (not saved)."""
    now = now or timezone.now()
    rows: list[Notification] = []
    seen: set[str] = set()
    for r in recipients:
        if r.channel not in NotificationChannel.values:
            raise ValidationError({"channel": _("未知的通知渠道")})
        if r.user_id is None and not r.address:
            continue
        key = f"{cause}:{r.channel}:{r.key}"[:200]
        if key in seen:
            continue
        seen.add(key)
        if r.channel in EXTERNAL_CHANNELS and not r.address:
            continue  # an SMS or WeChat message needs an address
        cipher = masked = ""
        if r.address:
            cipher, masked, _digest = _protect_address(r.channel, r.address)
        in_app = r.channel == NotificationChannel.IN_APP
        rows.append(
            Notification(
                recipient_id=r.user_id,
                address_cipher=cipher,
                address_masked=masked,
                channel=r.channel,
                subject=subject[:SUBJECT_MAX],
                body=body[:BODY_MAX],
                object_type=object_type,
                object_id=object_id,
                link=link[:300],
                area_code=area_code,
                status=NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
                sent_at=now if in_app else None,
                available_at=now,
                dedupe_key=key,
            )
        )
    return rows


# --- reading ----------------------------------------------------------------------------


def notification_mark_read(*, user: Any, notification_id: int) -> Notification:
    found = Notification.objects.filter(
        pk=notification_id, recipient_id=user.pk, channel=NotificationChannel.IN_APP
    ).first()
    if found is None:
        raise NotFound(_("消息不存在"))
    if found.read_at is None:
        found.read_at = timezone.now()
        Notification.objects.filter(pk=found.pk, read_at__isnull=True).update(read_at=found.read_at)
    return found


def notification_mark_all_read(*, user: Any) -> int:
    return Notification.objects.filter(
        recipient_id=user.pk, channel=NotificationChannel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- subscriptions ------------------------------------------------------------------------


def _require_case_view(user: Any) -> None:
    if not getattr(user, "is_authenticated", False) or not has_capability(user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看案件的权限"))


def _visible_case(user: Any, case_id: int) -> Case:
    from civicgrid.cases.selectors import case_get

    return case_get(user, case_id)


@transaction.atomic
def subscription_toggle_case(*, user: Any, case_id: int) -> bool:
    """Follow the case if not yet followed, else stop following. Returns "now following"."""
    _require_case_view(user)
    case = _visible_case(user, case_id)
    existing = Subscription.objects.filter(user_id=user.pk, case_id=case.pk)
    if existing.exists():
        existing.delete()
        return False
    try:
        with transaction.atomic():
            Subscription.objects.create(user_id=user.pk, case_id=case.pk, channel=NotificationChannel.IN_APP)
    except IntegrityError:  # a concurrent click of the same user
        pass
    return True


@transaction.atomic
def subscription_toggle_area(*, user: Any, area_code: str) -> bool:
    """Follow a grid or community (its code and everything below it) inside the user's scope."""
    from civicgrid.territory.enums import AreaLevel
    from civicgrid.territory.models import Area

    _require_case_view(user)
    code = (area_code or "").strip()
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise NotFound(_("区域不存在"))
    if area.level not in (AreaLevel.GRID, AreaLevel.COMMUNITY):
        raise ValidationError({"area_code": _("只能关注网格或社区")})
    ensure_in_scope(user, code)
    existing = Subscription.objects.filter(user_id=user.pk, case__isnull=True, area_code=code)
    if existing.exists():
        existing.delete()
        return False
    try:
        with transaction.atomic():
            Subscription.objects.create(user_id=user.pk, area_code=code, channel=NotificationChannel.IN_APP)
    except IntegrityError:
        pass
    return True


@transaction.atomic
def subscription_follow_by_tracking_code(*, tracking_code: str, phone: str = "", openid: str = "") -> Subscription:
    """A resident follows their case by its tracking code, with a phone (SMS) or a WeChat
    openid; following twice is the same subscription."""
    from civicgrid.cases.selectors import case_by_tracking_code

    case = case_by_tracking_code(tracking_code)
    phone, openid = (phone or "").strip(), (openid or "").strip()
    if bool(phone) == bool(openid):
        raise ValidationError({"phone": _("请填写手机号或微信openid(二选一)")})
    if phone:
        if not PHONE_RE.match(phone.removeprefix("+86")):
            raise ValidationError({"phone": _("手机号格式不正确")})
        channel, address = NotificationChannel.SMS, phone
    else:
        if not OPENID_RE.match(openid):
            raise ValidationError({"openid": _("openid格式不正确")})
        channel, address = NotificationChannel.WECHAT, openid
    cipher, masked, digest_value = _protect_address(channel, address)
    found = Subscription.objects.filter(
        user__isnull=True, case=case, channel=channel, address_digest=digest_value
    ).first()
    if found is not None:
        return found
    sub = Subscription.objects.create(
        case=case, channel=channel, address_cipher=cipher, address_masked=masked, address_digest=digest_value
    )
    audit_record(
        action=AuditAction.CREATE,
        obj=sub,
        object_repr=f"{case.tracking_code} {masked}",
        area_code=case.area_code,
        changes={"address": {"before": None, "after": masked}, "case": {"before": None, "after": case.pk}},
        actor_label=_("反映人"),
    )
    return sub
