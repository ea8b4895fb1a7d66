"""/cameras/: the camera registry (filter + pagination), a camera's page with its recent
alerts and their cases, the alert list, and the Excel import (upload → checked preview →
confirm). Thin: reads through selectors, writes through ``jobs`` / ``importing``."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from civicgrid.accounts.permissions import capability_required, has_capability
from civicgrid.accounts.scope import scope_queryset
from civicgrid.cameras import conf, selectors
from civicgrid.cameras.enums import AlertOutcome, CameraKind, CameraStatus
from civicgrid.cameras.importing import IMPORT_CAPABILITY, write_template
from civicgrid.cameras.jobs import camera_import_commit, camera_import_start, import_progress
from civicgrid.cameras.services import offline_cutoff
from civicgrid.common.errors import Conflict, NotFound
from civicgrid.common.forms import ExcelUploadForm
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

PAGE_SIZE = 50
ALERTS_PAGE_SIZE = 30
PREVIEW_PAGE_SIZE = 50
RECENT_IMPORTS = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _area_options(user: Any) -> list[Area]:
    """Streets and communities of the user's territory, for the filter (one query)."""
    return list(
        scope_queryset(
            user,
            Area.objects.filter(level__in=[AreaLevel.STREET, AreaLevel.COMMUNITY]).only("code", "name", "level"),
            "code",
        ).order_by("code")
    )


def _query(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


def _page_number(request: HttpRequest) -> str | None:
    return request.GET.get("page")


@capability_required(selectors.VIEW_CAPABILITY)
def registry(request: HttpRequest) -> HttpResponse:
    params = {
        "area": request.GET.get("area", "").strip()[:20],
        "status": request.GET.get("status", "").strip(),
        "kind": request.GET.get("kind", "").strip(),
        "q": request.GET.get("q", "").strip()[:50],
    }
    if params["area"] and not params["area"].isdigit():
        params["area"] = ""
    flt = selectors.CameraFilter(**params)
    page = Paginator(selectors.cameras_visible(request.user, flt), PAGE_SIZE).get_page(_page_number(request))
    cutoff = offline_cutoff()
    rows = [(camera, selectors.shown_status(camera, cutoff=cutoff)) for camera in page]
    return render(
        request,
        "cameras/registry.html",
        {
            "page": page,
            "rows": rows,
            "params": params,
            "query": _query(params),
            "counts": selectors.status_counts(request.user, flt),
            "areas": _area_options(request.user),
            "statuses": CameraStatus.choices,
            "kinds": CameraKind.choices,
            "offline_minutes": conf.offline_after_minutes(),
            "community_level": AreaLevel.COMMUNITY,
            "can_import": has_capability(request.user, IMPORT_CAPABILITY),
        },
    )


@capability_required(selectors.VIEW_CAPABILITY)
def detail(request: HttpRequest, camera_id: int) -> HttpResponse:
    try:
        camera = selectors.camera_get(request.user, camera_id)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    alerts = selectors.alerts_visible(request.user, selectors.AlertFilter(camera_id=camera.pk))
    page = Paginator(alerts, ALERTS_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "cameras/detail.html",
        {
            "camera": camera,
            "shown": selectors.shown_status(camera),
            "page": page,
            "offline_minutes": conf.offline_after_minutes(),
        },
    )


@capability_required(selectors.VIEW_CAPABILITY)
def alerts(request: HttpRequest) -> HttpResponse:
    params = {
        "area": request.GET.get("area", "").strip()[:20],
        "outcome": request.GET.get("outcome", "").strip(),
        "event_type": request.GET.get("event_type", "").strip()[:50],
    }
    if params["area"] and not params["area"].isdigit():
        params["area"] = ""
    flt = selectors.AlertFilter(area=params["area"], outcome=params["outcome"], event_type=params["event_type"])
    page = Paginator(selectors.alerts_visible(request.user, flt), ALERTS_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "cameras/alerts.html",
        {
            "page": page,
            "params": params,
            "query": _query(params),
            "areas": _area_options(request.user),
            "outcomes": AlertOutcome.choices,
            "community_level": AreaLevel.COMMUNITY,
        },
    )


# --- Excel import ------------------------------------------------------------------------------


def _import_context(request: HttpRequest, job: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"job": job, "progress": import_progress(job) if job else None}
    if job is not None and job.status == job.Status.READY:
        context["preview"] = Paginator(job.preview, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return context


@capability_required(IMPORT_CAPABILITY)
def import_page(request: HttpRequest) -> HttpResponse:
    form = ExcelUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = camera_import_start(actor=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            return redirect("cameras:import_job", pk=job.pk)
    return render(
        request,
        "cameras/import.html",
        {"form": form, "jobs": selectors.imports_visible(request.user)[:RECENT_IMPORTS], "job": None},
        status=400 if form.is_bound and form.errors else 200,
    )


@capability_required(IMPORT_CAPABILITY)
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job = selectors.import_get(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    context = _import_context(request, job)
    if request.headers.get("HX-Request"):
        if not job.is_running:
            # The poll that sees the job finish also refreshes "recent imports" (out of band).
            context.update(oob=True, jobs=selectors.imports_visible(request.user)[:RECENT_IMPORTS])
        return render(request, "cameras/_import_job.html", context)
    jobs = selectors.imports_visible(request.user)[:RECENT_IMPORTS]
    return render(request, "cameras/import.html", {**context, "form": ExcelUploadForm(), "jobs": jobs})


@require_POST
@capability_required(IMPORT_CAPABILITY)
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job = selectors.import_get(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    try:
        camera_import_commit(actor=request.user, job=job)
    except Conflict as exc:
        messages.error(request, str(exc))
        jobs = selectors.imports_visible(request.user)[:RECENT_IMPORTS]
        context = {**_import_context(request, job), "form": ExcelUploadForm(), "jobs": jobs}
        return render(request, "cameras/import.html", context, status=409)
    return redirect("cameras:import_job", pk=job.pk)


@capability_required(IMPORT_CAPABILITY)
def import_template(request: HttpRequest) -> FileResponse:
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_template(handle, actor=request.user)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="探头批量登记模板.xlsx", content_type=XLSX)
