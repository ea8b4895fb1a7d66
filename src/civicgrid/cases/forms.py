"""Forms of the case pages. They only shape input; the rules (limits, coordinates, category,
transitions) are enforced by civicgrid.cases.services, whose ValidationErrors are put back on
the form by ``add_service_errors``."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from civicgrid.cases import selectors, services
from civicgrid.cases.enums import Priority


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def category_choices(*, public_only: bool = False) -> list[tuple[Any, Any]]:
    """Two-level select: one optgroup per top-level category, its sub-categories inside."""
    choices: list[tuple[Any, Any]] = [("", _("请选择类别"))]
    for parent, children in selectors.category_tree(public_only=public_only):
        if children:
            choices.append((parent.name, [(str(c.pk), c.name) for c in children]))
        else:
            choices.append((str(parent.pk), parent.name))
    return choices


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: field errors on their field when the form
    has it, everything else as a non-field error."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class LocationFields(forms.Form):
    lon = forms.FloatField(label=_("经度"), required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(label=_("纬度"), required=False, widget=forms.HiddenInput)
    address = forms.CharField(label=_("地址"), required=False, max_length=services.ADDRESS_MAX)


class IntakeForm(LocationFields):
    """The hotline console and the walk-in form."""

    reporter_name = forms.CharField(label=_("来电人姓名"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("来电号码"), required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    category = forms.ChoiceField(label=_("类别"))
    title = forms.CharField(label=_("标题"), required=False, max_length=services.TITLE_MAX)
    description = forms.CharField(
        label=_("情况描述"), max_length=services.DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    priority = forms.ChoiceField(label=_("优先级"), choices=Priority.choices, initial=Priority.NORMAL)
    merge_into = forms.IntegerField(required=False, widget=forms.HiddenInput)
    answer = forms.CharField(
        label=_("答复内容"),
        required=False,
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("点击“直接答复”时必填: 电话中已答复的内容, 案件立即办结"),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=services.IDEMPOTENCY_KEY_MAX)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = category_choices()
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        title = (data.get("title") or "").strip() or _title_from(data.get("description") or "")
        return {
            "title": title,
            "description": data["description"],
            "category": data["category"],
            "priority": data["priority"],
            "lon": data.get("lon"),
            "lat": data.get("lat"),
            "address": data.get("address") or "",
            "reporter_name": data.get("reporter_name") or "",
            "reporter_phone": data.get("reporter_phone") or "",
        }


def _title_from(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first[:30]


class ResidentReportForm(LocationFields):
    """The anonymous resident web form."""

    category = forms.ChoiceField(label=_("问题类别"))
    title = forms.CharField(label=_("标题"), required=False, max_length=services.TITLE_MAX)
    description = forms.CharField(
        label=_("问题描述"), max_length=services.DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )
    reporter_name = forms.CharField(label=_("您的称呼(可不填)"), required=False, max_length=50)
    reporter_phone = forms.CharField(label=_("联系电话(可不填)"), required=False, max_length=20)
    photos = MultipleFileField(label=_("照片(最多3张)"), required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=services.IDEMPOTENCY_KEY_MAX)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = category_choices(public_only=True)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("lon") is None and not (data.get("address") or "").strip():
            raise ValidationError(_("请在地图上点选位置或填写地址"))
        return data

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": (data.get("title") or "").strip() or _title_from(data["description"]),
            "description": data["description"],
            "category": data["category"],
            "lon": data.get("lon"),
            "lat": data.get("lat"),
            "address": data.get("address") or "",
            "reporter_name": data.get("reporter_name") or "",
            "reporter_phone": data.get("reporter_phone") or "",
        }


class TrackLookupForm(forms.Form):
    code = forms.CharField(label=_("查询码"), max_length=16)


class RatingForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("满意度"),
        coerce=int,
        choices=[(5, _("非常满意")), (4, _("满意")), (3, _("基本满意")), (2, _("不满意")), (1, _("非常不满意"))],
        widget=forms.RadioSelect,
    )
    resolved = forms.TypedChoiceField(
        label=_("问题是否解决"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("已解决")), ("no", _("未解决"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("意见建议"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class PhotoUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"))
    photos = MultipleFileField(label=_("照片"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from civicgrid.cases.models import PhotoKind

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = PhotoKind.choices
