"""Choices of the camera registry and its alerts. Codes are English, labels Chinese."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CameraKind(models.TextChoices):
    BULLET = "bullet", _("枪机")
    DOME = "dome", _("球机")
    PANORAMIC = "panoramic", _("全景摄像机")
    AI_VIDEO = "ai_video", _("AI 视频")
    IOT = "iot", _("IoT 传感器")


class CameraStatus(models.TextChoices):
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")
    DISABLED = "disabled", _("停用")


class AlertOutcome(models.TextChoices):
    CASE_OPENED = "case_opened", _("已生成案件")
    MERGED = "merged", _("已合并到未结案件")
    IGNORED_BY_RULE = "ignored_by_rule", _("按规则忽略")
    NO_RULE = "no_rule", _("未配置规则")
    CAMERA_DISABLED = "camera_disabled", _("探头已停用")
