from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.indicators.importing import MAX_FILE_BYTES


class RegisterFilterForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100, required=False)
    department = forms.TypedChoiceField(label=_("责任部门"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, departments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ChoiceField)
        department.choices = [("", _("全部部门")), *departments]
        self.fields["year"].widget.attrs["placeholder"] = str(timezone.localdate().year)

    def year_value(self) -> int:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("year"):
            return int(self.cleaned_data["year"])
        return timezone.localdate().year

    def department_value(self) -> int | None:
        if self.is_bound and self.is_valid():
            value = self.cleaned_data.get("department")
            return int(value) if value else None
        return None


class EntryForm(forms.Form):
    period = forms.ChoiceField(label=_("统计期"))
    value = forms.CharField(label=_("数值"), max_length=32, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    note = forms.CharField(label=_("说明(选填)"), max_length=200, required=False)
    expected_version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, periods: list[tuple[str, str, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        period = self.fields["period"]
        assert isinstance(period, forms.ChoiceField)
        period.choices = [(key, label) for key, label, _version in periods]
        self.versions = {key: version for key, _label, version in periods}

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel 文件(.xlsx)"))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not str(upload.name or "").lower().endswith(".xlsx"):
            raise forms.ValidationError(_("请上传 .xlsx 格式的 Excel 文件。"))
        if upload.size and upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("文件不能超过 2 MB。"))
        return upload
