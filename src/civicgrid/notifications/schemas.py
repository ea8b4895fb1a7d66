from __future__ import annotations

from datetime import datetime

from ninja import Schema


class NotificationOut(Schema):
    id: int
    channel: str
    subject: str
    body: str
    object_type: str
    object_id: str
    link: str
    created_at: datetime
    read_at: datetime | None


class UnreadOut(Schema):
    unread: int


class FollowIn(Schema):
    case_id: int | None = None
    area_code: str | None = None


class FollowOut(Schema):
    following: bool


class TrackFollowIn(Schema):
    tracking_code: str
    phone: str = ""
    openid: str = ""


class TrackFollowOut(Schema):
    tracking_code: str
    channel: str
    address: str
