"""Reads of the audit trail. Only the audit administrator (Capability.VIEW_AUDIT) reads it;
the trail is installation-wide and not cut by territory (see docs/decisions.md)."""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
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


@functools.lru_cache(maxsize=512)
def _field(object_type: str, name: str) -> Any:
    try:
        return apps.get_model(object_type)._meta.get_field(name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return None


def field_label(object_type: str, name: str) -> str:
    """The field's verbose name ("姓名"), in the current language, else the raw name."""
    field = _field(object_type, name)
    return str(getattr(field, "verbose_name", name)) if field is not None else name


def change_rows(changes: Any, object_type: str = "") -> list[tuple[str, Any, Any]]:
    """(field label, before, after) rows for display; other shapes are shown as they are."""
    rows: list[tuple[str, Any, Any]] = []
    if not isinstance(changes, dict):
        return rows
    for key, value in changes.items():
        name = field_label(object_type, str(key)) if object_type else str(key)
        if isinstance(value, dict) and ("before" in value or "after" in value):
            rows.append((str(name), value.get("before"), value.get("after")))
        else:
            rows.append((str(name), None, value))
    return rows
