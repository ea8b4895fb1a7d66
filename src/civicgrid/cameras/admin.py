"""Admin: the camera registry (scoped, audited; the grid comes from the coordinates),
the alert rules and a read-only view of the alerts. Signing sources are edited in the
cases admin (告警接入源, ``WebhookSource``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.scope import ScopedAdminMixin, ensure_in_scope
from civicgrid.audit.admin_mixins import AuditedAdminMixin
from civicgrid.cameras.models import AlertRule, Camera, CameraAlert
from civicgrid.cameras.services import CODE_RE, locate_camera
from civicgrid.cases.permissions import CaseCapability


class CameraForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Camera
        fields = ("code", "name", "kind", "lon", "lat", "address", "source", "status")

    def clean_code(self) -> str:
        code = str(self.cleaned_data.get("code") or "").strip()
        if not CODE_RE.match(code):
            raise ValidationError(_("探头编号只能包含字母、数字、点、横线和下划线, 最长50个字符"))
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("lon") is not None and cleaned.get("lat") is not None:
            try:
                _x, _y, grid = locate_camera(cleaned["lon"], cleaned["lat"])
            except ValidationError as exc:
                self.add_error("lon", exc.messages)
            else:
                self.instance.grid = grid
                self.instance.area_code = grid.code
        return cleaned


@admin.register(Camera)
class CameraAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    form = CameraForm
    list_display = ("code", "name", "kind", "area_code", "grid", "status", "last_heartbeat_at", "source")
    list_filter = ("status", "kind", "source")
    search_fields = ("code", "name", "address", "area_code")
    list_select_related = ("grid", "source")
    readonly_fields = ("grid", "area_code", "last_heartbeat_at", "status_changed_at")
    show_full_result_count = False
    list_per_page = 100

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        ensure_in_scope(request.user, obj.area_code)
        if "status" in form.changed_data or not change:
            obj.status_changed_at = timezone.now()
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable instead: alerts keep their camera


class AlertRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = AlertRule
        fields = (
            "event_type",
            "label",
            "source",
            "makes_case",
            "category",
            "priority",
            "suppression_minutes",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        category = cleaned.get("category")
        if cleaned.get("makes_case") and category is None:
            self.add_error("category", _("生成案件的规则必须指定案件类别"))
        if category is not None and not category.is_active:
            self.add_error("category", _("该案件类别已停用"))
        event_type = cleaned.get("event_type")
        if event_type and cleaned.get("source") is None:
            clash = AlertRule.objects.filter(source__isnull=True, event_type=event_type).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("event_type", _("已有适用于所有平台的同一事件类型规则"))
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    form = AlertRuleForm
    list_display = (
        "event_type",
        "label",
        "source",
        "makes_case",
        "category",
        "priority",
        "suppression_minutes",
        "is_active",
    )
    list_filter = ("is_active", "makes_case", "source")
    search_fields = ("event_type", "label")
    list_select_related = ("source", "category")
    autocomplete_fields = ("category",)
    list_per_page = 100


@admin.register(CameraAlert)
class CameraAlertAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: alerts are written by the signed endpoint only."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("received_at", "camera", "event_type", "outcome", "case", "occurrence", "source", "delivery_id")
    list_filter = ("outcome", "source")
    search_fields = ("delivery_id", "event_type", "camera__code")
    list_select_related = ("camera", "case", "source")
    show_full_result_count = False
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in CameraAlert._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
