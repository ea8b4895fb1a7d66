"""Reads of the audit trail. Only the audit administrator (Capability.VIEW_AUDIT) reads it;
the trail is installation-wide and not cut by territory (see docs/decisions.md)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from civicgrid.accounts.permissions import Capability, require_capability
from civicgrid.audit.filters import AuditEventFilter
from civicgrid.audit.models import AuditEvent


def audit_event_filter(user: Any, data: Any) -> AuditEventFilter:
    require_capability(user, Capability.VIEW_AUDIT)
    return AuditEventFilter(data=data, queryset=AuditEvent.objects.order_by("-id"))


def audit_event_list(user: Any, data: Any) -> QuerySet[AuditEvent]:
    """Filtered events, newest first; ValidationError on a bad filter value."""
    filterset = audit_event_filter(user, data)
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.form.errors.items()})
    result: QuerySet[AuditEvent] = filterset.qs
    return result


def change_rows(changes: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) rows for display; other shapes are shown as they are."""
    rows: list[tuple[str, Any, Any]] = []
    if not isinstance(changes, dict):
        return rows
    for name, value in changes.items():
        if isinstance(value, dict) and ("before" in value or "after" in value):
            rows.append((str(name), value.get("before"), value.get("after")))
        else:
            rows.append((str(name), None, value))
    return rows
