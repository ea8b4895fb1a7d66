"""/api/reports: the generated reports in the caller's scope (paginated, filtered), asking for a
report (the page's service: 202 while it is being made), one report's status and progress, its
files, and its figures as JSON (the numbers the files show). Reads go through the reports
selectors (scope: a street user sees only its own; 404 outside)."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from civicgrid.common.errors import Conflict
from civicgrid.reports import selectors, services
from civicgrid.reports.jobs import report_progress
from civicgrid.reports.models import Report, ReportStatus
from civicgrid.reports.periods import PERIOD_KINDS, ReportPeriod, parse_period
from civicgrid.reports.permissions import require_generate
from civicgrid.reports.schemas import GenerateIn, ReportDataOut, ReportOut
from civicgrid.territory.selectors import area_get

router = Router(tags=["reports"])
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


class ListQuery(Schema):
    kind: str = ""
    period: str = ""
    area: str = ""


def _url(request: HttpRequest, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(f"api:{name}", args=args))


def report_out(request: HttpRequest, report: Report) -> dict[str, Any]:
    done = report.status == ReportStatus.DONE
    files = [
        {"format": fmt, "size": size, "url": _url(request, "reports_file", report.pk, fmt)}
        for fmt, wanted, field, size in (
            ("xlsx", report.want_xlsx, report.xlsx_file, report.xlsx_size),
            ("pdf", report.want_pdf, report.pdf_file, report.pdf_size),
        )
        if done and wanted and field
    ]
    period = ReportPeriod(report.period_kind, report.period_key, report.period_start, report.period_end)
    return {
        "id": report.pk,
        "area_code": report.area_code,
        "area_name": report.area_name,
        "period_kind": report.period_kind,
        "period_kind_label": period.kind_label,
        "period": report.period_key,
        "period_label": period.label,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "formats": [fmt for fmt, on in (("xlsx", report.want_xlsx), ("pdf", report.want_pdf)) if on],
        "status": report.status,
        "status_label": str(report.get_status_display()),
        "message": report.message,
        "progress": report_progress(report),
        "summary": report.summary or {},
        "requested_by": report.requested_by.username if report.requested_by else "",
        "schedule_id": report.schedule_id,
        "schedule_name": report.schedule.name if report.schedule else "",
        "created_at": report.created_at,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "files": files,
        "status_url": _url(request, "reports_get", report.pk),
        "data_url": _url(request, "reports_data", report.pk) if done else None,
    }


class _Out:
    """One page of reports as dicts (count, then slice: the page's rows only)."""

    def __init__(self, request: HttpRequest, qs: Any) -> None:
        self.request, self.qs = request, qs

    def __len__(self) -> int:
        return int(self.qs.count())

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [report_out(self.request, r) for r in self.qs[index]]


def _filters(user: Any, q: ListQuery) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    kind = q.kind.strip()
    if kind and kind not in PERIOD_KINDS:
        errors["kind"] = [_("报表类型只能是 month (月报)、half (半年报) 或 year (年报)")]
    period = ""
    if q.period.strip():
        try:  # a filter: any well-formed period, also one not started yet
            period = parse_period(q.period, today=dt.date.max).key
        except ValidationError as exc:
            errors.update(exc.message_dict)
    area = q.area.strip()
    if area and not area.isdigit():
        errors["area"] = [_("辖区编码只能是数字")]
    if errors:
        raise ValidationError(errors)
    if area:
        area_get(user, area)  # NotFound (404) outside the user's territory
    return {"period_kind": kind, "period_key": period, "area_code": area}


@router.get(
    "/",
    response=list[ReportOut],
    url_name="reports_list",
    summary="已生成的统计报表 (本辖区, 分页; 可按类型 kind、周期 period、辖区 area 筛选)",
)
@paginate(PageNumberPagination, page_size=20)
def list_reports(request: HttpRequest, q: Query[ListQuery]) -> Any:
    require_generate(request.user)
    return _Out(request, selectors.report_list(request.user, **_filters(request.user, q)))


@router.post(
    "/",
    response={201: ReportOut, 202: ReportOut},
    url_name="reports_generate",
    summary="生成统计报表 (与报表页同一服务; 后台生成时返回 202 与进度, 已生成完返回 201)",
    description="The same person asking again for the same report while it is being made gets that one back. "
    "Poll `status_url` until `status` is done or failed.",
)
def generate_report(request: HttpRequest, body: GenerateIn) -> Status[dict[str, Any]]:
    report = services.report_generate(
        actor=request.user,
        area_code=body.area,
        period=body.period,
        want_xlsx=body.want_xlsx,
        want_pdf=body.want_pdf,
    )
    report = selectors.report_get(request.user, report.pk)  # as it is after the commit (inline runner: done)
    return Status(201 if report.is_finished else 202, report_out(request, report))


@router.get("/{report_id}", response=ReportOut, url_name="reports_get", summary="一份报表: 状态、进度、文件与摘要")
def get_report(request: HttpRequest, report_id: int) -> dict[str, Any]:
    require_generate(request.user)
    return report_out(request, selectors.report_get(request.user, report_id))


@router.get(
    "/{report_id}/data",
    response=ReportDataOut,
    url_name="reports_data",
    summary="报表数字 (JSON): 概要指标与各分表, 与文件中的数字一致",
)
def report_figures(request: HttpRequest, report_id: int) -> dict[str, Any]:
    require_generate(request.user)
    report = selectors.report_get(request.user, report_id)
    if report.status != ReportStatus.DONE:
        raise Conflict(
            _("报表尚未生成完成 (%(status)s)") % {"status": report.get_status_display()},
            code="report_not_ready",
        )
    data = selectors.report_data_json(request.user, report_id)
    if not data:
        raise Conflict(_("该报表生成时尚未保存数据, 请重新生成"), code="report_data_missing")
    return {"report_id": report.pk, **data}


@router.get(
    "/{report_id}/files/{fmt}",
    url_name="reports_file",
    summary="下载报表文件 (fmt: xlsx 或 pdf; 记入审计)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file",
                "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in CONTENT_TYPES.values()},
            }
        }
    },
)
def download_report(request: HttpRequest, report_id: int, fmt: str) -> FileResponse:
    require_generate(request.user)
    if fmt not in CONTENT_TYPES:
        raise ValidationError({"fmt": [_("文件格式只能是 xlsx 或 pdf")]})
    report = selectors.report_get(request.user, report_id)
    handle = services.report_file_open(actor=request.user, report=report, fmt=fmt)
    return FileResponse(handle, as_attachment=True, filename=report.download_name(fmt), content_type=CONTENT_TYPES[fmt])
