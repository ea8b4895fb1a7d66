"""The outbox dispatcher: claims due SMS/WeChat rows and hands them to their gateway.

``deliver_pending(batch)`` works in three short steps, so no transaction is held open while a
gateway talks to the outside world:

1. claim (one transaction): pick up to ``batch`` rows that are ``pending`` and due, or
   ``sending`` with an expired lease (their worker died), lock them with
   ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent dispatchers never pick the
   same row; on SQLite the IMMEDIATE transaction makes the claim a single writer), and mark
   them ``sending`` with a fresh ``claim_token``, ``lease_until`` and ``attempts + 1``;
2. send each claimed row through ``gateways.gateway_for(channel)``;
3. settle each row with an UPDATE guarded by its ``claim_token``: ``sent``; or, when the
   gateway failed, ``pending`` again with an exponential backoff (``failed`` after
   NOTIFICATIONS_MAX_ATTEMPTS). A worker whose lease expired and whose row was claimed again
   cannot settle it any more (its token is stale).

A row is marked ``sent`` exactly once; a crash before the send means the lease expires and the
row is delivered once later. A crash after the provider accepted the message but before the
"sent" mark causes one redelivery, which the provider drops by the stable ``message_id``
(see gateways)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from civicgrid.notifications.enums import EXTERNAL_CHANNELS, NotificationStatus
from civicgrid.notifications.gateways import OutgoingMessage, gateway_for
from civicgrid.notifications.models import ADDRESS_CONTEXT, Notification

logger = logging.getLogger("civicgrid.notifications")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def lease_seconds() -> float:
    return float(_setting("NOTIFICATIONS_LEASE_SECONDS", 300))


def max_attempts() -> int:
    return int(_setting("NOTIFICATIONS_MAX_ATTEMPTS", 6))


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: base * 2^(n-1), capped."""
    base = float(_setting("NOTIFICATIONS_BACKOFF_SECONDS", 30))
    cap = float(_setting("NOTIFICATIONS_BACKOFF_MAX_SECONDS", 3600))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    lost_lease: int = 0
    ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def _due_q(now: datetime) -> Q:
    return Q(status=NotificationStatus.PENDING, available_at__lte=now) | Q(
        status=NotificationStatus.SENDING, lease_until__lt=now
    )


def claim(batch: int, *, now: datetime | None = None) -> tuple[str, list[Notification]]:
    """Step 1: claim up to ``batch`` due rows for this call; returns (token, rows)."""
    now = now or timezone.now()
    token = secrets.token_hex(8)
    with transaction.atomic():
        qs = Notification.objects.filter(_due_q(now), channel__in=list(EXTERNAL_CHANNELS)).order_by(
            "available_at", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:batch])
        if not ids:
            return token, []
        from django.db.models import F

        # Guarded by the due condition again: on SQLite (no row locks) a concurrent claimer
        # that got there first makes this update skip the row.
        Notification.objects.filter(_due_q(now), pk__in=ids).update(
            status=NotificationStatus.SENDING,
            claim_token=token,
            lease_until=now + timedelta(seconds=lease_seconds()),
            attempts=F("attempts") + 1,
        )
        rows = list(Notification.objects.filter(pk__in=ids, claim_token=token).order_by("available_at", "id"))
    return token, rows


def send_one(row: Notification) -> None:
    """Step 2: hand one claimed row to its gateway (raises when not delivered)."""
    from civicgrid.common.protected import reveal

    message = OutgoingMessage(
        message_id=row.dedupe_key,
        channel=row.channel,
        address=reveal(row.address_cipher, context=ADDRESS_CONTEXT),
        subject=row.subject,
        body=row.body,
        link=row.link,
    )
    gateway_for(row.channel).send(message)


def settle(row: Notification, token: str, *, ok: bool, error: str = "", now: datetime | None = None) -> str:
    """Step 3: record the outcome if this call still holds the claim; returns the new status
    ("" when the claim was lost to another worker after the lease expired)."""
    now = now or timezone.now()
    mine = Notification.objects.filter(pk=row.pk, claim_token=token, status=NotificationStatus.SENDING)
    if ok:
        status = NotificationStatus.SENT
        n = mine.update(status=status, sent_at=now, lease_until=None, last_error="")
    elif row.attempts >= max_attempts():
        status = NotificationStatus.FAILED
        n = mine.update(status=status, lease_until=None, last_error=error[:500])
    else:
        status = NotificationStatus.PENDING
        n = mine.update(
            status=status, lease_until=None, available_at=now + backoff(row.attempts), last_error=error[:500]
        )
    return status if n else ""


def deliver_pending(batch: int = 100, *, now: datetime | None = None) -> DeliveryReport:
    """Claim, send and settle up to ``batch`` due messages (safe to run in many workers)."""
    report = DeliveryReport()
    token, rows = claim(batch, now=now)
    report.claimed = len(rows)
    for row in rows:
        try:
            send_one(row)
        except Exception as exc:  # any gateway failure: retry later
            logger.warning("notification %s via %s failed: %s", row.pk, row.channel, exc)
            outcome = settle(row, token, ok=False, error=f"{type(exc).__name__}: {exc}", now=now)
        else:
            outcome = settle(row, token, ok=True, now=now)
        if outcome == NotificationStatus.SENT:
            report.sent += 1
            report.ids.append(row.pk)
        elif outcome == NotificationStatus.PENDING:
            report.retried += 1
        elif outcome == NotificationStatus.FAILED:
            report.failed += 1
        else:
            report.lost_lease += 1
    return report
