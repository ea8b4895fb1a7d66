from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.utils import timezone
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Whenever a password is set (set_password, any form, the admin, createadmin) the new
        hash goes to PasswordHistory, the change time is stamped and, for an existing
        account, the change is audited. A hasher upgrade on log-in is not a change."""
        from civicgrid.accounts.permissions import ROLE_CAPABILITIES, Capability

        # is_staff only lets the admin's own log-in form through; it follows the role.
        self.is_staff = self.is_superuser or Capability.USE_ADMIN in ROLE_CAPABILITIES.get(str(self.role), ())
        password_set = getattr(self, "_password", None) is not None
        adding = self._state.adding
        if password_set:
            self.password_changed_at = timezone.now()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "password" in update_fields:
                kwargs["update_fields"] = {*update_fields, "password_changed_at"}
        with transaction.atomic():
            super().save(*args, **kwargs)
            if password_set:
                self._record_password()
                if not adding:
                    from civicgrid.audit.enums import AuditAction
                    from civicgrid.audit.services import audit_record

                    audit_record(
                        action=AuditAction.PASSWORD_CHANGE,
                        obj=self,
                        area_code=self.area.code if self.area_id and self.area else "",
                    )

    def _record_password(self) -> None:
        PasswordHistory.objects.create(user=self, password_hash=self.password)
        keep = max(1, int(getattr(settings, "PASSWORD_HISTORY_COUNT", 5)))
        stale = list(self.password_history.order_by("-created_at", "-id").values_list("pk", flat=True)[keep:])
        if stale:
            PasswordHistory.objects.filter(pk__in=stale).delete()

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
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.created_at:%Y-%m-%d}"
