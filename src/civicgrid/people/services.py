"""Writes to the actual population. Every function is keyword-only, atomic and audited;
personal data reaches the database only through ``common.protected.protect`` and reaches
the audit trail only in its masked form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import code_within, ensure_in_scope, user_scope_code
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common import idcard
from civicgrid.common.errors import Conflict, DomainError
from civicgrid.common.protected import digest as blind_digest
from civicgrid.common.protected import protect, reveal
from civicgrid.people.enums import (
    DisabilityCategory,
    DisabilityLevel,
    Gender,
    PersonTagKind,
    PoliticalStatus,
    ResidenceType,
)
from civicgrid.people.models import Person, PersonTag
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Building, Household

# field -> (protect kind). The context of each column is "people.person.<field>".
PROTECTED_FIELDS: dict[str, str] = {
    "id_number": "id_number",
    "phone": "phone",
    "registered_address": "address",
    "current_address": "address",
}
PLAIN_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "political_status",
    "residence_type",
    "relation_to_head",
)
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{9,11})$")

ProgressCallback = Callable[[str, int, int], None]
"""progress(phase, done, total): phase is "validate", "write" or "rotate"."""


def context_for(field_name: str) -> str:
    return f"people.person.{field_name}"


# --- Plain rows for bulk creation (the demo builder and the importer) ------------------


@dataclass(frozen=True, slots=True)
class TagSpec:
    kind: str
    disability_category: str = ""
    disability_level: int | None = None
    note: str = ""


@dataclass(slots=True)
class PersonRow:
    """One resident in plaintext, before protection. ``gender`` and ``birth_date`` are
    derived from the ID number when left empty. ``tags`` holds PersonTagKind values or
    TagSpec objects (a disabled tag needs a TagSpec with category and level)."""

    name: str
    id_number: str
    grid: Area
    gender: str = ""
    birth_date: dt.date | None = None
    phone: str = ""
    registered_address: str = ""
    current_address: str = ""
    building: Building | None = None
    household: Household | None = None
    ethnicity: str = "汉族"
    political_status: str = PoliticalStatus.MASSES
    residence_type: str = ResidenceType.REGISTERED
    relation_to_head: str = ""
    tags: Sequence[str | TagSpec] = field(default_factory=tuple)


def _tag_spec(tag: str | TagSpec) -> TagSpec:
    return tag if isinstance(tag, TagSpec) else TagSpec(kind=str(tag))


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def protected_columns(field_name: str, value: str) -> dict[str, str]:
    """The model columns a protected field is stored in."""
    kind = PROTECTED_FIELDS[field_name]
    pv = protect(kind, value, context=context_for(field_name))
    columns = {f"{field_name}_cipher": pv.cipher, f"{field_name}_masked": pv.masked}
    if hasattr(Person, f"{field_name}_digest"):
        columns[f"{field_name}_digest"] = pv.digest
    return columns


def person_from_row(row: PersonRow) -> Person:
    """An unsaved Person with every protected field encrypted; raises ValidationError
    on a bad ID number."""
    number = idcard.validate_id_number(row.id_number)
    person = Person(
        name=row.name.strip(),
        gender=row.gender or idcard.gender(number),
        birth_date=row.birth_date or idcard.birth_date(number),
        ethnicity=row.ethnicity or "汉族",
        political_status=row.political_status or PoliticalStatus.MASSES,
        residence_type=row.residence_type or ResidenceType.REGISTERED,
        relation_to_head=row.relation_to_head,
        grid=row.grid,
        building=row.building,
        household=row.household,
        area_code=row.grid.code,
    )
    for name, value in (
        ("id_number", number),
        ("phone", row.phone),
        ("registered_address", row.registered_address),
        ("current_address", row.current_address),
    ):
        for column, stored in protected_columns(name, value).items():
            setattr(person, column, stored)
    return person


def person_bulk_create(
    *,
    rows: Iterable[PersonRow],
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    actor: Any = None,
) -> int:
    """Create many residents fast (demo data, migrations from other systems): rows are
    protected and inserted in batches inside one transaction; ONE audit record covers the
    whole batch. No scope check: callers are trusted code, not requests. Returns the count.
    ``progress(done)`` is called after each batch."""
    total = 0
    areas: set[str] = set()
    with transaction.atomic():
        for batch in _batched(rows, batch_size):
            people = [person_from_row(row) for row in batch]
            try:
                with transaction.atomic():
                    Person.objects.bulk_create(people, batch_size=batch_size)
            except IntegrityError as exc:
                raise Conflict(_("批量新增失败: 身份证号重复。"), code="duplicate_id_number") from exc
            tags = [
                PersonTag(
                    person=person,
                    kind=spec.kind,
                    disability_category=spec.disability_category,
                    disability_level=spec.disability_level,
                    note=spec.note,
                )
                for person, row in zip(people, batch, strict=True)
                for spec in map(_tag_spec, row.tags)
            ]
            if tags:
                PersonTag.objects.bulk_create(tags, batch_size=batch_size)
            total += len(people)
            areas.update(p.area_code[:12] for p in people)
            if progress:
                progress(total)
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            object_type="people.person",
            object_repr=_("批量新增居民 %(count)d 人") % {"count": total},
            area_code=_common_prefix(areas),
            changes={"count": total},
            message="person_bulk_create",
        )
    return total


def _common_prefix(codes: Iterable[str]) -> str:
    items = sorted(codes)
    if not items:
        return ""
    first, last = items[0], items[-1]
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


# --- Validation shared by the form, the API and the importer -----------------------------


@dataclass
class Resolved:
    """Territory objects looked up once (the importer passes prebuilt maps)."""

    grid: Area
    building: Building | None
    household: Household | None


def _as_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def _scope_ok(actor: Any, area_code: str) -> bool:
    if actor is None:  # trusted internal caller (CLI, demo builder)
        return True
    try:
        ensure_in_scope(actor, area_code)
    except PermissionDenied:
        return False
    return True


def _resolve_grid(value: Any) -> Area | None:
    if value in (None, ""):
        return None
    if isinstance(value, Area):
        return value
    text = str(value).strip()
    qs = Area.objects.filter(level=AreaLevel.GRID)
    if text.isdigit() and len(text) >= 14:
        return qs.filter(code=text).first()
    return qs.filter(pk=int(text)).first() if text.isdigit() else None


def _resolve_fk(model: type[Any], value: Any) -> Any:
    if value in (None, "", 0):
        return None
    if isinstance(value, model):
        return value
    try:
        return model.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        return None


def clean_person_data(*, actor: Any, data: Mapping[str, Any], instance: Person | None = None) -> dict[str, Any]:
    """Validate ``data`` (partial when ``instance`` is given) and return the cleaned plain
    values: keys of PLAIN_FIELDS, PROTECTED_FIELDS (plaintext, normalised), grid, building,
    household, tags (list of TagSpec or None when not given). Raises ValidationError with
    a Chinese message per field."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    def given(name: str) -> bool:
        return instance is None or name in data

    # Name
    if given("name"):
        name = str(data.get("name") or "").strip()
        if not name:
            err("name", _("请填写姓名。"))
        elif len(name) > 50:
            err("name", _("姓名不能超过50个字。"))
        out["name"] = name

    # ID number, birth date, gender
    number = ""
    if given("id_number"):
        raw = str(data.get("id_number") or "")
        if not raw.strip():
            err("id_number", _("请填写身份证号。"))
        else:
            try:
                number = idcard.validate_id_number(raw)
                out["id_number"] = number
            except ValidationError as exc:
                err("id_number", exc.messages[0])
    elif instance is not None and ("birth_date" in data or "gender" in data):
        number = reveal(instance.id_number_cipher, context=context_for("id_number"))

    if given("birth_date") or number:
        try:
            birth = _as_date(data.get("birth_date"))
        except ValueError:
            err("birth_date", _("出生日期格式应为 YYYY-MM-DD。"))
            birth = None
        if number and "id_number" not in errors and "birth_date" not in errors:
            derived = idcard.birth_date(number)
            if birth is None:
                birth = derived
            elif birth != derived:
                err("birth_date", _("出生日期与身份证号不一致: 身份证号中为 %(date)s。") % {"date": derived})
        if birth is None and instance is None and "birth_date" not in errors and "id_number" not in errors:
            err("birth_date", _("请填写出生日期。"))
        if birth is not None:
            if birth > dt.date.today():
                err("birth_date", _("出生日期不能晚于今天。"))
            out["birth_date"] = birth

    if given("gender") or number:
        gender = str(data.get("gender") or "").strip()
        if gender and gender not in Gender.values:
            err("gender", _("性别应为: 男 或 女。"))
        elif number and "id_number" not in errors:
            derived_gender = idcard.gender(number)
            if not gender:
                gender = derived_gender
            elif gender != derived_gender:
                err(
                    "gender",
                    _("性别与身份证号不一致: 身份证号中为 %(gender)s。") % {"gender": Gender(derived_gender).label},
                )
        if gender:
            out["gender"] = gender
        elif instance is None and "gender" not in errors and "id_number" not in errors:
            err("gender", _("请填写性别。"))

    # Phone
    if given("phone"):
        phone = re.sub(r"[\s\-()]", "", str(data.get("phone") or "")).removeprefix("+86")
        if phone and not PHONE_RE.match(phone):
            err("phone", _("电话号码格式不正确: 手机号为11位(1开头), 固话需带区号。"))
        out["phone"] = phone

    for name in ("registered_address", "current_address"):
        if given(name):
            value = str(data.get(name) or "").strip()
            if len(value) > 200:
                err(name, _("地址不能超过200个字。"))
            out[name] = value

    # Choices
    for name, choices, default, label in (
        ("political_status", PoliticalStatus, PoliticalStatus.MASSES, _("政治面貌")),
        ("residence_type", ResidenceType, ResidenceType.REGISTERED, _("人口类型")),
    ):
        if given(name):
            value = str(data.get(name) or "") or str(default)
            if value not in choices.values:
                err(name, _("%(label)s取值无效。") % {"label": label})
            out[name] = value
    for name, limit, text_default in (("ethnicity", 20, "汉族"), ("relation_to_head", 20, "")):
        if given(name):
            value = str(data.get(name) or "").strip() or text_default
            if len(value) > limit:
                err(name, _("不能超过%(n)d个字。") % {"n": limit})
            out[name] = value

    # Territory: grid inside the actor's scope, building and household inside the grid.
    grid = instance.grid if instance is not None else None
    if given("grid"):
        grid = _resolve_grid(data.get("grid"))
        if grid is None:
            err("grid", _("请选择有效的网格。"))
        elif not _scope_ok(actor, grid.code):
            err("grid", _("该网格不在您的辖区范围内。"))
            grid = None
    building = instance.building if instance is not None else None
    household = instance.household if instance is not None else None
    if given("building"):
        building = _resolve_fk(Building, data.get("building"))
        if data.get("building") not in (None, "", 0) and building is None:
            err("building", _("楼栋不存在。"))
    if given("household"):
        household = _resolve_fk(Household, data.get("household"))
        if data.get("household") not in (None, "", 0) and household is None:
            err("household", _("户不存在。"))
    if (
        given("grid")
        and not given("building")
        and instance is not None
        and building is not None
        and grid is not None
        and building.grid_id != grid.pk
    ):
        building, household = None, None  # moved to another grid: the old address no longer applies
    if household is not None and building is None:
        building = household.building
    if grid is not None:
        if building is not None and building.grid_id != grid.pk:
            err("building", _("楼栋不属于所选网格。"))
        if household is not None and building is not None and household.building_id != building.pk:
            err("household", _("户不属于所选楼栋。"))
    out["grid"], out["building"], out["household"] = grid, building, household

    if "tags" in data and data.get("tags") is not None:
        try:
            out["tags"] = clean_tags(data.get("tags") or [])
        except ValidationError as exc:
            err("tags", exc.messages[0])

    if errors:
        raise ValidationError(errors)
    return out


def clean_tag(spec: TagSpec) -> TagSpec:
    if spec.kind not in PersonTagKind.values:
        raise ValidationError(_("未知的标签: %(kind)s。") % {"kind": spec.kind}, code="tag_kind")
    if spec.kind == PersonTagKind.DISABLED:
        if spec.disability_category not in DisabilityCategory.values:
            raise ValidationError(_("残疾人标签需要填写残疾类别。"), code="tag_disability")
        if spec.disability_level not in DisabilityLevel.values:
            raise ValidationError(_("残疾人标签需要填写残疾等级(一级至四级)。"), code="tag_disability")
    elif spec.disability_category or spec.disability_level:
        raise ValidationError(_("只有残疾人标签可以填写残疾类别和等级。"), code="tag_disability")
    return spec


def clean_tags(tags: Iterable[Any]) -> list[TagSpec]:
    specs: dict[str, TagSpec] = {}
    for tag in tags:
        if isinstance(tag, Mapping):
            level = tag.get("disability_level")
            spec = TagSpec(
                kind=str(tag.get("kind", "")),
                disability_category=str(tag.get("disability_category") or ""),
                disability_level=int(level) if level not in (None, "") else None,
                note=str(tag.get("note") or ""),
            )
        else:
            spec = _tag_spec(tag)
        specs[spec.kind] = clean_tag(spec)
    return list(specs.values())


# --- Masked snapshots for the audit diff ------------------------------------------------


def _tag_label(tag: PersonTag | TagSpec) -> str:
    label = str(PersonTagKind(tag.kind).label)
    if tag.kind == PersonTagKind.DISABLED and tag.disability_category:
        level = DisabilityLevel(tag.disability_level).label if tag.disability_level else ""
        label += f"({DisabilityCategory(tag.disability_category).label}{level})"
    return label


def masked_snapshot(person: Person, tags: Iterable[PersonTag | TagSpec] | None = None) -> dict[str, Any]:
    """What the audit trail may know about a person: plain fields, masked protected ones."""
    snap: dict[str, Any] = {name: getattr(person, name) for name in PLAIN_FIELDS}
    snap["birth_date"] = person.birth_date.isoformat() if person.birth_date else None
    for name in PROTECTED_FIELDS:
        snap[name] = getattr(person, f"{name}_masked")
        snap[f"__{name}"] = getattr(person, f"{name}_cipher")  # decides "changed"; never recorded
    snap["grid"] = person.area_code
    snap["building"] = person.building_id
    snap["household"] = person.household_id
    snap["is_active"] = person.is_active
    if tags is not None:
        snap["tags"] = sorted(_tag_label(t) for t in tags)
    return snap


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{"field": {"before": .., "after": ..}} for what changed (the audit app's diff shape)."""
    out: dict[str, dict[str, Any]] = {}
    for key, new in after.items():
        if key.startswith("__"):
            continue
        old = before.get(key)
        if not before and new in (None, "", []):
            continue
        secret = key in PROTECTED_FIELDS  # compare ciphertexts: masks can hide a change
        changed = before.get(f"__{key}") != after.get(f"__{key}") if secret else old != new
        if changed:
            out[key] = {"before": old, "after": new}
    return out


# --- Single-person services ------------------------------------------------------------


def _require(actor: Any, capability: str) -> None:
    if actor is not None and not has_capability(actor, capability):
        raise PermissionDenied(_("您没有执行此操作的权限。"))


def _require_in_scope(actor: Any, person: Person) -> None:
    if actor is not None:
        ensure_in_scope(actor, person.area_code)


def _apply(person: Person, cleaned: Mapping[str, Any]) -> None:
    for name in PLAIN_FIELDS:
        if name in cleaned:
            setattr(person, name, cleaned[name])
    for name in PROTECTED_FIELDS:
        if name in cleaned and (person.pk is None or _differs(person, name, cleaned[name])):
            for column, stored in protected_columns(name, cleaned[name]).items():
                setattr(person, column, stored)
    if cleaned.get("grid") is not None:
        person.grid = cleaned["grid"]
        person.area_code = cleaned["grid"].code
    person.building = cleaned.get("building")
    person.household = cleaned.get("household")
    person.row_digest = ""


def _differs(person: Person, name: str, value: str) -> bool:
    """Is ``value`` different from what is stored? (Re-encrypting an equal value would
    only churn ciphertexts and show a false change in the audit trail.)"""
    digest_column = f"{name}_digest"
    if hasattr(person, digest_column):
        return bool(
            getattr(person, digest_column) != blind_digest(PROTECTED_FIELDS[name], value, context=context_for(name))
        )
    return reveal(getattr(person, f"{name}_cipher"), context=context_for(name)) != value


def _set_tags(person: Person, specs: Sequence[TagSpec]) -> None:
    PersonTag.objects.filter(person=person).exclude(kind__in=[s.kind for s in specs]).delete()
    existing = {t.kind: t for t in PersonTag.objects.filter(person=person)}
    for spec in specs:
        tag = existing.get(spec.kind) or PersonTag(person=person, kind=spec.kind)
        tag.disability_category = spec.disability_category
        tag.disability_level = spec.disability_level
        tag.note = spec.note
        tag.save()


def _save_unique(person: Person) -> None:
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        raise ValidationError({"id_number": [_("该身份证号已登记。")]}) from exc


@transaction.atomic
def person_create(*, actor: Any, data: Mapping[str, Any]) -> Person:
    _require(actor, Capability.EDIT_PEOPLE)
    cleaned = clean_person_data(actor=actor, data=data)
    person = Person()
    _apply(person, cleaned)
    if Person.objects.filter(id_number_digest=person.id_number_digest).exists():
        raise ValidationError({"id_number": [_("该身份证号已登记。")]})
    _save_unique(person)
    tags = cleaned.get("tags") or []
    _set_tags(person, tags)
    audit_record(
        action=AuditAction.CREATE,
        obj=person,
        actor=actor,
        changes=diff({}, masked_snapshot(person, tags)),
    )
    return person


@transaction.atomic
def person_update(*, actor: Any, person: Person, data: Mapping[str, Any]) -> Person:
    _require(actor, Capability.EDIT_PEOPLE)
    person = (
        Person.objects.select_for_update(of=("self",)).select_related("grid", "building", "household").get(pk=person.pk)
    )
    _require_in_scope(actor, person)
    before = masked_snapshot(person, person.tags.all())
    cleaned = clean_person_data(actor=actor, data=data, instance=person)
    _apply(person, cleaned)
    if (
        "id_number" in cleaned
        and Person.objects.filter(id_number_digest=person.id_number_digest).exclude(pk=person.pk).exists()
    ):
        raise ValidationError({"id_number": [_("该身份证号已登记。")]})
    _save_unique(person)
    if "tags" in cleaned:
        _set_tags(person, cleaned["tags"])
    after = masked_snapshot(person, person.tags.all())
    changes = diff(before, after)
    if changes:
        audit_record(action=AuditAction.UPDATE, obj=person, actor=actor, changes=changes)
    return person


@transaction.atomic
def person_deactivate(*, actor: Any, person: Person, reason: str = "") -> Person:
    """Soft delete (moved away, deceased): the record leaves lists but stays auditable."""
    _require(actor, Capability.EDIT_PEOPLE)
    _require_in_scope(actor, person)
    if not person.is_active:
        return person
    person.is_active = False
    person.save(update_fields=["is_active", "updated_at"])
    audit_record(
        action=AuditAction.DELETE,
        obj=person,
        actor=actor,
        changes={"is_active": {"before": True, "after": False}},
        message=reason[:500],
    )
    return person


@transaction.atomic
def person_tag_add(
    *,
    actor: Any,
    person: Person,
    kind: str,
    disability_category: str = "",
    disability_level: int | None = None,
    note: str = "",
) -> PersonTag:
    _require(actor, Capability.EDIT_PEOPLE)
    _require_in_scope(actor, person)
    spec = clean_tag(TagSpec(kind, disability_category, disability_level, note))
    before = sorted(_tag_label(t) for t in person.tags.all())
    tag, _created = PersonTag.objects.update_or_create(
        person=person,
        kind=spec.kind,
        defaults={
            "disability_category": spec.disability_category,
            "disability_level": spec.disability_level,
            "note": spec.note,
        },
    )
    after = sorted(_tag_label(t) for t in person.tags.all())
    if before != after:
        audit_record(
            action=AuditAction.UPDATE, obj=person, actor=actor, changes={"tags": {"before": before, "after": after}}
        )
    return tag


@transaction.atomic
def person_tag_remove(*, actor: Any, person: Person, kind: str) -> bool:
    _require(actor, Capability.EDIT_PEOPLE)
    _require_in_scope(actor, person)
    before = sorted(_tag_label(t) for t in person.tags.all())
    deleted, _details = PersonTag.objects.filter(person=person, kind=kind).delete()
    if deleted:
        after = sorted(_tag_label(t) for t in person.tags.all())
        audit_record(
            action=AuditAction.UPDATE, obj=person, actor=actor, changes={"tags": {"before": before, "after": after}}
        )
    return bool(deleted)


# --- Reveal ----------------------------------------------------------------------------

REVEALABLE = tuple(PROTECTED_FIELDS)
FIELD_LABELS = {
    "id_number": gettext_lazy("身份证号"),
    "phone": gettext_lazy("电话"),
    "registered_address": gettext_lazy("户籍地址"),
    "current_address": gettext_lazy("现住址"),
}


@transaction.atomic
def person_reveal(*, actor: Any, person: Person, field: str) -> str:
    """The plaintext of one protected field, for a permitted actor in scope. Every reveal
    is audited (which field, never the value)."""
    if field not in REVEALABLE:
        raise DomainError(_("不支持查看该字段。"), code="invalid_field", fields={"field": [field]})
    if actor is None or not has_capability(actor, Capability.REVEAL_PEOPLE):
        raise PermissionDenied(_("您没有查看敏感信息明文的权限。"))
    scope = user_scope_code(actor)
    if scope is None or not code_within(person.area_code, scope):
        raise PermissionDenied(_("该记录不在您的辖区范围内"))
    value = reveal(getattr(person, f"{field}_cipher"), context=context_for(field))
    audit_record(
        action=AuditAction.REVEAL,
        obj=person,
        actor=actor,
        changes={"field": field},
        message=_("查看%(label)s明文") % {"label": FIELD_LABELS[field]},
    )
    return value
