"""Admin of assessment schemes: the system administrator sets the weights (audited; the
model and the database both refuse weights that do not sum to 100)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.permissions import MANAGE_SCHEMES
from civicgrid.audit.admin_mixins import AuditedAdminMixin


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = MANAGE_SCHEMES
    admin_edit_capability = MANAGE_SCHEMES
    list_display = (
        "name",
        "effective_from",
        "is_active",
        "weight_on_time_sign_for",
        "weight_resolution",
        "weight_satisfaction",
        "weight_closure",
        "weight_rehandling",
    )
    list_filter = ("is_active",)
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "effective_from", "is_active", "note")}),
        (
            _("权重 (合计必须为100)"),
            {
                "fields": (
                    "weight_on_time_sign_for",
                    "weight_resolution",
                    "weight_satisfaction",
                    "weight_closure",
                    "weight_rehandling",
                ),
                "description": _("得分 = 100 × Σ(权重 × 指标值) / Σ权重; 发回重办率按 (1 - 发回重办率) 计入。"),
            },
        ),
    )
