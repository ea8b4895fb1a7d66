"""Forms more than one app uses."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ExcelUploadForm(forms.Form):
    """The upload of an Excel import (residents, cameras): the file is checked by the importer."""

    file = forms.FileField(label=_("Excel 文件(.xlsx)"), error_messages={"required": _("请选择要导入的文件。")})
