"""Reads of the actual population, always through the user's territorial scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.accounts.scope import code_range_q, scope_queryset
from civicgrid.common.errors import NotFound
from civicgrid.common.protected import digest
from civicgrid.people.models import ImportJob, Person, PersonTag
from civicgrid.people.services import context_for
from civicgrid.territory.models import Area


@dataclass(frozen=True)
class PersonFilters:
    id_number: str = ""
    phone: str = ""
    name: str = ""
    name_mode: str = "prefix"  # prefix | contains
    area: str = ""  # any territory code (street, community, grid): everything below it
    tag: str = ""
    residence_type: str = ""
    include_inactive: bool = False

    @classmethod
    def from_mapping(cls, data: Any) -> PersonFilters:
        def get(key: str) -> str:
            return str(data.get(key) or "").strip()

        return cls(
            id_number=get("id_number"),
            phone=get("phone"),
            name=get("name"),
            name_mode="contains" if get("name_mode") == "contains" else "prefix",
            area=get("area"),
            tag=get("tag"),
            residence_type=get("residence_type"),
            include_inactive=get("include_inactive") in {"1", "true", "on"},
        )


def person_base_queryset() -> QuerySet[Person]:
    # Boundaries (GeoJSON) of the joined grid, community, building and compound are never
    # shown on people pages: deferring them avoids parsing polygons for every row.
    return (
        Person.objects.select_related("grid", "grid__parent", "building", "building__compound", "household")
        .defer("grid__geometry", "grid__parent__geometry", "building__geometry", "building__compound__geometry")
        .prefetch_related(Prefetch("tags", queryset=PersonTag.objects.order_by("kind")))
    )


def person_search(user: Any, filters: PersonFilters | None = None) -> QuerySet[Person]:
    """Residents the user may see, matching ``filters``. ID number and phone match exactly
    through their blind index (no plaintext, no decryption); names match by prefix or
    substring. Ordered for stable pagination."""
    return filter_people(scope_queryset(user, person_base_queryset()), filters or PersonFilters())


def person_search_unscoped(filters: PersonFilters | None = None) -> QuerySet[Person]:
    """For trusted callers without a user (the CLI run by an operator): the whole installation."""
    return filter_people(person_base_queryset(), filters or PersonFilters())


def filter_people(qs: QuerySet[Person], filters: PersonFilters) -> QuerySet[Person]:
    if not filters.include_inactive:
        qs = qs.filter(is_active=True)
    if filters.id_number:
        qs = qs.filter(id_number_digest=digest("id_number", filters.id_number, context=context_for("id_number")))
    if filters.phone:
        qs = qs.filter(phone_digest=digest("phone", filters.phone, context=context_for("phone")))
    if filters.name:
        lookup = "name__contains" if filters.name_mode == "contains" else "name__startswith"
        qs = qs.filter(**{lookup: filters.name})
    if filters.area:
        qs = qs.filter(code_range_q("area_code", filters.area))
    if filters.tag:
        qs = qs.filter(Q(tags__kind=filters.tag))
    if filters.residence_type:
        qs = qs.filter(residence_type=filters.residence_type)
    return qs.order_by("area_code", "name", "id")


def person_find_by_id_number(user: Any, number: str, *, include_inactive: bool = False) -> Person | None:
    """The resident with this ID number, if the user may see them; else None (outside the
    scope looks the same as absent). ONE query: the blind-index digest (HMAC-SM3 of the
    normalised number, computed here) on its unique index, the scope range on area_code,
    and the grid, building, compound and household the detail page shows, joined in
    (their boundaries deferred). Tags are not fetched (``person.tags.all()`` if needed)."""
    key = digest("id_number", number or "", context=context_for("id_number"))
    if not key:
        return None
    try:
        return person_lookup_queryset(user, include_inactive=include_inactive).get(id_number_digest=key)
    except Person.DoesNotExist:
        return None


def person_lookup_queryset(user: Any, *, include_inactive: bool = False) -> QuerySet[Person]:
    """Residents in scope with what a detail view shows joined in (one query per lookup,
    no tags prefetch): the base of exact lookups such as ``person_find_by_id_number``."""
    qs = scope_queryset(
        user,
        Person.objects.select_related("grid", "building", "building__compound", "household").defer(
            "grid__geometry", "building__geometry", "building__compound__geometry"
        ),
    )
    return qs if include_inactive else qs.filter(is_active=True)


def person_get(user: Any, pk: Any) -> Person:
    """One resident in scope, or NotFound (outside scope looks the same as absent)."""
    try:
        return scope_queryset(user, person_base_queryset()).get(pk=int(pk))
    except (Person.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound(_("未找到该居民。")) from exc


def import_job_get(user: Any, pk: Any) -> ImportJob:
    qs = ImportJob.objects.all()
    if not getattr(user, "is_superuser", False):
        qs = qs.filter(created_by=user)
    try:
        return qs.get(pk=int(pk))
    except (ImportJob.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound(_("未找到该导入任务。")) from exc


def import_job_list(user: Any) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(created_by=user).order_by("-id")


def area_chain(grid: Area) -> list[Area]:
    """District > street > community > grid, in one query."""
    codes = [grid.code[:n] for n in (6, 9, 12) if len(grid.code) > n]
    parents = {a.code: a for a in Area.objects.filter(code__in=codes)}
    return [parents[c] for c in codes if c in parents] + [grid]


def tag_counts(user: Any) -> dict[str, int]:
    """Active residents per group (elderly, disabled, ...) in the user's scope, one query."""
    rows = (
        scope_queryset(user, PersonTag.objects.filter(person__is_active=True), "person__area_code")
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return {str(kind): int(n) for kind, n in rows}
