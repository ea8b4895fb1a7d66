"""Generated reports (one row per generation: its node, period, formats, status, files) and the
schedules that generate them every month, half-year or year.

Files live OUTSIDE ``MEDIA_ROOT`` (``conf.private_root()``), because /media/ is served to anyone;
the scoped download view serves them."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.reports.periods import PERIOD_KINDS


def report_storage() -> Storage:
    from civicgrid.reports.conf import private_root

    return FileSystemStorage(location=str(private_root()), base_url=None)


PERIOD_KIND_CHOICES = [(k, v) for k, v in PERIOD_KINDS.items()]


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ReportSchedule(models.Model):
    """Generate the report of ``area`` for every completed period of ``period_kind`` (last
    month / half-year / year), once, as ``owner`` (whose scope and rights the figures follow),
    and tell ``recipients`` (in-app) when it is ready."""

    name = models.CharField(_("名称"), max_length=100)
    area = models.ForeignKey("territory.Area", verbose_name=_("辖区"), on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("辖区编码"), max_length=20, db_index=True, editable=False)
    period_kind = models.CharField(_("报表类型"), max_length=8, choices=PERIOD_KIND_CHOICES)
    want_xlsx = models.BooleanField(_("Excel"), default=True)
    want_pdf = models.BooleanField(_("PDF"), default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成身份"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("报表按此用户的辖区与权限统计 (须能查看案件, 且辖区包含所选节点)"),
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), blank=True, related_name="report_schedules"
    )
    is_active = models.BooleanField(_("启用"), default=True)
    last_period_key = models.CharField(_("最近生成周期"), max_length=10, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("定时报表")
        verbose_name_plural = _("定时报表")
        ordering = ["area_code", "period_kind", "id"]
        indexes = [models.Index(fields=["is_active", "period_kind"], name="report_sched_active")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(want_xlsx=True) | models.Q(want_pdf=True),
                name="report_sched_has_format",
                violation_error_message=_("请至少选择一种格式 (Excel 或 PDF)"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_period_kind_display()})"

    @property
    def formats_label(self) -> str:
        return " + ".join(f for f, on in (("Excel", self.want_xlsx), ("PDF", self.want_pdf)) if on)


class Report(models.Model):
    area = models.ForeignKey("territory.Area", verbose_name=_("辖区"), on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("辖区编码"), max_length=20)
    area_name = models.CharField(_("辖区名称"), max_length=100)
    period_kind = models.CharField(_("报表类型"), max_length=8, choices=PERIOD_KIND_CHOICES)
    period_key = models.CharField(_("报表周期"), max_length=10)
    period_start = models.DateField(_("开始日期"))
    period_end = models.DateField(_("结束日期"))
    want_xlsx = models.BooleanField(_("Excel"), default=True)
    want_pdf = models.BooleanField(_("PDF"), default=True)
    status = models.CharField(_("状态"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成身份"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    schedule = models.ForeignKey(
        ReportSchedule,
        verbose_name=_("定时报表"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    xlsx_file = models.FileField(_("Excel 文件"), storage=report_storage, upload_to="%Y/%m/", blank=True)
    pdf_file = models.FileField(_("PDF 文件"), storage=report_storage, upload_to="%Y/%m/", blank=True)
    xlsx_size = models.PositiveBigIntegerField(_("Excel 大小"), default=0)
    pdf_size = models.PositiveBigIntegerField(_("PDF 大小"), default=0)
    # A few headline figures for the list (received, closed, closure_rate, overdue).
    summary = models.JSONField(_("摘要"), default=dict, blank=True)
    # Every figure of the report as JSON (``content.report_json``), kept with the files so the
    # API returns the numbers the files show; empty until done (and for reports made before it).
    data = models.JSONField(_("报表数据"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("统计报表")
        verbose_name_plural = _("统计报表")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["area_code", "-created_at"], name="report_area_recent"),
            models.Index(fields=["requested_by", "-created_at"], name="report_requester_recent"),
            models.Index(fields=["created_at"], name="report_created"),
        ]
        constraints = [
            # A schedule makes each period once (the idempotency of the periodic job).
            models.UniqueConstraint(
                fields=["schedule", "period_key"],
                condition=models.Q(schedule__isnull=False),
                name="report_schedule_period_once",
            ),
            models.CheckConstraint(
                condition=models.Q(want_xlsx=True) | models.Q(want_pdf=True),
                name="report_has_format",
                violation_error_message=_("请至少选择一种格式 (Excel 或 PDF)"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_name} {self.period_key} ({self.get_period_kind_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ReportStatus.DONE, ReportStatus.FAILED)

    @property
    def formats_label(self) -> str:
        return " + ".join(f for f, on in (("Excel", self.want_xlsx), ("PDF", self.want_pdf)) if on)

    def download_name(self, fmt: str) -> str:
        return f"report-{self.area_code}-{self.period_key}.{fmt}"
