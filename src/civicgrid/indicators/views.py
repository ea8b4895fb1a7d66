"""Pages of the indicators register: the list with progress bars, one indicator with its
chart, value history and entry form (htmx), and the Excel import."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.accounts.permissions import Capability, capability_required, has_capability
from civicgrid.common.errors import Conflict, NotFound
from civicgrid.indicators import selectors, services
from civicgrid.indicators.enums import Aggregation, ValueSource
from civicgrid.indicators.forms import EntryForm, ImportForm, RegisterFilterForm
from civicgrid.indicators.importing import MAX_ROWS, write_template
from civicgrid.indicators.models import Indicator
from civicgrid.indicators.selectors import IndicatorProgress

PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return timezone.localdate().year


def _get(request: HttpRequest, pk: int) -> Indicator:
    try:
        return selectors.indicator_get(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


@capability_required(Capability.VIEW_INDICATORS)
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterFilterForm(request.GET or None, departments=selectors.department_choices(request.user))
    year = form.year_value()
    qs = selectors.indicator_list(request.user, department=form.department_value())
    page = Paginator(selectors.ProgressList(qs, year), PAGE_SIZE).get_page(request.GET.get("page"))
    enterable = set(selectors.enterable_indicators(request.user).values_list("pk", flat=True))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "indicators/register.html",
        {
            "form": form,
            "year": year,
            "page": page,
            "enterable": enterable,
            "query": query.urlencode(),
            "can_import": bool(enterable),
        },
    )


def _entry_periods(progress: IndicatorProgress) -> list[tuple[str, str, int]]:
    today = timezone.localdate()
    unit = progress.indicator.get_unit_display()
    out = []
    for point in progress.series:
        if point.period.start > today:
            continue
        label = point.period.label
        if point.version:
            label = _("%(period)s (当前 %(value)s%(unit)s, 第%(version)d版)") % {
                "period": label,
                "value": _plain(point.value),
                "unit": unit,
                "version": point.version,
            }
        out.append((point.period.key, label, point.version))
    return out


def _plain(value: Any) -> str:
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _default_period(periods: list[tuple[str, str, int]]) -> str:
    empty = [key for key, _label, version in periods if not version]
    if empty:
        return empty[0]
    return periods[-1][0] if periods else ""


def _chart(progress: IndicatorProgress) -> dict[str, Any]:
    is_sum = progress.indicator.aggregation == Aggregation.SUM
    return {
        "periods": [p.period.short_label for p in progress.series],
        "values": [None if p.value is None else float(p.value) for p in progress.series],
        "cumulative": [None if p.cumulative is None else float(p.cumulative) for p in progress.series]
        if is_sum
        else None,
        "target": None if progress.target is None else float(progress.target),
        "unit": progress.indicator.get_unit_display(),
        "labels": {
            "value": _("本期数值"),
            "cumulative": _("年度累计"),
            "target": _("年度目标"),
        },
    }


def _live_context(
    request: HttpRequest, indicator: Indicator, year: int, form: EntryForm | None = None
) -> dict[str, Any]:
    progress = selectors.indicator_progress(indicator, year)
    can_enter = services.can_enter(request.user, indicator)
    periods = _entry_periods(progress) if can_enter else []
    if can_enter and form is None:
        period = _default_period(periods)
        versions = {key: version for key, _label, version in periods}
        form = EntryForm(periods=periods, initial={"period": period, "expected_version": versions.get(period, 0)})
    history = Paginator(selectors.value_history(request.user, indicator, year=year), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("hpage")
    )
    return {
        "indicator": indicator,
        "year": year,
        "progress": progress,
        "chart": _chart(progress),
        "can_enter": can_enter,
        "entry_refusal": "" if can_enter else services.entry_refusal(request.user, indicator),
        "form": form,
        "periods": periods,
        "history": history,
    }


@capability_required(Capability.VIEW_INDICATORS)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = _get(request, pk)
    year = _year(request)
    context = _live_context(request, indicator, year)
    context["years"] = list(range(timezone.localdate().year, timezone.localdate().year - 6, -1))
    if year not in context["years"]:
        context["years"].append(year)
    template = "indicators/_live.html" if request.headers.get("HX-Request") else "indicators/detail.html"
    return render(request, template, context)


@require_POST
@capability_required(Capability.ENTER_INDICATORS)
def enter(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = _get(request, pk)
    year = _year(request)
    htmx = bool(request.headers.get("HX-Request"))
    progress = selectors.indicator_progress(indicator, year)
    services.ensure_can_enter(request.user, indicator)
    form = EntryForm(request.POST, periods=_entry_periods(progress))
    status = 200
    if form.is_valid():
        try:
            result = services.indicator_value_enter(
                actor=request.user,
                indicator=indicator,
                period=form.cleaned_data["period"],
                value=form.cleaned_data["value"],
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data.get("expected_version"),
                source=ValueSource.FORM,
            )
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict if hasattr(exc, "error_dict") else {"value": exc.messages})
            status = 400
        except Conflict as exc:
            form.add_error(None, str(exc.message))
            status = 409
        else:
            if result.outcome == "unchanged":
                message = _("数值与当前值相同, 未产生新版本。")
            elif result.outcome == "corrected":
                message = _("已更正 %(period)s 的数值(第%(version)d版), 原数值保留在历史中。") % {
                    "period": result.value.period_key,
                    "version": result.value.version,
                }
            else:
                message = _("已填报 %(period)s 的数值。") % {"period": result.value.period_key}
            if not htmx:
                messages.success(request, message)
                return redirect(f"{reverse('indicators:detail', args=[indicator.pk])}?year={year}")
            context = _live_context(request, indicator, year)
            context["flash"] = message
            return render(request, "indicators/_live.html", context)
    else:
        status = 400
    context = _live_context(request, indicator, year, form=form)
    if htmx:
        return render(request, "indicators/_live.html", context, status=status)
    context["years"] = [year]
    return render(request, "indicators/detail.html", context, status=status)


@capability_required(Capability.ENTER_INDICATORS)
def import_page(request: HttpRequest) -> HttpResponse:
    if not has_capability(request.user, Capability.ENTER_INDICATORS):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.indicator_value_import(
                    actor=request.user, file=upload, file_name=str(upload.name or "")[:200]
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("file", message)
        if form.errors or (result is not None and not result.ok):
            status = 400
    indicators = list(selectors.enterable_indicators(request.user))
    return render(
        request,
        "indicators/import.html",
        {"form": form, "result": result, "indicators": indicators, "max_rows": MAX_ROWS},
        status=status,
    )


@capability_required(Capability.ENTER_INDICATORS)
def import_template(request: HttpRequest) -> FileResponse:
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_template(handle, list(selectors.enterable_indicators(request.user)), today=timezone.localdate())
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="指标数值导入模板.xlsx", content_type=XLSX)
