"""Notification reads: a user's own in-app inbox and subscriptions (never anyone else's)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from civicgrid.notifications.enums import NotificationChannel
from civicgrid.notifications.models import Notification, Subscription


def inbox(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient_id=user.pk, channel=NotificationChannel.IN_APP)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(user: Any) -> int:
    return inbox(user, unread_only=True).count()


def subscriptions(user: Any) -> QuerySet[Subscription]:
    if not getattr(user, "is_authenticated", False):
        return Subscription.objects.none()
    return Subscription.objects.filter(user_id=user.pk).select_related("case").order_by("-created_at", "-id")


def is_following_case(user: Any, case_id: int) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        Subscription.objects.filter(user_id=user.pk, case_id=case_id).exists()
    )


def is_following_area(user: Any, area_code: str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        Subscription.objects.filter(user_id=user.pk, case__isnull=True, area_code=area_code).exists()
    )
