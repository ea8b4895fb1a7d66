"""The actual population (实有人口). ID number, phone and detailed addresses are stored
only as ciphertext (``*_cipher``), with a masked copy for display (``*_masked``) and, for
exact search, a keyed blind index (``*_digest``). See civicgrid.common.crypto."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.common.models import AreaScopedModel, TimeStampedModel
from civicgrid.people.enums import (
    DisabilityCategory,
    DisabilityLevel,
    Gender,
    PersonTagKind,
    PoliticalStatus,
    ResidenceType,
)


class Person(AreaScopedModel, TimeStampedModel):
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), db_index=True)
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族")
    political_status = models.CharField(
        _("政治面貌"), max_length=20, choices=PoliticalStatus.choices, default=PoliticalStatus.MASSES
    )
    residence_type = models.CharField(
        _("人口类型"), max_length=16, choices=ResidenceType.choices, default=ResidenceType.REGISTERED, db_index=True
    )

    id_number_cipher = models.TextField(_("身份证号(密文)"))
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    id_number_digest = models.CharField(max_length=64, unique=True)

    phone_cipher = models.TextField(_("电话(密文)"), blank=True)
    phone_masked = models.CharField(_("电话"), max_length=20, blank=True)
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)

    registered_address_cipher = models.TextField(_("户籍地址(密文)"), blank=True)
    registered_address_masked = models.CharField(_("户籍地址"), max_length=200, blank=True)
    current_address_cipher = models.TextField(_("现住址(密文)"), blank=True)
    current_address_masked = models.CharField(_("现住址"), max_length=200, blank=True)

    grid = models.ForeignKey(
        "territory.Area", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="residents"
    )
    building = models.ForeignKey(
        "territory.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residents",
    )
    household = models.ForeignKey(
        "territory.Household",
        verbose_name=_("户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    relation_to_head = models.CharField(_("与户主关系"), max_length=20, blank=True)
    is_active = models.BooleanField(_("在册"), default=True)
    # Keyed digest of the last imported row's content: a re-import skips unchanged rows
    # without decrypting anything (see people.importing).
    row_digest = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["area_code", "name", "id"]
        indexes = [
            models.Index(fields=["area_code", "name"]),
            models.Index(fields=["grid", "name"]),
        ]
        permissions = [("reveal_person", _("可查看居民敏感信息明文"))]

    def __str__(self) -> str:
        return self.name


class PersonTag(models.Model):
    """A group a person belongs to, for the services of later modules."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tags")
    kind = models.CharField(_("标签"), max_length=32, choices=PersonTagKind.choices, db_index=True)
    disability_category = models.CharField(_("残疾类别"), max_length=16, choices=DisabilityCategory.choices, blank=True)
    disability_level = models.PositiveSmallIntegerField(
        _("残疾等级"), choices=DisabilityLevel.choices, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("人员标签")
        verbose_name_plural = _("人员标签")
        constraints = [models.UniqueConstraint(fields=["person", "kind"], name="uniq_person_tag")]

    def __str__(self) -> str:
        return self.get_kind_display()


class ImportJob(TimeStampedModel):
    """One uploaded Excel file and how its import went. Progress while the file is being
    written lives in the cache (the write transaction hides row updates from readers)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        VALIDATING = "validating", _("校验中")
        INVALID = "invalid", _("校验未通过")
        WRITING = "writing", _("写入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    area_code = models.CharField(max_length=20, blank=True, db_index=True)
    file = models.FileField(_("文件"), upload_to="people/imports/%Y/%m/", blank=True)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理"), default=0)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    unchanged_count = models.PositiveIntegerField(_("未变化"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    # [{"row": 5, "column": "身份证号", "message": "..."}], capped (see importing.MAX_REPORTED_ERRORS).
    errors = models.JSONField(_("错误报告"), default=list, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("人口导入任务")
        verbose_name_plural = _("人口导入任务")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.INVALID, self.Status.DONE, self.Status.FAILED}
