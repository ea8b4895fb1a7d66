"""Patrol pages: the worker's phone page (/patrols/), the compliance pages per territory node
(/patrols/compliance/<code>/, with the Excel export of the same figures and a map of today's
tracks) and the review of flagged tracks (/patrols/review/)."""

from __future__ import annotations

import datetime as dt
import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.accounts.permissions import Capability, capability_required, has_capability
from civicgrid.accounts.scope import user_scope_code
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.errors import DomainError, NotFound
from civicgrid.patrols import selectors, services
from civicgrid.patrols.enums import ReviewStatus

PAGE_SIZE = 10
WORKERS_PER_PAGE = 50
MISSES_PER_PAGE = 20
REVIEW_PAGE_SIZE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@capability_required(Capability.PATROL)
def phone(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.patrols_mine(request.user, selectors.today()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "patrols/phone.html",
        {
            "duty": selectors.duty_status(request.user),
            "active": selectors.active_patrol(request.user),
            "page": page,
        },
    )


# --- compliance ------------------------------------------------------------------------------


@capability_required(Capability.VIEW_PATROLS)
def compliance_home(request: HttpRequest) -> HttpResponse:
    """The user's own node."""
    code = user_scope_code(request.user)
    if not code:
        user_area = getattr(request.user, "area", None)
        if user_area is None:
            return render(request, "patrols/no_scope.html", status=403)
        code = user_area.code
    return redirect("patrols:compliance", code=code)


def _query(request: HttpRequest, **overrides: str) -> str:
    params = request.GET.copy()
    for key, value in overrides.items():
        if value:
            params[key] = value
        else:
            params.pop(key, None)
    return params.urlencode()


@capability_required(Capability.VIEW_PATROLS)
def compliance(request: HttpRequest, code: str) -> HttpResponse:
    period = request.GET.get("period") or selectors.PERIOD_TODAY
    month = request.GET.get("month") or None
    try:
        report = selectors.compliance_report(request.user, code, period=period, month=month)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ValidationError as exc:
        return render(
            request,
            "patrols/compliance_error.html",
            {"message": "; ".join(exc.messages), "code": code},
            status=400,
        )
    if request.GET.get("format") == "xlsx":
        return _export(request, report)
    rows = Paginator(report.rows, WORKERS_PER_PAGE).get_page(request.GET.get("page"))
    # The week/month matrix: a cell per worker and day, built here in one pass per row (a
    # month page is 1 500 cells; template lookups per cell cost more than the report itself).
    matrix = [(r, _day_cells(r)) for r in rows] if report.period.kind != selectors.PERIOD_TODAY else []
    today_misses = Paginator(report.missed_today, MISSES_PER_PAGE).get_page(request.GET.get("tp"))
    week_misses = Paginator(report.missed_week, MISSES_PER_PAGE).get_page(request.GET.get("wp"))
    today = report.period.today
    months = [(today.replace(day=1) - dt.timedelta(days=31 * i)).replace(day=1) for i in range(12)]
    return render(
        request,
        "patrols/compliance.html",
        {
            "report": report,
            "rows": rows,
            "matrix": matrix,
            "today_misses": today_misses,
            "week_misses": week_misses,
            "period": report.period,
            "months": [f"{m:%Y-%m}" for m in months],
            "export_query": _query(request, format="xlsx", page="", tp="", wp=""),
            "page_query": _query(request, page=""),
            "tp_query": _query(request, tp=""),
            "wp_query": _query(request, wp=""),
            "can_review": has_capability(request.user, Capability.REVIEW_PATROLS),
            "tracks_url": reverse("api:patrol_tracks"),
            "geojson_url": reverse("territory:geojson", args=[report.node.code]),
            "map_level": "grid" if len(report.node.code) >= 9 else "community",
        },
    )


def _day_cells(row: selectors.WorkerCompliance) -> str:
    return format_html_join(
        "",
        '<td class="day state-{}">{}</td>',
        ((d.state, "·" if d.state == "future" else f"{d.counted}/{d.required}") for d in row.days),
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def compliance_workbook(report: selectors.ComplianceReport) -> bytes:
    """The compliance figures as .xlsx: the same ComplianceReport the page shows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    wb = Workbook()
    totals = wb.active
    assert totals is not None
    totals.title = _("汇总")
    totals.append([_("辖区"), f"{report.node.name} ({report.node.code})"])
    totals.append(
        [_("统计周期"), report.period.label, f"{report.period.start:%Y-%m-%d}", f"{report.period.end:%Y-%m-%d}"]
    )
    header = [
        _("账号"),
        _("姓名"),
        _("职责"),
        _("所属辖区"),
        _("每日要求次数"),
        _("达标天数"),
        _("考核天数"),
        _("达标率"),
        _("巡查次数"),
        _("有效次数"),
        _("里程(公里)"),
    ]
    totals.append(header)
    for cell in totals[3]:
        cell.font = bold
    for r in report.rows:
        totals.append(
            [
                r.worker.username,
                r.worker.name,
                r.worker.duty_label,
                r.worker.bound_name,
                r.policy.times_per_day,
                r.days_met,
                r.days_due,
                r.met_rate,
                r.patrols,
                r.counted,
                r.distance_km,
            ]
        )
        totals.cell(row=totals.max_row, column=8).number_format = "0.00%"
    daily = wb.create_sheet(_("每日明细"))
    daily.append(
        [
            _("账号"),
            _("姓名"),
            _("日期"),
            _("巡查次数"),
            _("有效次数"),
            _("要求次数"),
            _("里程(公里)"),
            _("平均覆盖率"),
            _("最高覆盖率"),
            _("待核查"),
            _("时间段"),
            _("是否达标"),
        ]
    )
    for cell in daily[1]:
        cell.font = bold
    state_label = _state_labels()
    for r in report.rows:
        for d in r.days:
            daily.append(
                [
                    r.worker.username,
                    r.worker.name,
                    d.day,
                    d.patrols,
                    d.counted,
                    d.required,
                    d.distance_km,
                    _pct(d.mean_coverage),
                    _pct(d.best_coverage),
                    d.pending_review,
                    "; ".join(f"{w.label}:{'✓' if w.met else '✗'}" for w in d.windows),
                    state_label[d.state],
                ]
            )
            daily.cell(row=daily.max_row, column=3).number_format = "yyyy-mm-dd"
    for title, misses in ((_("今日未达标"), report.missed_today), (_("本周未达标"), report.missed_week)):
        sheet = wb.create_sheet(title)
        sheet.append([_("账号"), _("姓名"), _("职责"), _("所属辖区"), _("未达标天数"), _("日期")])
        for cell in sheet[1]:
            cell.font = bold
        for m in misses:
            sheet.append(
                [
                    m.worker.username,
                    m.worker.name,
                    m.worker.duty_label,
                    m.worker.bound_name,
                    m.count,
                    ", ".join(f"{d.day:%m-%d}" for d in m.days),
                ]
            )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _state_labels() -> dict[str, str]:
    return {"met": _("达标"), "missed": _("未达标"), "open": _("今日未完成"), "future": "-"}


def _export(request: HttpRequest, report: selectors.ComplianceReport) -> HttpResponse:
    content = compliance_workbook(report)
    audit_record(
        action=AuditAction.EXPORT,
        object_type="patrols.compliance",
        object_id=f"{report.node.code}:{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}",
        object_repr=_("巡查考核导出"),
        area_code=report.node.code,
        changes={"period": {"before": None, "after": report.period.kind}},
        message=f"workers={report.workers} days_met={report.days_met}",
    )
    response = HttpResponse(content, content_type=XLSX)
    name = f"patrol-compliance-{report.node.code}-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- review of flagged tracks ----------------------------------------------------------------


REVIEW_FILTERS = (
    (ReviewStatus.PENDING, ReviewStatus.PENDING.label),
    (ReviewStatus.APPROVED, ReviewStatus.APPROVED.label),
    (ReviewStatus.REJECTED, ReviewStatus.REJECTED.label),
)


@capability_required(Capability.REVIEW_PATROLS)
def review_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", ReviewStatus.PENDING)
    if status not in {s for s, _label in REVIEW_FILTERS}:
        status = ReviewStatus.PENDING
    qs = selectors.patrols_for_review(request.user, status=status)
    page = Paginator(qs, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrols/review_queue.html",
        {"page": page, "status": status, "filters": [(s, str(label)) for s, label in REVIEW_FILTERS]},
    )


@capability_required(Capability.REVIEW_PATROLS)
def review_detail(request: HttpRequest, patrol_id: int) -> HttpResponse:
    try:
        patrol = selectors.patrol_visible(request.user, patrol_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return render(
        request,
        "patrols/review_detail.html",
        {
            "patrol": patrol,
            "pending": patrol.review_status == ReviewStatus.PENDING,
            "track_url": reverse("api:patrol_track", args=[patrol.pk]),
            "error": None,
            "note": "",
        },
    )


@require_POST
@capability_required(Capability.REVIEW_PATROLS)
def review_decide(request: HttpRequest, patrol_id: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "")
    try:
        if decision == "approve":
            services.patrol_review_approve(actor=request.user, patrol=patrol_id, note=note)
        elif decision == "reject":
            services.patrol_review_reject(actor=request.user, patrol=patrol_id, note=note)
        else:
            raise DomainError(_("请选择核查结论"), code="decision")
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except PermissionDenied:
        raise
    except DomainError as exc:
        try:
            patrol = selectors.patrol_visible(request.user, patrol_id)
        except NotFound as missing:
            raise Http404(str(missing.message)) from missing
        return render(
            request,
            "patrols/review_detail.html",
            {
                "patrol": patrol,
                "pending": patrol.review_status == ReviewStatus.PENDING,
                "track_url": reverse("api:patrol_track", args=[patrol.pk]),
                "error": str(exc.message),
                "note": note,
            },
            status=exc.status,
        )
    return HttpResponseRedirect(reverse("patrols:review_queue") + "?done=" + str(patrol_id))
