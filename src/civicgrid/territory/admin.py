"""Admin for the territory. Scope (ScopedAdminMixin), capabilities and the audit trail
(AuditedAdminMixin) come from the shared mixins; geometry appears in audit diffs only as
"changed"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.permissions import Capability
from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.admin_mixins import AuditedAdminMixin
from civicgrid.territory.models import Area, Building, Compound, Household, Responsibility, RoadSegment


class TerritoryAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = Capability.VIEW_TERRITORY
    admin_edit_capability = Capability.EDIT_TERRITORY
    audit_mask = ("geometry",)
    list_per_page = 50


@admin.register(Area)
class AreaAdmin(TerritoryAdmin):
    scope_field = "code"
    list_display = ("code", "name", "level", "parent", "population", "households", "area_km2")
    list_filter = ("level", "street_kind")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    ordering = ("code",)
    list_select_related = ("parent",)

    def audit_area_code(self, obj: Any) -> str:
        return str(obj.code)


@admin.register(Compound)
class CompoundAdmin(TerritoryAdmin):
    scope_field = "area_code"
    list_display = ("code", "name", "grid", "address", "has_property_management")
    list_filter = ("has_property_management",)
    search_fields = ("code", "name", "address")
    raw_id_fields = ("grid",)
    list_select_related = ("grid",)


@admin.register(Building)
class BuildingAdmin(TerritoryAdmin):
    scope_field = "area_code"
    list_display = ("code", "compound_name", "name", "floors", "units", "grid")
    list_filter = ("floors", "units")
    search_fields = ("code", "name", "compound__name")
    raw_id_fields = ("compound", "grid")
    list_select_related = ("compound", "grid")

    @admin.display(description=_("小区"), ordering="compound__name")
    def compound_name(self, obj: Building) -> str:
        return obj.compound.name


@admin.register(Household)
class HouseholdAdmin(TerritoryAdmin):
    scope_field = "area_code"
    list_display = ("code", "building", "unit", "room")
    search_fields = ("code", "building__name", "building__compound__name")
    list_filter = ("unit",)
    raw_id_fields = ("building",)
    list_select_related = ("building", "building__compound")


@admin.register(RoadSegment)
class RoadSegmentAdmin(TerritoryAdmin):
    scope_field = "area_code"
    list_display = ("code", "name", "street", "length_m", "grid_count")
    list_filter = ("street",)
    search_fields = ("code", "name")
    raw_id_fields = ("street",)
    exclude = ("grids",)  # computed from the geometry by road_segment_assign_grids
    list_select_related = ("street",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoadSegment]:
        return super().get_queryset(request).annotate(_grid_count=Count("grids"))  # type: ignore[no-any-return]

    @admin.display(description=_("经过网格数"), ordering="_grid_count")
    def grid_count(self, obj: RoadSegment) -> int:
        return int(getattr(obj, "_grid_count", 0))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        from civicgrid.territory.services import road_segment_assign_grids

        super().save_related(request, form, formsets, change)
        road_segment_assign_grids(segment=form.instance)


@admin.register(Responsibility)
class ResponsibilityAdmin(TerritoryAdmin):
    scope_field = "area_code"
    list_display = ("user", "duty", "area", "road_segment")
    list_filter = ("duty",)
    search_fields = ("user__username", "user__display_name", "area__code", "area__name", "road_segment__name")
    raw_id_fields = ("user", "area", "road_segment")
    exclude = ("area_code",)
    list_select_related = ("user", "area", "road_segment")
