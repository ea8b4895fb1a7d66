"""/api/people: scoped search, masked detail, create, update, audited reveal."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from civicgrid.accounts.permissions import Capability, require_capability
from civicgrid.people import selectors, services
from civicgrid.people.models import Person
from civicgrid.people.schemas import PersonCreateIn, PersonOut, PersonPatchIn, RevealIn, RevealOut

router = Router(tags=["people"])


class SearchQuery(Schema):
    id_number: str = ""
    phone: str = ""
    name: str = ""
    name_mode: str = "prefix"
    area: str = ""
    tag: str = ""
    residence_type: str = ""
    include_inactive: bool = False


@router.get("/", response=list[PersonOut])
@paginate(PageNumberPagination, page_size=50)
def list_people(request: HttpRequest, q: Query[SearchQuery]) -> Any:
    require_capability(request.user, Capability.VIEW_PEOPLE)
    filters = selectors.PersonFilters(**q.dict())
    return selectors.person_search(request.user, filters)


@router.post("/search", response=list[PersonOut])
@paginate(PageNumberPagination, page_size=50)
def search_people(request: HttpRequest, filters: SearchQuery) -> Any:
    """Like the list, but the filters travel in the body: use it for ID numbers and
    phones, which must not appear in URLs or access logs."""
    require_capability(request.user, Capability.VIEW_PEOPLE)
    return selectors.person_search(request.user, selectors.PersonFilters(**filters.dict()))


@router.get("/{int:person_id}", response=PersonOut)
def get_person(request: HttpRequest, person_id: int) -> Person:
    require_capability(request.user, Capability.VIEW_PEOPLE)
    return selectors.person_get(request.user, person_id)


@router.post("/", response={201: PersonOut})
def create_person(request: HttpRequest, payload: PersonCreateIn) -> Any:
    require_capability(request.user, Capability.EDIT_PEOPLE)
    data = payload.dict()
    data["tags"] = [t for t in data.get("tags") or []]
    person = services.person_create(actor=request.user, data=data)
    return Status(201, selectors.person_get(request.user, person.pk))


@router.patch("/{int:person_id}", response=PersonOut)
def update_person(request: HttpRequest, person_id: int, payload: PersonPatchIn) -> Person:
    require_capability(request.user, Capability.EDIT_PEOPLE)
    person = selectors.person_get(request.user, person_id)
    data = payload.dict(exclude_unset=True)
    services.person_update(actor=request.user, person=person, data=data)
    return selectors.person_get(request.user, person_id)


@router.post("/{int:person_id}/reveal", response=RevealOut)
def reveal_field(request: HttpRequest, person_id: int, payload: RevealIn) -> dict[str, str]:
    require_capability(request.user, Capability.REVEAL_PEOPLE)
    person = selectors.person_get(request.user, person_id)
    value = services.person_reveal(actor=request.user, person=person, field=payload.field)
    return {"field": payload.field, "value": value}
