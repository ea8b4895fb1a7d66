"""Choices of the notification outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")


# Channels delivered by a gateway (the in-app inbox row is its own delivery).
EXTERNAL_CHANNELS = frozenset({NotificationChannel.SMS, NotificationChannel.WECHAT})


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
