"""/cases/metrics/: the closure metrics page (table, weekly trend and category charts with
ECharts) and its Excel export (audited EXPORT). All numbers come from
``civicgrid.cases.metrics`` - the same as /api/cases/metrics."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import capability_required
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases import metrics as m
from civicgrid.cases.models import Category
from civicgrid.cases.permissions import CaseCapability

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_DAYS = 183


class MetricsForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    area_code = forms.CharField(label=gettext_lazy("辖区编码"), required=False, max_length=20)
    department = forms.ModelChoiceField(
        label=gettext_lazy("处置部门"), queryset=Department.objects.none(), required=False
    )
    category = forms.ChoiceField(label=gettext_lazy("类别"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True).order_by("code")  # type: ignore[attr-defined]
        cats = Category.objects.filter(is_active=True).order_by("sort_order", "code")
        self.fields["category"].choices = [("", _("全部"))] + [  # type: ignore[attr-defined]
            (c.code, ("· " if c.parent_id else "") + c.name) for c in cats
        ]


def _params(request: HttpRequest) -> tuple[MetricsForm, dict[str, Any] | None]:
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("start", (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    data.setdefault("end", today.isoformat())
    form = MetricsForm(data)
    if not form.is_valid():
        return form, None
    cd = form.cleaned_data
    return form, {
        "start": cd["start"],
        "end": cd["end"],
        "area_code": cd["area_code"] or None,
        "department_id": cd["department"].pk if cd["department"] else None,
        "category_code": cd["category"] or None,
    }


def _display(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "rate":
        return f"{value * 100:.2f}%"
    if kind == "hours":
        return f"{value:.2f}"
    return str(value)


@capability_required(CaseCapability.VIEW)
def metrics_page(request: HttpRequest) -> HttpResponse:
    form, params = _params(request)
    context: dict[str, Any] = {"form": form, "rows": [], "metrics": None}
    if params is not None:
        try:
            result = m.case_metrics(request.user, **params)
            weeks = m.case_metrics_by_week(request.user, **params)
            cats = m.case_metrics_by_category(request.user, **params)
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            if request.GET.get("format") == "xlsx":
                return _export(request, result, weeks, cats)
            context.update(
                metrics=result,
                rows=[
                    (key, _(label), _display(getattr(result, key), kind), getattr(result, key))
                    for key, label, kind in m.METRIC_ROWS
                ],
                chart={
                    "weeks": [w.key for w in weeks],
                    "received": [w.received for w in weeks],
                    "closed": [w.closed for w in weeks],
                    "categories": [c.label for c in cats],
                    "cat_received": [c.received for c in cats],
                    "cat_closed": [c.closed for c in cats],
                    "labels": {"received": _("受理量"), "closed": _("办结量")},
                },
                query=request.GET.urlencode(),
            )
    return render(request, "cases/metrics.html", context)


def metrics_workbook(result: m.CaseMetrics, weeks: list[m.Breakdown], cats: list[m.Breakdown]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("指标")
    bold = Font(bold=True)
    ws.append([_("统计周期"), f"{result.start:%Y-%m-%d} ~ {(result.end - dt.timedelta(seconds=1)):%Y-%m-%d}"])
    ws.append([_("辖区编码"), result.area_code or _("全部")])
    ws.append([_("类别"), result.category_code or _("全部")])
    ws.append([_("指标"), _("数值"), _("key")])
    for cell in ws[4]:
        cell.font = bold
    for key, label, kind in m.METRIC_ROWS:
        value = getattr(result, key)
        ws.append([_(label), value, key])
        if kind == "rate" and value is not None:
            ws.cell(row=ws.max_row, column=2).number_format = "0.00%"
    trend = wb.create_sheet(_("按周趋势"))
    trend.append([_("周(周一)"), _("受理量"), _("办结量"), _("办结率")])
    for w in weeks:
        trend.append([w.key, w.received, w.closed, w.closure_rate])
    by_cat = wb.create_sheet(_("按类别"))
    by_cat.append([_("类别编码"), _("类别"), _("受理量"), _("办结量"), _("办结率")])
    for c in cats:
        by_cat.append([c.key, c.label, c.received, c.closed, c.closure_rate])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _export(
    request: HttpRequest, result: m.CaseMetrics, weeks: list[m.Breakdown], cats: list[m.Breakdown]
) -> HttpResponse:
    if not request.user.is_authenticated:  # pragma: no cover - capability_required
        raise PermissionDenied
    content = metrics_workbook(result, weeks, cats)
    audit_record(
        action=AuditAction.EXPORT,
        object_type="cases.metrics",
        object_id=f"{result.start:%Y%m%d}-{result.end:%Y%m%d}",
        object_repr=_("案件统计导出"),
        area_code=result.area_code or "",
        changes={
            "filters": {
                "before": None,
                "after": {
                    k: v
                    for k, v in result.as_dict().items()
                    if k in ("start", "end", "area_code", "department_id", "category_code")
                },
            }
        },
        message=f"received={result.received} closed={result.closed}",
    )
    response = HttpResponse(content, content_type=XLSX)
    name = f"case-metrics-{result.start:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
