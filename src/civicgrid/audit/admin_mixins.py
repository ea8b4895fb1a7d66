"""Admin integration: every admin save or delete leaves a masked audit record, and admin
permissions follow the role capabilities (accounts/permissions.py), not Django's per-model
permission rows.

Use it FIRST in the bases of every ModelAdmin::

    @admin.register(Compound)
    class CompoundAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
        admin_view_capability = Capability.VIEW_TERRITORY   # optional, default: admin.use
        admin_edit_capability = Capability.EDIT_TERRITORY   # optional, default: admin.use
        audit_exclude = ("geometry",)                        # optional: fields left out of diffs
        audit_mask = ("phone",)                              # optional: fields shown only as changed

Fields ending in ``_cipher`` / ``_digest`` and the password hash are always masked.
Read-only roles (leader, audit administrator) never get add/change/delete, whatever the
other settings say (``accounts.services.ensure_can_write`` is the one rule)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest

from civicgrid.accounts.permissions import Capability, has_capability, is_read_only
from civicgrid.audit.diff import Snapshot, model_diff, snapshot
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record

_PENDING = "_civicgrid_audit_pending"


def admin_allowed(user: Any, capability: str | None = None) -> bool:
    """May ``user`` use the admin at all (and, if given, for this capability)?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not has_capability(user, Capability.USE_ADMIN):
        return False
    return capability is None or has_capability(user, capability)


class AuditedAdminMixin:
    admin_view_capability: str | None = None
    admin_edit_capability: str | None = None
    audit_exclude: tuple[str, ...] = ()
    audit_mask: tuple[str, ...] = ()

    # --- permissions: capabilities, and never a write for a read-only role --------------
    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_allowed(request.user, self.admin_view_capability) or self._can_write(request)

    def _can_write(self, request: HttpRequest) -> bool:
        user = request.user
        if is_read_only(user):
            return False
        return admin_allowed(user, self.admin_edit_capability)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    # --- auditing -------------------------------------------------------------------------
    def _diff(self, before: Snapshot | None, after: models.Model | Snapshot | None) -> dict[str, Any]:
        return model_diff(before, after, exclude=self.audit_exclude, mask=self.audit_mask)

    def audit_area_code(self, obj: models.Model) -> str:
        """The territory code the record is filed under: ``area_code``, or the ``area``'s code."""
        code = getattr(obj, "area_code", None)
        if code:
            return str(code)
        area = getattr(obj, "area", None)
        return str(getattr(area, "code", "") or "")

    def _before(self, obj: models.Model) -> Snapshot | None:
        if obj.pk is None:
            return None
        current = type(obj)._default_manager.filter(pk=obj.pk).first()
        return snapshot(current)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        before = self._before(obj) if change else None
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        # Many-to-many values are saved in save_related; the record is written there, so
        # it shows the whole change in one entry.
        pending = getattr(request, _PENDING, {})
        pending[id(obj)] = (before, change)
        setattr(request, _PENDING, pending)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        audited_formset_save(self, request, formset, can_write=self._can_write(request))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        self.audit_pending(request, form.instance)

    def audit_pending(self, request: HttpRequest, obj: models.Model) -> None:
        """Write the record for a save_model call (called by save_related)."""
        pending = getattr(request, _PENDING, {})
        if id(obj) not in pending:
            return
        before, change = pending.pop(id(obj))
        changes = self._diff(before, obj)
        if change and not changes:
            return
        audit_record(
            action=AuditAction.UPDATE if change else AuditAction.CREATE,
            obj=obj,
            area_code=self.audit_area_code(obj),
            changes=changes,
            message="admin",
            actor=request.user,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        with transaction.atomic():
            before = self._before(obj)
            audit_record(
                action=AuditAction.DELETE,
                obj=obj,
                area_code=self.audit_area_code(obj),
                changes=self._diff(before, None),
                message="admin",
                actor=request.user,
            )
            super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        with transaction.atomic():
            for obj in queryset:
                audit_record(
                    action=AuditAction.DELETE,
                    obj=obj,
                    area_code=self.audit_area_code(obj),
                    changes=self._diff(snapshot(obj), None),
                    message="admin",
                    actor=request.user,
                )
            super().delete_queryset(request, queryset)  # type: ignore[misc]


def audited_formset_save(model_admin: Any, request: HttpRequest, formset: Any, *, can_write: bool) -> None:
    """Save an inline formset and leave one masked audit record per added, changed or deleted
    row (AuditedAdminMixin records only the parent object)."""
    if not can_write:
        raise PermissionDenied
    before: dict[int, Snapshot | None] = {}
    for form in formset.initial_forms:
        instance = form.instance
        if instance.pk is not None:
            before[id(instance)] = snapshot(type(instance)._default_manager.filter(pk=instance.pk).first())
    # The deleted rows lose their pk when deleted: keep what the record needs first.
    labels = {
        id(form.instance): (str(form.instance.pk), str(form.instance)[:200])
        for form in formset.initial_forms
        if form.instance.pk is not None
    }
    formset.save()
    parent = formset.instance
    area_code = model_admin.audit_area_code(parent) if hasattr(model_admin, "audit_area_code") else ""
    for obj in formset.new_objects:
        audit_record(
            action=AuditAction.CREATE,
            obj=obj,
            area_code=area_code,
            changes=model_diff(None, obj),
            message="admin",
            actor=request.user,
        )
    for obj, _fields in formset.changed_objects:
        changes = model_diff(before.get(id(obj)), obj)
        if changes:
            audit_record(
                action=AuditAction.UPDATE,
                obj=obj,
                area_code=area_code,
                changes=changes,
                message="admin",
                actor=request.user,
            )
    for obj in formset.deleted_objects:
        object_id, object_repr = labels.get(id(obj), ("", str(obj)[:200]))
        audit_record(
            action=AuditAction.DELETE,
            object_type=obj._meta.label_lower,
            object_id=object_id,
            object_repr=object_repr,
            area_code=area_code,
            changes=model_diff(before.get(id(obj)), None),
            message="admin",
            actor=request.user,
        )


class AuditedInlineMixin:
    """For inlines: permissions follow the same capabilities as AuditedAdminMixin (Django's
    per-model permission rows are not used); the parent admin audits each inline row."""

    admin_view_capability: str | None = None
    admin_edit_capability: str | None = None

    def _can_write(self, request: HttpRequest) -> bool:
        return not is_read_only(request.user) and admin_allowed(request.user, self.admin_edit_capability)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_allowed(request.user, self.admin_view_capability) or self._can_write(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)
