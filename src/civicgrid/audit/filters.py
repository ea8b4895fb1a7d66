"""The one filter definition for the audit page, its CSV export and the API."""

from __future__ import annotations

import django_filters  # type: ignore[import-untyped]
from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent

FILTER_FIELDS = ("occurred_from", "occurred_to", "actor", "action", "object_type", "object_id", "ip_address")


class IPFilter(django_filters.Filter):  # type: ignore[misc]
    field_class = forms.GenericIPAddressField


class AuditEventFilter(django_filters.FilterSet):  # type: ignore[misc]
    occurred_from = django_filters.DateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label=_("开始时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    occurred_to = django_filters.DateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lte",
        label=_("结束时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="exact", label=_("操作人账号"))
    action = django_filters.ChoiceFilter(
        field_name="action", choices=AuditAction.choices, label=_("动作"), empty_label=_("全部")
    )
    object_type = django_filters.CharFilter(field_name="object_type", lookup_expr="exact", label=_("对象类型"))
    object_id = django_filters.CharFilter(field_name="object_id", lookup_expr="exact", label=_("对象ID"))
    # A real IP field: a malformed value is a form error, never a database error (inet).
    ip_address = IPFilter(field_name="ip_address", lookup_expr="exact", label=_("IP"))

    class Meta:
        model = AuditEvent
        fields = list(FILTER_FIELDS)
