from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.common.models import TimeStampedModel


class Department(TimeStampedModel):
    """A functional or linkage department (职能/联动部门): police station, judicial office..."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=32, choices=DepartmentKind.choices, default=DepartmentKind.OTHER)
    # The territory the department serves; its handlers' scope.
    area = models.ForeignKey(
        "territory.Area", verbose_name=_("服务辖区"), on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A staff account, bound to one territory node (its scope) and a role."""

    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, db_index=True)
    area = models.ForeignKey(
        "territory.Area",
        verbose_name=_("所属辖区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        help_text=_("账号的数据范围: 只能看到本辖区及下级的数据"),
    )
    departments = models.ManyToManyField(Department, verbose_name=_("所属部门"), blank=True, related_name="members")
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    is_demo = models.BooleanField(_("演示账号"), default=False)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def scope_code(self) -> str:
        """The code prefix this user may see; empty means the whole installation."""
        return self.area.code if self.area_id and self.area else ""


class PasswordHistory(models.Model):
    """Earlier password hashes, so a password is not reused within the last N."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]
