"""Open311 reads: the services list, service definitions and service requests as plain data
(rendered by ``render``). What the public may see is defined in ``cases.public`` (shared with
the transparency page): public categories (a sub-category only under a public class), cases
that are not hidden, free text scrubbed of names, numbers, e-mail addresses and links, and
locations generalised to a 200 m lattice cell; the address and the reporter never appear."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from civicgrid.cases.enums import OPEN_STATUSES, CaseAction, CaseStatus
from civicgrid.cases.models import Case, CaseEvent, Category, CategoryAttribute
from civicgrid.cases.public import PublicPlaces, public_category_q, scrub_public_text

SPECIFICATION_URL = "http://wiki.open311.org/GeoReport_v2"
MAX_RESULTS = 1000
MAX_SPAN_DAYS = 90

# Events whose note is meant for the reporter (the handler's report, the closing or refusal
# reason, a direct answer); other notes are internal.
PUBLIC_NOTE_ACTIONS = (
    CaseAction.REPORT_BACK,
    CaseAction.VERIFY_PASS,
    CaseAction.ANSWER_DIRECTLY,
    CaseAction.NOT_ACCEPT,
    CaseAction.MERGE,
    CaseAction.REOPEN,
)


def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def statuses_for(open311: str) -> list[str]:
    if open311 == "open":
        return sorted(OPEN_STATUSES)
    return sorted(set(CaseStatus.values) - set(OPEN_STATUSES))


# --- services -----------------------------------------------------------------------------


def public_categories() -> QuerySet[Category]:
    return Category.objects.filter(public_category_q(""), is_active=True).select_related("parent")


def service_categories() -> list[Category]:
    """The services: active public leaf categories (a parent with active public children is
    their group, not a service)."""
    items = list(public_categories().order_by("sort_order", "code"))
    parents = {c.parent_id for c in items if c.parent_id}
    return [c for c in items if c.pk not in parents and (c.parent is None or c.parent.is_public)]


def service_category(code: str) -> Category | None:
    for category in service_categories():
        if category.code == code:
            return category
    return None


def services_document() -> list[dict[str, Any]]:
    categories = service_categories()
    with_attributes = set(
        CategoryAttribute.objects.filter(category__in=categories).values_list("category_id", flat=True)
    )
    rows = []
    for c in categories:
        group = c.parent.name if c.parent else c.name
        keywords = ",".join(x for x in (c.parent.name if c.parent else "", c.name, c.code) if x)
        rows.append(
            {
                "service_code": c.code,
                "service_name": c.name,
                "description": c.description or str(c),
                "metadata": c.pk in with_attributes,
                "type": "realtime",
                "keywords": keywords,
                "group": group,
            }
        )
    return rows


def attributes_of(category: Category) -> list[CategoryAttribute]:
    return list(CategoryAttribute.objects.filter(category=category).order_by("order", "id"))


def definition_document(category: Category) -> dict[str, Any]:
    attributes = []
    for a in attributes_of(category):
        item: dict[str, Any] = {
            "variable": a.variable,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": a.datatype_description,
            "order": a.order,
            "description": a.description,
        }
        if a.value_keys():
            item["values"] = [{"key": str(v["key"]), "name": str(v.get("name", v["key"]))} for v in a.values]
        attributes.append(item)
    return {"service_code": category.code, "attributes": attributes}


# --- service requests ---------------------------------------------------------------------


def public_requests() -> QuerySet[Case]:
    """Every case Open311 may show, with what a row needs in one query."""
    notes = CaseEvent.objects.filter(case=OuterRef("pk"), action__in=PUBLIC_NOTE_ACTIONS).exclude(note="")
    last_transition = CaseEvent.objects.filter(case=OuterRef("pk"), is_transition=True)
    return (
        Case.objects.filter(public_category_q(), is_hidden=False)
        .select_related("category", "current_department", "current_unit", "grid", "intake_record")
        .annotate(
            public_note=Subquery(notes.order_by("-occurred_at", "-id").values("note")[:1]),
            last_action=Subquery(last_transition.order_by("-occurred_at", "-id").values("action")[:1]),
        )
    )


def agency_responsible(case: Case) -> str:
    if case.current_department_id and case.current_department:
        return case.current_department.name
    if case.current_unit_id and case.current_unit:
        return case.current_unit.name
    if case.current_handler_id and case.grid_id and case.grid:
        return case.grid.name
    return _("区网格化服务管理指挥中心")


def status_notes(case: Case) -> str:
    note = getattr(case, "public_note", None)
    if note:
        return scrub_public_text(str(note), case.reporter_name)[:500]
    action = getattr(case, "last_action", None)
    if action in CaseAction.values:
        return str(CaseAction(action).label)
    return str(CaseStatus(case.status).label)


def _record(case: Case) -> Any:
    try:
        return case.intake_record
    except Case.intake_record.RelatedObjectDoesNotExist:
        return None


def request_row(case: Case, places: PublicPlaces) -> dict[str, Any]:
    record = _record(case)
    lon, lat = places.snap(case.area_code, case.lon, case.lat)
    expected: datetime | None = case.close_due if case.status in OPEN_STATUSES else None
    return {
        "service_request_id": str(case.pk),
        "status": open311_status(case.status),
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": scrub_public_text(case.description, case.reporter_name),
        "agency_responsible": agency_responsible(case),
        "service_notice": "",
        "requested_datetime": case.received_at,
        "updated_datetime": case.updated_at,
        "expected_datetime": expected,
        "address": "",
        "address_id": "",
        "zipcode": "",
        "lat": lat,
        "long": lon,
        "media_url": record.media_url if record is not None else "",
    }


def requests_document(cases: Iterable[Case]) -> list[dict[str, Any]]:
    places = PublicPlaces()
    return [request_row(c, places) for c in cases]
