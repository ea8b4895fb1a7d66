"""/api/notifications: the caller's in-app inbox, read marks and follow toggles; residents
follow a case by its tracking code (no account)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router
from ninja.pagination import paginate

from civicgrid.notifications import selectors, services
from civicgrid.notifications.models import Notification
from civicgrid.notifications.schemas import (
    FollowIn,
    FollowOut,
    NotificationOut,
    TrackFollowIn,
    TrackFollowOut,
    UnreadOut,
)

router = Router(tags=["notifications"])


@router.get("", response=list[NotificationOut], summary="我的站内消息 (unread=true 只看未读)")
@paginate
def list_notifications(request: HttpRequest, unread: bool = False) -> QuerySet[Notification]:
    return selectors.inbox(request.user, unread_only=unread)


@router.get("/unread-count", response=UnreadOut, summary="未读消息数")
def unread_count(request: HttpRequest) -> dict[str, int]:
    return {"unread": selectors.unread_count(request.user)}


@router.post("/read-all", response=UnreadOut, summary="全部标为已读")
def read_all(request: HttpRequest) -> dict[str, int]:
    services.notification_mark_all_read(user=request.user)
    return {"unread": 0}


@router.post("/{notification_id}/read", response=NotificationOut, summary="标为已读")
def mark_read(request: HttpRequest, notification_id: int) -> Notification:
    return services.notification_mark_read(user=request.user, notification_id=notification_id)


@router.post("/follow", response=FollowOut, summary="关注/取消关注 案件或区域 (切换)")
def follow(request: HttpRequest, body: FollowIn) -> dict[str, Any]:
    if (body.case_id is None) == (not body.area_code):
        raise ValidationError({"target": _("请指定一个案件或一个区域")})
    if body.case_id is not None:
        return {"following": services.subscription_toggle_case(user=request.user, case_id=body.case_id)}
    return {"following": services.subscription_toggle_area(user=request.user, area_code=str(body.area_code))}


@router.post("/track", auth=None, response=TrackFollowOut, summary="居民凭查询码关注案件 (短信或微信)")
def follow_by_tracking_code(request: HttpRequest, body: TrackFollowIn) -> dict[str, Any]:
    sub = services.subscription_follow_by_tracking_code(
        tracking_code=body.tracking_code, phone=body.phone, openid=body.openid
    )
    return {
        "tracking_code": sub.case.tracking_code if sub.case else "",
        "channel": sub.channel,
        "address": sub.address_masked,
    }
