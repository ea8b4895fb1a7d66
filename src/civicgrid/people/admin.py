"""Admin: masked values only; protected fields are never editable (or visible in plaintext)
here, and every change goes through the audited services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from import_export import fields, resources
from import_export.admin import ExportMixin

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.admin_mixins import AuditedInlineMixin, audited_formset_save
from civicgrid.people import services
from civicgrid.people.models import ImportJob, Person, PersonTag


class PersonMaskedResource(resources.ModelResource):  # type: ignore[misc]
    """django-import-export resource for the admin's export button: masked columns only."""

    id_number = fields.Field(attribute="id_number_masked", column_name="身份证号")
    phone = fields.Field(attribute="phone_masked", column_name="电话")
    registered_address = fields.Field(attribute="registered_address_masked", column_name="户籍地址")
    current_address = fields.Field(attribute="current_address_masked", column_name="现住址")

    class Meta:
        model = Person
        fields = (
            "id",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "political_status",
            "residence_type",
            "id_number",
            "phone",
            "registered_address",
            "current_address",
            "area_code",
            "is_active",
        )
        export_order = fields


class PersonTagInline(AuditedInlineMixin, admin.TabularInline):  # type: ignore[type-arg]
    admin_view_capability = Capability.VIEW_PEOPLE
    admin_edit_capability = Capability.EDIT_PEOPLE
    model = PersonTag
    extra = 0
    fields = ("kind", "disability_category", "disability_level", "note")


@admin.register(Person)
class PersonAdmin(ExportMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg,misc]
    resource_classes = [PersonMaskedResource]
    list_display = ("name", "gender", "birth_date", "id_number_masked", "phone_masked", "area_code", "is_active")
    list_filter = ("residence_type", "is_active", "gender")
    search_fields = ("name",)
    list_select_related = ("grid",)
    raw_id_fields = ("grid", "building", "household")
    inlines = [PersonTagInline]
    readonly_fields = (
        "id_number_masked",
        "phone_masked",
        "registered_address_masked",
        "current_address_masked",
        "area_code",
        "created_at",
        "updated_at",
    )
    fields = (
        "name",
        "gender",
        "birth_date",
        "ethnicity",
        "political_status",
        "residence_type",
        "id_number_masked",
        "phone_masked",
        "registered_address_masked",
        "current_address_masked",
        "grid",
        "building",
        "household",
        "relation_to_head",
        "is_active",
        "area_code",
        "created_at",
        "updated_at",
    )
    # Never the ciphertext or the digest, even read-only.
    exclude = (
        "id_number_cipher",
        "id_number_digest",
        "phone_cipher",
        "phone_digest",
        "registered_address_cipher",
        "current_address_cipher",
        "row_digest",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new residents need an ID number: use the people pages or the import

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # residents are deactivated, not deleted

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or has_capability(request.user, Capability.VIEW_PEOPLE))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser or has_capability(request.user, Capability.EDIT_PEOPLE))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Tag rows edited inline are audited one by one, like every other admin change.
        audited_formset_save(self, request, formset, can_write=self.has_change_permission(request))

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        # Route through the audited service (validation, scope, masked diff).
        original = Person.objects.get(pk=obj.pk)
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        is_active = data.pop("is_active", None)
        if data:
            services.person_update(actor=request.user, person=original, data=data)
        if is_active is False:
            services.person_deactivate(actor=request.user, person=original, reason="admin")
        elif is_active is True and not original.is_active:
            Person.objects.filter(pk=obj.pk).update(is_active=True)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        person = form.instance
        before = sorted(str(t) for t in person.tags.all())
        super().save_related(request, form, formsets, change)
        after = sorted(str(t) for t in person.tags.all())
        if before != after:
            from civicgrid.audit.enums import AuditAction
            from civicgrid.audit.services import audit_record

            audit_record(
                action=AuditAction.UPDATE,
                obj=person,
                actor=request.user,
                changes={"tags": {"before": before, "after": after}},
                message="admin",
            )


@admin.register(ImportJob)
class ImportJobAdmin(ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "file_name",
        "status",
        "total_rows",
        "created_count",
        "updated_count",
        "error_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status",)
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or has_capability(request.user, Capability.IMPORT_PEOPLE))
