from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.territory.models import Area, Building, Compound, Household, RoadSegment


class AuditedAdminMixin:
    """Admin edits go to the audit trail like any other write."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        changed = list(form.changed_data) if form is not None else []
        audit_record(
            action=AuditAction.UPDATE if change else AuditAction.CREATE, obj=obj, actor=request.user,
            area_code=str(getattr(obj, "area_code", "") or getattr(obj, "code", "")),
            changes={"fields": [f for f in changed if f != "geometry"] + (["geometry"] if "geometry" in changed else [])},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        code = str(getattr(obj, "area_code", "") or getattr(obj, "code", ""))
        audit_record(action=AuditAction.DELETE, obj=obj, actor=request.user, area_code=code)
        super().delete_model(request, obj)  # type: ignore[misc]


@admin.register(Area)
class AreaAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    scope_field = "code"
    list_display = ("code", "name", "level", "parent", "population", "households", "area_km2")
    list_filter = ("level", "street_kind")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    ordering = ("code",)
    list_select_related = ("parent",)
    list_per_page = 50


@admin.register(Compound)
class CompoundAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    scope_field = "area_code"
    list_display = ("code", "name", "grid", "address", "has_property_management")
    list_filter = ("has_property_management",)
    search_fields = ("code", "name", "address")
    raw_id_fields = ("grid",)
    list_select_related = ("grid",)
    list_per_page = 50


@admin.register(Building)
class BuildingAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    scope_field = "area_code"
    list_display = ("code", "compound_name", "name", "floors", "units", "grid")
    list_filter = ("floors", "units")
    search_fields = ("code", "name", "compound__name")
    raw_id_fields = ("compound", "grid")
    list_select_related = ("compound", "grid")
    list_per_page = 50

    @admin.display(description=_("小区"), ordering="compound__name")
    def compound_name(self, obj: Building) -> str:
        return obj.compound.name


@admin.register(Household)
class HouseholdAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    scope_field = "area_code"
    list_display = ("code", "building", "unit", "room")
    search_fields = ("code", "building__name", "building__compound__name")
    list_filter = ("unit",)
    raw_id_fields = ("building",)
    list_select_related = ("building", "building__compound")
    list_per_page = 50


@admin.register(RoadSegment)
class RoadSegmentAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    scope_field = "area_code"
    list_display = ("code", "name", "street", "length_m", "grid_count")
    list_filter = ("street",)
    search_fields = ("code", "name")
    raw_id_fields = ("street",)
    exclude = ("grids",)  # computed from the geometry (road_segment_assign_grids)
    list_select_related = ("street",)
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoadSegment]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_grid_count=Count("grids"))  # type: ignore[no-any-return]

    @admin.display(description=_("经过网格数"), ordering="_grid_count")
    def grid_count(self, obj: RoadSegment) -> int:
        return int(getattr(obj, "_grid_count", 0))

    def save_model(self, request: HttpRequest, obj: RoadSegment, form: Any, change: bool) -> None:
        from civicgrid.territory.services import road_segment_assign_grids

        super().save_model(request, obj, form, change)
        road_segment_assign_grids(segment=obj)
