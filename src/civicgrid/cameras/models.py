"""The camera registry (探头), the rules that turn alerts into cases, the alerts themselves
and the link between a camera's repeated alerts and the one open case they merge into."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.cameras.enums import AlertOutcome, CameraKind, CameraStatus
from civicgrid.cases.enums import Priority
from civicgrid.cases.models import Case, CasePhoto, Category, WebhookSource
from civicgrid.common.models import TimeStampedModel
from civicgrid.territory.models import Area


class Camera(TimeStampedModel):
    """One camera or sensor. ``area_code`` is its grid's code (scope works as for every
    other record); the grid comes from ``territory.locate`` on its coordinates."""

    code = models.CharField(_("编号"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=CameraKind.choices, default=CameraKind.BULLET)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    address = models.CharField(_("安装位置"), max_length=200, blank=True)
    grid = models.ForeignKey(Area, verbose_name=_("所在网格"), on_delete=models.PROTECT, related_name="cameras")
    area_code = models.CharField(_("辖区编码"), max_length=20, editable=False)
    source = models.ForeignKey(
        WebhookSource,
        verbose_name=_("接入平台"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cameras",
        help_text=_("只接受该平台发来的告警和心跳; 留空则任何已登记的平台均可"),
    )
    status = models.CharField(_("状态"), max_length=10, choices=CameraStatus.choices, default=CameraStatus.OFFLINE)
    status_changed_at = models.DateTimeField(_("状态变化时间"), null=True, blank=True, editable=False)
    last_heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("视频探头")
        verbose_name_plural = _("视频探头")
        ordering = ["area_code", "code"]
        indexes = [
            models.Index(fields=["area_code", "code"], name="camera_area_code"),
            models.Index(fields=["status", "last_heartbeat_at"], name="camera_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AlertRule(TimeStampedModel):
    """Which event types make cases, in which category, at what priority, and how long
    repeated alerts of one camera merge into its open case. A rule of a source wins over
    the rule without a source (which applies to every source)."""

    source = models.ForeignKey(
        WebhookSource,
        verbose_name=_("接入平台"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_rules",
        help_text=_("留空则适用于所有平台"),
    )
    event_type = models.SlugField(_("事件类型"), max_length=50)
    label = models.CharField(_("名称"), max_length=100, blank=True)
    makes_case = models.BooleanField(_("生成案件"), default=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("案件类别"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alert_rules",
    )
    priority = models.CharField(
        _("优先级"), max_length=10, choices=Priority.choices, blank=True, help_text=_("留空则用类别的默认优先级")
    )
    suppression_minutes = models.PositiveIntegerField(
        _("合并时间窗(分钟)"),
        default=30,
        help_text=_("同一探头同一事件在此时间内再次告警, 合并到未结案件并累计次数; 0 表示不合并"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("告警规则")
        verbose_name_plural = _("告警规则")
        ordering = ["event_type", "source__name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_type"], name="alertrule_once_per_source"),
            models.UniqueConstraint(
                fields=["event_type"], condition=models.Q(source__isnull=True), name="alertrule_once_global"
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.event_type


class CameraCaseLink(models.Model):
    """The open case of one camera and event type, with how many alerts merged into it.
    At most one open link per (camera, event type): the database refuses a second, so two
    alerts arriving together cannot open two cases."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="case_links")
    event_type = models.CharField(max_length=50)
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="camera_link")
    occurrences = models.PositiveIntegerField(_("告警次数"), default=1)
    first_at = models.DateTimeField(_("首次告警"))
    last_at = models.DateTimeField(_("最近告警"))
    is_open = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("探头案件")
        verbose_name_plural = _("探头案件")
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "event_type"], condition=models.Q(is_open=True), name="cameracaselink_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.camera_id}:{self.event_type} → {self.case_id} ×{self.occurrences}"


class CameraAlert(models.Model):
    """One accepted alert delivery. (source, delivery_id) is unique: a redelivery answers
    what the first one did and writes nothing."""

    source = models.ForeignKey(WebhookSource, verbose_name=_("接入平台"), on_delete=models.PROTECT, related_name="+")
    delivery_id = models.CharField(_("投递编号"), max_length=100)
    camera = models.ForeignKey(Camera, verbose_name=_("探头"), on_delete=models.PROTECT, related_name="alerts")
    event_type = models.CharField(_("事件类型"), max_length=50)
    occurred_at = models.DateTimeField(_("告警时间"))
    received_at = models.DateTimeField(_("接收时间"))
    description = models.CharField(_("说明"), max_length=500, blank=True)
    rule = models.ForeignKey(
        AlertRule, verbose_name=_("规则"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("处理结果"), max_length=20, choices=AlertOutcome.choices)
    case = models.ForeignKey(
        Case, verbose_name=_("案件"), null=True, blank=True, on_delete=models.SET_NULL, related_name="camera_alerts"
    )
    occurrence = models.PositiveIntegerField(_("第几次"), default=0)
    snapshot = models.ForeignKey(
        CasePhoto, verbose_name=_("抓拍"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    had_snapshot = models.BooleanField(_("附带抓拍"), default=False)
    area_code = models.CharField(max_length=20)

    class Meta:
        verbose_name = _("探头告警")
        verbose_name_plural = _("探头告警")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="cameraalert_once_per_delivery")]
        indexes = [
            models.Index(fields=["camera", "-received_at"], name="cameraalert_camera_recent"),
            models.Index(fields=["area_code", "-received_at"], name="cameraalert_area_recent"),
            models.Index(fields=["outcome", "-received_at"], name="cameraalert_outcome_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.camera_id}:{self.event_type}@{self.occurred_at:%Y-%m-%d %H:%M:%S}"


class CameraImport(TimeStampedModel):
    """One uploaded Excel file of cameras: first checked (a dry run whose preview and
    errors are kept here), then, when the uploader confirms, written in one transaction.
    Live progress lives in the cache (the write transaction hides row updates)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        VALIDATING = "validating", _("校验中")
        INVALID = "invalid", _("校验未通过")
        READY = "ready", _("待确认导入")
        WRITING = "writing", _("写入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(
        "accounts.User", verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    area_code = models.CharField(max_length=20, blank=True, db_index=True)
    file = models.FileField(_("文件"), upload_to="cameras/imports/%Y/%m/", blank=True)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    # [{"row": 5, "column": "经度", "message": "..."}], capped (importing.MAX_REPORTED_ERRORS).
    errors = models.JSONField(_("错误报告"), default=list, blank=True)
    # The rows as the dry run would write them (code, name, kind, grid ...), for the preview.
    preview = models.JSONField(_("预览"), default=list, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    checked_at = models.DateTimeField(_("校验时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("探头导入任务")
        verbose_name_plural = _("探头导入任务")
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "-id"], name="cameraimport_user_recent")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        """The page keeps polling while the file is being checked or written."""
        return self.status in {self.Status.PENDING, self.Status.VALIDATING, self.Status.WRITING}
