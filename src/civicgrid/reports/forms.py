from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.accounts.scope import scope_queryset
from civicgrid.reports.models import ReportSchedule
from civicgrid.reports.periods import PERIOD_KINDS
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area
from civicgrid.territory.selectors import visible_areas

NODE_LEVELS = (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY)


def node_choices(user: Any) -> list[tuple[str, str]]:
    """The district, streets and communities in the user's scope (and the user's own node, a grid
    for a grid chief), indented by level."""
    own = getattr(getattr(user, "area", None), "code", None)
    qs = visible_areas(user).filter(level__in=NODE_LEVELS)
    if own:
        qs = qs | visible_areas(user).filter(code=own)
    indent = {"district": "", "street": "— ", "community": "—— ", "grid": "——— "}
    return [
        (code, f"{indent.get(str(level), '')}{name}")
        for code, name, level in qs.order_by("code").values_list("code", "name", "level")
    ]


class GenerateForm(forms.Form):
    area = forms.ChoiceField(label=_("辖区"))
    period = forms.CharField(
        label=_("报表周期"),
        max_length=10,
        help_text=_("月报如 2026-05, 半年报如 2026-H1 / 2026-H2, 年报如 2026"),
        widget=forms.TextInput(attrs={"placeholder": "2026-05", "autocomplete": "off"}),
    )
    want_xlsx = forms.BooleanField(label=_("Excel"), required=False, initial=True)
    want_pdf = forms.BooleanField(label=_("PDF"), required=False, initial=True)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        assert isinstance(area, forms.ChoiceField)
        area.choices = node_choices(user)


def recipient_queryset(user: Any) -> Any:
    roles = [
        r
        for r in Role.values
        if r not in (Role.DEPARTMENT_HANDLER, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
    ]
    qs = User.objects.filter(is_active=True, role__in=roles)
    if not user.is_superuser:
        qs = scope_queryset(user, qs, "area__code")
    return qs.select_related("area").order_by("username")


class ScheduleForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ReportSchedule
        fields = ("name", "area", "period_kind", "want_xlsx", "want_pdf", "recipients", "is_active")
        widgets = {"recipients": forms.SelectMultiple(attrs={"size": 8})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ModelChoiceField)
        area_field.queryset = visible_areas(user).filter(level__in=NODE_LEVELS).order_by("code")
        recipients = self.fields["recipients"]
        assert isinstance(recipients, forms.ModelMultipleChoiceField)
        recipients.queryset = recipient_queryset(user)
        recipients.required = False
        kind = self.fields["period_kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = list(PERIOD_KINDS.items())


__all__ = ["Area", "GenerateForm", "ScheduleForm", "node_choices"]
