"""Pages of the actual population: search, detail with audited reveal, create/edit,
Excel import with progress and error report, masked export."""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.accounts.permissions import Capability, capability_required, has_capability
from civicgrid.common.errors import NotFound
from civicgrid.people import selectors, services
from civicgrid.people.forms import ImportForm, PersonForm, PersonSearchForm
from civicgrid.people.importing import people_export_excel, write_template
from civicgrid.people.jobs import import_job_progress, import_job_start
from civicgrid.people.models import Person

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _get_person(request: HttpRequest, pk: int) -> Person:
    try:
        return selectors.person_get(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


@capability_required(Capability.VIEW_PEOPLE)
def search(request: HttpRequest) -> HttpResponse:
    """GET carries the harmless filters (name, area, tag) and the page; an ID number or
    phone comes by POST so that it never appears in a URL."""
    data = request.GET.copy()
    if request.method == "POST":
        data.update(request.POST)
    form = PersonSearchForm(data or None, user=request.user)
    filters = selectors.PersonFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.PersonFilters.from_mapping(form.cleaned_data)
    qs = selectors.person_search(request.user, filters)
    page = Paginator(qs, PAGE_SIZE).get_page(data.get("page"))
    query = data.copy()
    for key in ("page", "csrfmiddlewaretoken", *PersonSearchForm.SECRET_FIELDS):
        query.pop(key, None)
    context = {"form": form, "page": page, "query": query.urlencode(), "searched": form.is_bound}
    template = "people/_results.html" if request.headers.get("HX-Request") else "people/search.html"
    return render(request, template, context)


@capability_required(Capability.VIEW_PEOPLE)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = _get_person(request, pk)
    chain = selectors.area_chain(person.grid)
    members = []
    if person.household_id:
        members = list(
            selectors.person_search(request.user).filter(household_id=person.household_id).exclude(pk=person.pk)[:20]
        )
    protected = [(name, services.FIELD_LABELS[name], getattr(person, f"{name}_masked")) for name in services.REVEALABLE]
    return render(
        request,
        "people/detail.html",
        {
            "person": person,
            "chain": chain,
            "members": members,
            "protected": protected,
            "can_reveal": has_capability(request.user, Capability.REVEAL_PEOPLE),
            "can_edit": has_capability(request.user, Capability.EDIT_PEOPLE),
        },
    )


@require_POST
@capability_required(Capability.REVEAL_PEOPLE)
def reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    person = _get_person(request, pk)
    if field not in services.REVEALABLE:
        raise Http404
    value = services.person_reveal(actor=request.user, person=person, field=field)
    response = HttpResponse(
        format_html('<span class="revealed" id="value-{}" data-field="{}">{}</span>', field, field, value or _("(空)"))
    )
    response["Cache-Control"] = "no-store"
    return response


@capability_required(Capability.EDIT_PEOPLE)
def create(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(actor=request.user, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已新增居民 %(name)s。") % {"name": person.name})
            return redirect("people:detail", pk=person.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "people/form.html", {"form": form, "person": None}, status=status)


@capability_required(Capability.EDIT_PEOPLE)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = _get_person(request, pk)
    tags = list(person.tags.all())
    disabled = next((t for t in tags if t.kind == "disabled"), None)
    initial = {
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date,
        "ethnicity": person.ethnicity,
        "political_status": person.political_status,
        "residence_type": person.residence_type,
        "grid": person.grid_id,
        "building": person.building_id,
        "relation_to_head": person.relation_to_head,
        "tags": [t.kind for t in tags],
        "disability_category": disabled.disability_category if disabled else "",
        "disability_level": disabled.disability_level if disabled else None,
    }
    form = PersonForm(request.POST or None, user=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(actor=request.user, person=person, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("people:detail", pk=person.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "people/form.html", {"form": form, "person": person}, status=status)


@require_POST
@capability_required(Capability.EDIT_PEOPLE)
def deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _get_person(request, pk)
    services.person_deactivate(actor=request.user, person=person, reason=request.POST.get("reason", ""))
    messages.success(request, _("已将 %(name)s 标记为不在册。") % {"name": person.name})
    return redirect("people:search")


@capability_required(Capability.IMPORT_PEOPLE)
def import_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_start(actor=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            return redirect("people:import_job", pk=job.pk)
    jobs = selectors.import_job_list(request.user)[:10]
    return render(
        request,
        "people/import.html",
        {"form": form, "jobs": jobs, "job": None},
        status=400 if form.is_bound and form.errors else 200,
    )


@capability_required(Capability.IMPORT_PEOPLE)
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job = selectors.import_job_get(request.user, pk)
    except NotFound as exc:
        raise Http404 from exc
    context = {"job": job, "progress": import_job_progress(job)}
    if request.headers.get("HX-Request"):
        if job.is_finished:
            # The poll that sees the job finish also refreshes "recent imports" (out of band).
            context.update(oob=True, jobs=selectors.import_job_list(request.user)[:10])
        return render(request, "people/_import_job.html", context)
    jobs = selectors.import_job_list(request.user)[:10]
    return render(request, "people/import.html", {**context, "form": ImportForm(), "jobs": jobs})


@capability_required(Capability.IMPORT_PEOPLE)
def import_template(request: HttpRequest) -> FileResponse:
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_template(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="居民导入模板.xlsx", content_type=XLSX)


@capability_required(Capability.EXPORT_PEOPLE)
def export(request: HttpRequest) -> FileResponse:
    form = PersonSearchForm(request.GET or None, user=request.user)
    filters = selectors.PersonFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.PersonFilters.from_mapping(form.cleaned_data)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    people_export_excel(actor=request.user, out=handle, filters=filters)
    handle.seek(0)
    name = f"居民导出-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=XLSX)
