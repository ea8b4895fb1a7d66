"""The audit trail in the admin: read-only, and only for Capability.VIEW_AUDIT (the audit
administrator). The system administrator gets 403 here, as on the page and the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.audit.models import AuditCheckpoint, AuditEvent


class _ReadOnlyAuditAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_capability(request.user, Capability.VIEW_AUDIT)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_capability(request.user, Capability.VIEW_AUDIT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnlyAuditAdmin):
    list_display = (
        "id",
        "occurred_at",
        "actor_label",
        "ip_address",
        "action",
        "object_type",
        "object_id",
        "object_repr",
    )
    list_filter = ("action",)
    search_fields = ("actor_label", "object_id", "object_type")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    actions = None


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(_ReadOnlyAuditAdmin):
    list_display = ("last_purged_id", "created_at", "cutoff", "deleted_count")
    actions = None
