"""Admin of the register (system administrator, ``indicators.manage``): indicators and their
yearly targets, audited and scoped. Values are read-only here: they are entered through the
pages, the API or the import (services), which keep the version history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civicgrid.accounts.permissions import Capability
from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.admin_mixins import AuditedAdminMixin, AuditedInlineMixin
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.indicators.services import FROZEN_WITH_VALUES


class IndicatorTargetInline(AuditedInlineMixin, admin.TabularInline):  # type: ignore[type-arg]
    admin_view_capability = Capability.VIEW_INDICATORS
    admin_edit_capability = Capability.MANAGE_INDICATORS
    model = IndicatorTarget
    extra = 1
    fields = ("year", "target")


@admin.register(Indicator)
class IndicatorAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = Capability.MANAGE_INDICATORS
    admin_edit_capability = Capability.MANAGE_INDICATORS
    list_display = (
        "code",
        "name",
        "department",
        "unit",
        "period_kind",
        "aggregation",
        "area_code",
        "is_public",
        "is_active",
    )
    list_filter = ("period_kind", "aggregation", "is_public", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("department",)
    raw_id_fields = ("area",)
    inlines = [IndicatorTargetInline]
    fields = (
        "code",
        "name",
        "description",
        "department",
        "unit",
        "period_kind",
        "aggregation",
        "area",
        "is_public",
        "sort_order",
        "is_active",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Once values exist, what they mean (unit, period, aggregation, territory) is fixed."""
        if obj is not None and IndicatorValue.objects.filter(indicator=obj).exists():
            return ("code", *FROZEN_WITH_VALUES)
        return ("code",) if obj is not None else ()


@admin.register(IndicatorValue)
class IndicatorValueAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = Capability.MANAGE_INDICATORS
    admin_edit_capability = Capability.MANAGE_INDICATORS
    list_display = ("indicator", "period_key", "value", "version", "is_current", "source", "entered_by", "entered_at")
    list_filter = ("is_current", "source", "year")
    list_select_related = ("indicator", "entered_by")
    search_fields = ("indicator__code", "indicator__name", "period_key")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
