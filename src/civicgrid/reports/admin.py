"""Admin: schedules (the system administrator or a superuser picks the account a schedule's
figures follow; owner and recipients are validated like on the page; every save is audited) and
the generated reports (read-only; deleting one is audited and removes its files)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from civicgrid.accounts.permissions import Capability
from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.admin_mixins import AuditedAdminMixin
from civicgrid.reports.models import Report, ReportSchedule
from civicgrid.reports.permissions import reader_refusal


class ReportScheduleAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ReportSchedule
        fields = ("name", "area", "period_kind", "want_xlsx", "want_pdf", "owner", "recipients", "is_active")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        area = data.get("area")
        if area is None:
            return data
        owner = data.get("owner")
        if owner is not None and (reason := reader_refusal(owner, area.code)):
            self.add_error("owner", reason)
        for user in data.get("recipients") or []:
            if reason := reader_refusal(user, area.code):
                self.add_error("recipients", reason)
        return data


@admin.register(ReportSchedule)
class ReportScheduleAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = Capability.CASES_ADMIN
    admin_edit_capability = Capability.CASES_ADMIN
    form = ReportScheduleAdminForm
    list_display = ("name", "area", "period_kind", "want_xlsx", "want_pdf", "owner", "is_active", "last_period_key")
    list_filter = ("period_kind", "is_active")
    search_fields = ("name", "area_code")
    autocomplete_fields = ()
    filter_horizontal = ("recipients",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.area_code = obj.area.code
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Report)
class ReportAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = Capability.CASES_ADMIN
    admin_edit_capability = Capability.CASES_ADMIN
    list_display = ("area_name", "period_kind", "period_key", "status", "requested_by", "schedule", "created_at")
    list_filter = ("period_kind", "status")
    search_fields = ("area_code", "area_name", "period_key")
    readonly_fields = [f.name for f in Report._meta.fields if f.name != "data"]
    exclude = ("data",)  # every figure as JSON: long, read through the API
    audit_exclude = ("summary", "data")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        files = [f for f in (obj.xlsx_file, obj.pdf_file) if f]
        super().delete_model(request, obj)
        for f in files:
            f.storage.delete(f.name)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        files = [f for r in queryset for f in (r.xlsx_file, r.pdf_file) if f]
        super().delete_queryset(request, queryset)
        for f in files:
            f.storage.delete(f.name)


__all__ = ["ReportAdmin", "ReportScheduleAdmin", "ValidationError"]
