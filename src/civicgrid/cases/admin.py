"""Admin: categories and the routing table are edited here (cases.admin); cases are
read-only here (they change only through the workflow)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.admin_mixins import AuditedAdminMixin
from civicgrid.cases.models import Case, CaseEvent, Category, ResponseTemplate, RoutingRule
from civicgrid.cases.permissions import CaseCapability


@admin.register(Category)
class CategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("code", "name", "parent", "handling", "department", "priority", "is_public", "is_active")
    list_filter = ("is_active", "is_public", "handling", "priority")
    search_fields = ("code", "name")
    list_select_related = ("parent", "department")
    autocomplete_fields = ("department",)
    ordering = ("sort_order", "code")
    list_per_page = 100

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: cases keep their category


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("id", "name", "order", "category", "area_prefix", "target", "department", "tier", "is_active")
    list_filter = ("is_active", "target", "tier")
    search_fields = ("name", "area_prefix")
    list_select_related = ("category", "department")
    autocomplete_fields = ("department",)
    list_per_page = 100


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("title", "category", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title", "body")
    list_per_page = 100


class CaseEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "action", "from_status", "to_status", "actor_label", "note")
    readonly_fields = fields
    ordering = ("occurred_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a case changes only through the workflow (pages and API)."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("tracking_code", "title", "category", "status", "channel", "area_code", "received_at")
    list_filter = ("status", "channel", "priority")
    search_fields = ("tracking_code", "title")
    list_select_related = ("category", "category__parent")
    exclude = ("reporter_phone_cipher", "reporter_phone_digest", "deadline_marks", "idempotency_key")
    inlines = (CaseEventInline,)
    show_full_result_count = False
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Case._meta.concrete_fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
