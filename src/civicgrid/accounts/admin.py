"""The Django admin for accounts and departments, and who may use the admin at all.

- The admin site admits superusers and roles with ``admin.use`` (system and security
  administrators); the audit administrator gets in only to read the audit trail.
- Every save/delete is audited (AuditedAdminMixin), everything is scoped to the actor's
  territory (ScopedAdminMixin), and the same assignment rules as the services apply
  (``validate_account_assignment``): an actor gives only areas inside their scope, only
  the security administrator hands out the three administrator roles, nobody changes
  their own role or territory.
- Passwords are set only through the password forms, which run every validator
  (length, classes, history) and record the history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, User
from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import ScopedAdminMixin, scope_queryset
from civicgrid.accounts.services import ADMIN_ROLES, validate_account_assignment
from civicgrid.audit.admin_mixins import AuditedAdminMixin, admin_allowed
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.territory.models import Area

# --- the site -----------------------------------------------------------------------------
admin.site.site_header = _("智慧玉泉 · 系统管理")
admin.site.site_title = _("智慧玉泉系统管理")
admin.site.index_title = _("管理首页")
admin.site.site_url = "/"


def site_has_permission(request: HttpRequest) -> bool:
    """Replaces AdminSite.has_permission: capabilities, not the is_staff flag."""
    user = request.user
    return admin_allowed(user) or (
        getattr(user, "is_authenticated", False) and has_capability(user, Capability.VIEW_AUDIT)
    )


admin.site.has_permission = site_has_permission  # type: ignore[method-assign]


def may_manage_admin_roles(user: Any) -> bool:
    return bool(user.is_superuser or has_capability(user, Capability.MANAGE_SECURITY))


# --- forms --------------------------------------------------------------------------------
class _AssignmentMixin:
    """Runs the service rules in the form, so the admin cannot do what the API refuses."""

    actor: Any = None

    def _check_assignment(self, cleaned: dict[str, Any], target: User | None) -> None:
        role = cleaned.get("role") or (target.role if target else "")
        area = cleaned.get("area") if "area" in cleaned else (target.area if target else None)
        try:
            validate_account_assignment(actor=self.actor, role=role, area=area, target=target)
        except PermissionDenied as exc:
            raise ValidationError(str(exc) or gettext("没有权限")) from exc


class AccountCreationForm(_AssignmentMixin, UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name", "role", "area", "departments", "mobile", "is_demo")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        self._check_assignment(cleaned, None)
        return cleaned


class AccountChangeForm(_AssignmentMixin, UserChangeForm):  # type: ignore[type-arg]
    class Meta(UserChangeForm.Meta):
        model = User
        fields = (  # type: ignore[assignment]
            "username",
            "display_name",
            "role",
            "area",
            "departments",
            "mobile",
            "is_active",
            "is_demo",
        )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # self.instance still holds the stored values here (the form copies them in later).
        target = User.objects.select_related("area").get(pk=self.instance.pk)
        self._check_assignment(cleaned, target)
        if target.pk == getattr(self.actor, "pk", None) and cleaned.get("is_active") is False:
            raise ValidationError(gettext("不能停用自己的账号"))
        return cleaned


class PasswordSetForm(AdminPasswordChangeForm):  # type: ignore[type-arg]
    """The admin's password form without the "disable password log-in" switch: a password
    is always set, through every validator (including the history)."""

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = True
        self.fields["password2"].required = True

    def clean(self) -> dict[str, Any]:
        self.cleaned_data["set_usable_password"] = True
        return super().clean() or {}


# --- model admins ---------------------------------------------------------------------------
@admin.register(User)
class UserAdmin(AuditedAdminMixin, ScopedAdminMixin, DjangoUserAdmin):  # type: ignore[type-arg]
    scope_field = "area__code"
    admin_view_capability = Capability.MANAGE_ACCOUNTS
    admin_edit_capability = Capability.MANAGE_ACCOUNTS
    audit_exclude = ("date_joined", "password_changed_at")

    form = AccountChangeForm
    add_form = AccountCreationForm
    change_password_form = PasswordSetForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("身份与辖区"), {"fields": ("display_name", "role", "area", "departments", "mobile")}),
        (_("状态"), {"fields": ("is_active", "is_demo", "password_changed_at", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "display_name",
                    "role",
                    "area",
                    "departments",
                    "mobile",
                    "is_demo",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("password_changed_at", "last_login", "date_joined")
    list_display = ("username", "display_name", "role", "area", "is_active", "is_demo", "last_login")
    list_filter = ("role", "is_active", "is_demo")
    list_select_related = ("area",)
    search_fields = ("username", "display_name")
    ordering = ("username",)
    filter_horizontal = ("departments",)
    actions = ["unlock_accounts"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"actor": request.user})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        admin_target = obj is not None and obj.role in ADMIN_ROLES
        return not admin_target or may_manage_admin_roles(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Accounts are deactivated, never deleted: the audit trail names them.
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "area":
            kwargs["queryset"] = scope_queryset(request.user, Area.objects.all(), "code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "departments":
            kwargs["queryset"] = scope_queryset(request.user, Department.objects.all(), "area__code")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "role" and not may_manage_admin_roles(request.user):
            kwargs["choices"] = [(v, label) for v, label in Role.choices if v not in ADMIN_ROLES]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.action(description=_("解除登录锁定"))
    def unlock_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        from axes.utils import reset

        if not may_manage_admin_roles(request.user):
            raise PermissionDenied
        for user in queryset:
            reset(username=user.username)
            audit_record(
                action=AuditAction.UPDATE,
                obj=user,
                area_code=user.area.code if user.area else "",
                changes={"locked_out": {"before": None, "after": False}},
                message="unlock",
                actor=request.user,
            )
        self.message_user(request, gettext("已解除所选账号的登录锁定。"), messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not may_manage_admin_roles(request.user):
            actions.pop("unlock_accounts", None)
        return actions


class DepartmentForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Department
        fields = ("code", "name", "kind", "area", "phone", "is_active")


@admin.register(Department)
class DepartmentAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    scope_field = "area__code"
    admin_view_capability = Capability.MANAGE_ACCOUNTS
    admin_edit_capability = Capability.MANAGE_ACCOUNTS
    form = DepartmentForm
    list_display = ("code", "name", "kind", "area", "phone", "is_active")
    list_filter = ("kind", "is_active")
    list_select_related = ("area",)
    search_fields = ("code", "name")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "area":
            kwargs["queryset"] = scope_queryset(request.user, Area.objects.all(), "code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
