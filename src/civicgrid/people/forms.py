"""Page forms. Validation of substance lives in services.clean_person_data; the form only
shapes input and shows the service's per-field messages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.scope import scope_queryset
from civicgrid.common.forms import ExcelUploadForm
from civicgrid.people.enums import (
    DisabilityCategory,
    DisabilityLevel,
    Gender,
    PersonTagKind,
    PoliticalStatus,
    ResidenceType,
)
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Building


def _blank(choices: Any, label: Any = "") -> list[tuple[str, Any]]:
    return [("", label or "---------"), *choices]


class SecretInput(forms.TextInput):
    """A text input that never renders its value back into the page (ID numbers and
    phones typed for an exact search must not reappear in the HTML)."""

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, None, attrs)
        return context


class PersonSearchForm(forms.Form):
    # Sent by POST, so these never land in URLs, browser history or access logs.
    SECRET_FIELDS = ("id_number", "phone")
    id_number = forms.CharField(
        label=_("身份证号"), required=False, max_length=32, widget=SecretInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("电话"), required=False, max_length=20, widget=SecretInput(attrs={"autocomplete": "off"})
    )
    name = forms.CharField(label=_("姓名"), required=False, max_length=50)
    name_mode = forms.ChoiceField(
        label=_("姓名匹配"), required=False, choices=[("prefix", _("开头是")), ("contains", _("包含"))]
    )
    area = forms.ChoiceField(label=_("社区/网格"), required=False)
    tag = forms.ChoiceField(label=_("标签"), required=False, choices=_blank(PersonTagKind.choices, _("全部")))
    residence_type = forms.ChoiceField(
        label=_("人口类型"), required=False, choices=_blank(ResidenceType.choices, _("全部"))
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = (
            scope_queryset(
                user, Area.objects.filter(level__in=[AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID]), "code"
            )
            .order_by("code")
            .only("code", "name", "level")
        )
        indent: dict[str, str] = {"street": "", "community": "\u3000", "grid": "\u3000\u3000"}
        self.fields["area"].choices = _blank(  # type: ignore[attr-defined]
            [(a.code, f"{indent.get(str(a.level), '')}{a.name}") for a in areas], _("全部")
        )


class PersonForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("身份证号"), max_length=32, required=False)
    gender = forms.ChoiceField(label=_("性别"), required=False, choices=_blank(Gender.choices, _("按身份证号")))
    birth_date = forms.DateField(
        label=_("出生日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("出生日期格式应为 YYYY-MM-DD。")},
    )
    phone = forms.CharField(label=_("电话"), max_length=20, required=False)
    ethnicity = forms.CharField(label=_("民族"), max_length=20, required=False, initial="汉族")
    political_status = forms.ChoiceField(
        label=_("政治面貌"), choices=PoliticalStatus.choices, initial=PoliticalStatus.MASSES
    )
    residence_type = forms.ChoiceField(
        label=_("人口类型"), choices=ResidenceType.choices, initial=ResidenceType.REGISTERED
    )
    registered_address = forms.CharField(label=_("户籍地址"), max_length=200, required=False)
    current_address = forms.CharField(label=_("现住址"), max_length=200, required=False)
    grid = forms.ModelChoiceField(
        label=_("网格"),
        queryset=Area.objects.none(),
        error_messages={"required": _("请选择网格。"), "invalid_choice": _("请选择有效的网格。")},
    )
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=Building.objects.none(), required=False)
    relation_to_head = forms.CharField(label=_("与户主关系"), max_length=20, required=False)
    tags = forms.MultipleChoiceField(
        label=_("标签"), required=False, choices=PersonTagKind.choices, widget=forms.CheckboxSelectMultiple
    )
    disability_category = forms.ChoiceField(
        label=_("残疾类别"), required=False, choices=_blank(DisabilityCategory.choices)
    )
    disability_level = forms.TypedChoiceField(
        label=_("残疾等级"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_blank([(str(v), label) for v, label in DisabilityLevel.choices]),
    )

    PROTECTED = ("id_number", "phone", "registered_address", "current_address")

    def __init__(self, *args: Any, user: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["grid"].queryset = scope_queryset(  # type: ignore[attr-defined]
            user, Area.objects.filter(level=AreaLevel.GRID), "code"
        ).order_by("code")
        self.fields["building"].queryset = scope_queryset(  # type: ignore[attr-defined]
            user, Building.objects.select_related("compound"), "area_code"
        ).order_by("code")
        if editing:
            for name in self.PROTECTED:
                self.fields[name].help_text = _("留空表示不修改")
        else:
            self.fields["id_number"].required = True
            self.fields["id_number"].error_messages["required"] = _("请填写身份证号。")

    def service_data(self) -> dict[str, Any]:
        """The cleaned input in the shape services.person_create/update expect. When
        editing, an empty protected field means "keep the stored value"."""
        data = dict(self.cleaned_data)
        if self.editing:
            for name in self.PROTECTED:
                if not data.get(name):
                    data.pop(name, None)
        for name in ("birth_date", "gender"):
            if self.editing and not data.get(name):
                data.pop(name, None)
        tags: list[Any] = []
        for kind in data.pop("tags", []) or []:
            if kind == PersonTagKind.DISABLED:
                tags.append(
                    {
                        "kind": kind,
                        "disability_category": data.get("disability_category") or "",
                        "disability_level": data.get("disability_level"),
                    }
                )
            else:
                tags.append(kind)
        data.pop("disability_category", None)
        data.pop("disability_level", None)
        data["tags"] = tags
        if self.editing and "building" in self.changed_data:
            data["household"] = None  # a new building: the old household no longer applies
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                target = name if name in self.fields else None
                for message in errors:
                    self.add_error(target, message)
        else:
            for message in exc.messages:
                self.add_error(None, message)


ImportForm = ExcelUploadForm
