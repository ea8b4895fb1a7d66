"""Report pages: /reports/ (the generated reports in scope, paginated, and the "generate now"
form), /reports/<id>/ (status with htmx progress polling, downloads), the scoped download, the
list of cases overdue at a period's end, and schedule management."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.accounts.permissions import capability_required
from civicgrid.common.errors import NotFound
from civicgrid.reports import selectors, services
from civicgrid.reports.content import overdue_queryset
from civicgrid.reports.forms import GenerateForm, ScheduleForm
from civicgrid.reports.jobs import report_progress
from civicgrid.reports.models import Report
from civicgrid.reports.periods import PERIOD_KINDS, last_completed, period_containing
from civicgrid.reports.permissions import GENERATE, may_manage_schedules, require_manage_schedules
from civicgrid.territory.selectors import area_get

PAGE_SIZE = 20
OVERDUE_PAGE_SIZE = 50
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def _errors(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


def _quick_periods(today: dt.date) -> list[tuple[str, str]]:
    """Suggestions for the period field: this and last month, the last half-year, this and last year."""
    out = []
    for kind, day in (("month", today), ("month", None), ("half", None), ("year", today), ("year", None)):
        period = period_containing(kind, day) if day else last_completed(kind, today)
        out.append((period.key, period.label))
    return list(dict.fromkeys(out))


@capability_required(GENERATE)
def report_list(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = services.report_generate(
                    actor=request.user,
                    area_code=form.cleaned_data["area"],
                    period=form.cleaned_data["period"],
                    want_xlsx=form.cleaned_data["want_xlsx"],
                    want_pdf=form.cleaned_data["want_pdf"],
                )
            except NotFound as exc:
                raise Http404(str(exc.message)) from exc
            except ValidationError as exc:
                for field, errs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    form.add_error(field if field in form.fields else None, errs)
                status = 400
            else:
                return redirect("reports:detail", pk=report.pk)
        else:
            status = 400
    kind = request.GET.get("kind", "")
    kind = kind if kind in PERIOD_KINDS else ""
    page = Paginator(selectors.report_list(request.user, period_kind=kind), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/list.html",
        {
            "form": form,
            "page": page,
            "kinds": list(PERIOD_KINDS.items()),
            "kind": kind,
            "query": urlencode({"kind": kind}) if kind else "",
            "quick_periods": _quick_periods(timezone.localdate()),
            "can_manage": may_manage_schedules(request.user),
        },
        status=status,
    )


def _report(request: HttpRequest, pk: int) -> Report:
    try:
        return selectors.report_get(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


@capability_required(GENERATE)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(request, pk)
    context = {"report": report, "progress": report_progress(report)}
    if request.headers.get("HX-Request"):
        return render(request, "reports/_status.html", context)
    return render(request, "reports/detail.html", context)


@capability_required(GENERATE)
def report_download(request: HttpRequest, pk: int, fmt: str) -> FileResponse:
    report = _report(request, pk)
    try:
        handle = services.report_file_open(actor=request.user, report=report, fmt=fmt)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return FileResponse(handle, as_attachment=True, filename=report.download_name(fmt), content_type=CONTENT_TYPES[fmt])


@capability_required(GENERATE)
def overdue_list(request: HttpRequest) -> HttpResponse:
    """/reports/overdue/?area=<code>&end=YYYY-MM-DD: the cases overdue (marked by the deadline
    sweep) and not closed at the end of that day - the list behind a report's 期末超期在办."""
    code = (request.GET.get("area") or "").strip()
    try:
        if not code.isdigit():
            raise ValidationError({"area": _("辖区编码只能是数字")})
        try:
            end = dt.date.fromisoformat((request.GET.get("end") or "").strip())
        except ValueError as exc:
            raise ValidationError({"end": _("日期格式应为 YYYY-MM-DD")}) from exc
        node = area_get(request.user, code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ValidationError as exc:
        return render(request, "reports/overdue.html", {"error": _errors(exc)}, status=400)
    at = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    page = Paginator(overdue_queryset(request.user, node.code, at), OVERDUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/overdue.html",
        {"node": node, "end": end, "page": page, "query": urlencode({"area": node.code, "end": end.isoformat()})},
    )


# --- schedules ----------------------------------------------------------------------------


def _schedule_data(form: ScheduleForm) -> dict[str, Any]:
    return {k: form.cleaned_data[k] for k in ("name", "area", "period_kind", "want_xlsx", "want_pdf", "is_active")}


def _apply_errors(form: ScheduleForm, exc: ValidationError) -> None:
    for field, errs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
        form.add_error(field if field in form.fields else None, errs)


@capability_required(GENERATE)
def schedule_list(request: HttpRequest) -> HttpResponse:
    require_manage_schedules(request.user)
    form = ScheduleForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.report_schedule_create(
                    actor=request.user, data=_schedule_data(form), recipients=form.cleaned_data["recipients"]
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("定时报表已创建"))
                return redirect("reports:schedules")
        else:
            status = 400
    page = Paginator(selectors.schedule_list(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reports/schedules.html", {"form": form, "page": page}, status=status)


@capability_required(GENERATE)
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_manage_schedules(request.user)
    try:
        schedule = selectors.schedule_get(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    form = ScheduleForm(request.POST or None, instance=schedule, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.report_schedule_update(
                    actor=request.user,
                    schedule_id=schedule.pk,
                    data=_schedule_data(form),
                    recipients=form.cleaned_data["recipients"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("定时报表已保存"))
                return redirect("reports:schedules")
        else:
            status = 400
    return render(request, "reports/schedule_edit.html", {"form": form, "schedule": schedule}, status=status)


@require_POST
@capability_required(GENERATE)
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.report_schedule_delete(actor=request.user, schedule_id=pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    messages.success(request, _("定时报表已删除, 已生成的报表仍保留"))
    return redirect("reports:schedules")
