"""Excel import and export of residents (openpyxl).

Import is validation-first: every row of the file is checked (ID check digit, dates,
phone, choices, grid in the actor's scope, compound/building inside the grid, duplicates
inside the file and against residents of other territories) before anything is written.
Any error -> a report by row and column and nothing written. Otherwise the rows are
written in batches (bulk_create / bulk_update) inside ONE transaction. Matching is on the
ID number's blind index, so re-importing a file creates no duplicates; a keyed digest of
each row's content (Person.row_digest) lets unchanged rows be skipped without decrypting.

The sheet is read with ``read_only=True`` / ``iter_rows(values_only=True)``; cleaned rows
are kept as slotted dataclasses so a 100 000-row file stays well under 500 MB.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from civicgrid.accounts.permissions import Capability
from civicgrid.accounts.scope import code_range_q, user_scope_code
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common import crypto, idcard, masking
from civicgrid.common.excel import RowError, cell_text, column_maps
from civicgrid.common.text import join_list
from civicgrid.people.enums import (
    DisabilityCategory,
    DisabilityLevel,
    Gender,
    PersonTagKind,
    PoliticalStatus,
    ResidenceType,
)
from civicgrid.people.models import Person, PersonTag
from civicgrid.people.selectors import PersonFilters, person_search, person_search_unscoped
from civicgrid.people.services import (
    PHONE_RE,
    PersonRow,
    ProgressCallback,
    TagSpec,
    _require,
    context_for,
)
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Building, Compound, Household

MAX_REPORTED_ERRORS = 1000
WRITE_BATCH = 5000
# SQLite page cache (KiB) while an import writes: a resident row touches a dozen indexes
# with random keys (digests, names); with the default 2 MB cache most of the write time
# went into evicting and re-reading index pages (100 000 rows: write 23 s -> 8 s).
SQLITE_WRITE_CACHE_KIB = 65536

# (header, key, required, help)
COLUMNS: list[tuple[str, str, bool, str]] = [
    ("姓名", "name", True, "必填, 不超过50字"),
    ("性别", "gender", False, "男/女; 空则按身份证号推算"),
    ("出生日期", "birth_date", False, "YYYY-MM-DD 或日期单元格; 空则按身份证号推算, 填写时须与身份证号一致"),
    ("身份证号", "id_number", True, "必填, 18位, 单元格请设为文本格式; 用于匹配已有居民(重复导入不会重复新增)"),
    ("电话", "phone", False, "手机11位或带区号固话"),
    ("民族", "ethnicity", False, "如 汉族、蒙古族; 空则为汉族"),
    ("政治面貌", "political_status", False, "/".join(str(c.label) for c in PoliticalStatus) + "; 空则为群众"),
    ("人口类型", "residence_type", False, "/".join(str(c.label) for c in ResidenceType) + "; 空则为户籍人口"),
    ("户籍地址", "registered_address", False, "不超过200字"),
    ("现住址", "current_address", False, "不超过200字"),
    ("网格编码", "grid", True, "必填, 14或15位网格编码, 须在您的辖区内"),
    ("小区", "compound", False, "网格内已登记的小区名称"),
    ("楼栋", "building", False, "该小区内已登记的楼号, 如 1号楼; 填写楼栋须同时填写小区"),
    ("单元", "unit", False, "如 1"),
    ("室", "room", False, "如 501; 填写后自动关联(或新建)该户"),
    ("与户主关系", "relation_to_head", False, "如 户主、配偶、子女"),
    (
        "标签",
        "tags",
        False,
        "多个用、分隔: " + "、".join(str(c.label) for c in PersonTagKind) + "; 残疾人写作 残疾人:肢体残疾:二级",
    ),
]
HEADERS, HEADER_TO_KEY, KEY_TO_HEADER, REQUIRED = column_maps(COLUMNS)


def _labels(choices: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for choice in choices:
        out[str(choice.label)] = str(choice.value)
        out[str(choice.value)] = str(choice.value)
    return out


GENDERS = _labels(Gender)
POLITICAL = _labels(PoliticalStatus)
RESIDENCE = _labels(ResidenceType)
TAG_KINDS = _labels(PersonTagKind)
DISABILITY_CATEGORIES = _labels(DisabilityCategory)
DISABILITY_LEVELS = {str(c.label): int(c.value) for c in DisabilityLevel} | {
    str(int(c.value)): int(c.value) for c in DisabilityLevel
}
TAG_SPLIT = re.compile(r"[、,，;；]")
PHONE_STRIP = re.compile(r"[\s\-()]")

_ID_CONTEXT = context_for("id_number")
_PHONE_CONTEXT = context_for("phone")
_REGISTERED_CONTEXT = context_for("registered_address")
_CURRENT_CONTEXT = context_for("current_address")
# The blind-index context of the ID number as common.protected.digest builds it.
_ID_DIGEST_CONTEXT = f"{_ID_CONTEXT}:id_number"
_PHONE_DIGEST_CONTEXT = f"{_PHONE_CONTEXT}:phone"


@dataclass
class ImportResult:
    ok: bool
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "total_rows": self.total_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass(slots=True)
class _Clean:
    row: PersonRow
    id_digest: str
    row_digest: str
    household_key: tuple[int, str, str] | None  # a household to create before writing
    rownum: int
    existing_pk: int | None = None


class _Territory:
    """Every grid, compound, building and household the actor may import into, loaded once."""

    def __init__(self, actor: Any) -> None:
        scope = "" if actor is None else user_scope_code(actor)
        self.scope = scope
        grids = Area.objects.filter(level=AreaLevel.GRID)
        self.grids: dict[str, Area] = (
            {} if scope is None else {g.code: g for g in grids.filter(code_range_q("code", scope))}
        )
        grid_ids = [g.pk for g in self.grids.values()]
        self.compounds: dict[tuple[int, str], int] = (
            {
                (c.grid_id, c.name): c.pk
                for c in Compound.objects.filter(grid_id__in=grid_ids).only("id", "grid_id", "name")
            }
            if grid_ids
            else {}
        )
        self.buildings: dict[tuple[int, str], Building] = {}
        if grid_ids:
            for b in Building.objects.filter(grid_id__in=grid_ids).only(
                "id", "grid_id", "compound_id", "name", "code", "area_code"
            ):
                self.buildings[(b.compound_id, b.name)] = b
        self.households: dict[tuple[int, str, str], Household] = {}
        if grid_ids:
            for h in Household.objects.filter(building__grid_id__in=grid_ids).only("id", "building_id", "unit", "room"):
                self.households[(h.building_id, h.unit, h.room)] = h

    def grid_exists_elsewhere(self, code: str) -> bool:
        return Area.objects.filter(level=AreaLevel.GRID, code=code).exists()


def _parse_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if not match:
        raise ValueError(text)
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


def _parse_tags(text: str) -> list[TagSpec]:
    specs: dict[str, TagSpec] = {}
    for part in (p.strip() for p in TAG_SPLIT.split(text)):
        if not part:
            continue
        name, *extra = [x.strip() for x in re.split(r"[:：]", part)]
        kind = TAG_KINDS.get(name)
        if kind is None:
            raise ValueError(_("未知的标签: %(tag)s。") % {"tag": name})
        if kind == PersonTagKind.DISABLED:
            category = DISABILITY_CATEGORIES.get(extra[0]) if extra else None
            level = DISABILITY_LEVELS.get(extra[1]) if len(extra) > 1 else None
            if category is None or level is None:
                raise ValueError(_("残疾人标签须写作 残疾人:类别:等级, 如 残疾人:肢体残疾:二级。"))
            specs[kind] = TagSpec(kind, category, level)
        elif extra:
            raise ValueError(_("只有残疾人标签可以填写类别和等级。"))
        else:
            specs[kind] = TagSpec(kind)
    return list(specs.values())


def _tags_text(tags: Iterable[PersonTag | TagSpec]) -> str:
    parts = []
    for tag in tags:
        label = str(PersonTagKind(tag.kind).label)
        if tag.kind == PersonTagKind.DISABLED and tag.disability_category and tag.disability_level:
            label += (
                f":{DisabilityCategory(tag.disability_category).label}:{DisabilityLevel(tag.disability_level).label}"
            )
        parts.append(label)
    return "、".join(parts)


@dataclass(frozen=True, slots=True)
class _Crypto:
    """``crypto.encrypt`` / ``crypto.blind_index`` bound once per import to the keys
    configured at its start (no settings lookup per value)."""

    encrypt: Callable[..., str]
    blind_index: Callable[..., str]

    @classmethod
    def bind(cls) -> _Crypto:
        return cls(encrypt=crypto.encrypter(), blind_index=crypto.blind_indexer())


def _row_digest(row: PersonRow, home: tuple[int, str, str] | None, tools: _Crypto) -> str:
    tags = "|".join(
        sorted(f"{t.kind}:{t.disability_category}:{t.disability_level}" for t in row.tags if isinstance(t, TagSpec))
    )
    parts = [
        row.name,
        row.gender,
        row.birth_date.isoformat() if row.birth_date else "",
        row.id_number,
        row.phone,
        row.ethnicity,
        row.political_status,
        row.residence_type,
        row.registered_address,
        row.current_address,
        row.grid.code,
        str(row.building.pk if row.building else ""),
        repr(home),
        row.relation_to_head,
        tags,
    ]
    return tools.blind_index("\x1f".join(parts), context="people.person.row")


class _Validator:
    def __init__(self, actor: Any, territory: _Territory) -> None:
        self.actor = actor
        self.t = territory
        self.errors: list[RowError] = []
        self.error_count = 0
        self.seen: dict[str, int] = {}
        self.tools = _Crypto.bind()
        self.tag_cache: dict[str, list[TagSpec]] = {}  # a file repeats a few tag texts
        self.today = dt.date.today()

    def error(self, row: int, key: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, KEY_TO_HEADER.get(key, key), message))

    def clean(self, rownum: int, values: dict[str, Any]) -> _Clean | None:
        before = self.error_count
        err = self.error
        name = cell_text(values.get("name"))
        if not name:
            err(rownum, "name", _("请填写姓名。"))
        elif len(name) > 50:
            err(rownum, "name", _("姓名不能超过50个字。"))

        raw_id = values.get("id_number")
        number = ""
        if isinstance(raw_id, int | float):
            err(rownum, "id_number", _("身份证号单元格须为文本格式(数字格式会丢失末位)。"))
        elif not cell_text(raw_id):
            err(rownum, "id_number", _("请填写身份证号。"))
        else:
            try:
                number = idcard.validate_id_number(cell_text(raw_id))
            except Exception as exc:  # ValidationError
                err(rownum, "id_number", getattr(exc, "messages", [str(exc)])[0])

        gender_text = cell_text(values.get("gender"))
        gender = GENDERS.get(gender_text, "") if gender_text else ""
        if gender_text and not gender:
            err(rownum, "gender", _("性别应为 男 或 女。"))
        birth: dt.date | None = None
        try:
            birth = _parse_date(values.get("birth_date"))
        except ValueError:
            err(rownum, "birth_date", _("出生日期格式应为 YYYY-MM-DD。"))
        if number:
            derived_birth, derived_gender = idcard.birth_date(number), idcard.gender(number)
            if birth is not None and birth != derived_birth:
                err(
                    rownum,
                    "birth_date",
                    _("出生日期与身份证号不一致: 身份证号中为 %(date)s。") % {"date": derived_birth},
                )
            if gender and gender != derived_gender:
                err(
                    rownum,
                    "gender",
                    _("性别与身份证号不一致: 身份证号中为 %(gender)s。") % {"gender": Gender(derived_gender).label},
                )
            birth, gender = derived_birth, derived_gender
        if birth is not None and birth > self.today:
            err(rownum, "birth_date", _("出生日期不能晚于今天。"))

        phone = PHONE_STRIP.sub("", cell_text(values.get("phone"))).removeprefix("+86")
        if phone and not PHONE_RE.match(phone):
            err(rownum, "phone", _("电话号码格式不正确: 手机号为11位(1开头), 固话需带区号。"))

        choice_values: dict[str, str] = {}
        for key, table, default in (
            ("political_status", POLITICAL, PoliticalStatus.MASSES),
            ("residence_type", RESIDENCE, ResidenceType.REGISTERED),
        ):
            text = cell_text(values.get(key))
            value = table.get(text) if text else str(default)
            if value is None:
                err(
                    rownum,
                    key,
                    _("取值无效, 可选: %(options)s。") % {"options": join_list(k for k in table if not k.isascii())},
                )
                value = str(default)
            choice_values[key] = value
        ethnicity = cell_text(values.get("ethnicity")) or "汉族"
        if len(ethnicity) > 20:
            err(rownum, "ethnicity", _("不能超过%(n)d个字。") % {"n": 20})
        relation = cell_text(values.get("relation_to_head"))
        if len(relation) > 20:
            err(rownum, "relation_to_head", _("不能超过%(n)d个字。") % {"n": 20})
        addresses = {}
        for key in ("registered_address", "current_address"):
            addresses[key] = cell_text(values.get(key))
            if len(addresses[key]) > 200:
                err(rownum, key, _("地址不能超过200个字。"))

        grid_code = cell_text(values.get("grid"))
        grid = self.t.grids.get(grid_code)
        if not grid_code:
            err(rownum, "grid", _("请填写网格编码。"))
        elif grid is None:
            if self.t.grid_exists_elsewhere(grid_code):
                err(rownum, "grid", _("网格 %(code)s 不在您的辖区范围内。") % {"code": grid_code})
            else:
                err(rownum, "grid", _("网格编码 %(code)s 不存在。") % {"code": grid_code})

        building: Building | None = None
        household: Household | None = None
        household_key: tuple[int, str, str] | None = None
        home: tuple[int, str, str] | None = None
        compound_name = cell_text(values.get("compound"))
        building_name = cell_text(values.get("building"))
        unit, room = cell_text(values.get("unit")), cell_text(values.get("room"))
        if grid is not None and (compound_name or building_name or room):
            compound_id = self.t.compounds.get((grid.pk, compound_name)) if compound_name else None
            if compound_name and compound_id is None:
                err(
                    rownum,
                    "compound",
                    _("网格 %(grid)s 内没有小区 %(name)s。") % {"grid": grid.code, "name": compound_name},
                )
            elif building_name and not compound_name:
                err(rownum, "compound", _("填写楼栋时须同时填写小区。"))
            elif building_name:
                building = self.t.buildings.get((compound_id or 0, building_name))
                if building is None:
                    err(
                        rownum,
                        "building",
                        _("小区 %(compound)s 内没有楼栋 %(name)s。")
                        % {"compound": compound_name, "name": building_name},
                    )
            if room and not building_name:
                err(rownum, "building", _("填写室号时须同时填写小区和楼栋。"))
            elif room and building is not None:
                if len(room) > 10 or len(unit) > 10:
                    err(rownum, "room", _("单元和室号不能超过10个字。"))
                home = (building.pk, unit, room)
                household = self.t.households.get(home)
                if household is None:
                    household_key = home

        tags: list[TagSpec] = []
        tags_text = cell_text(values.get("tags"))
        if tags_text:
            cached = self.tag_cache.get(tags_text)
            if cached is None:
                try:
                    cached = self.tag_cache[tags_text] = _parse_tags(tags_text)
                except ValueError as exc:
                    err(rownum, "tags", str(exc))
            tags = cached or []

        id_digest = ""
        if number:
            # = protected.digest("id_number", number, ...): ``number`` is already normalised.
            id_digest = self.tools.blind_index(number, context=_ID_DIGEST_CONTEXT)
            first = self.seen.get(id_digest)
            if first is not None:
                err(rownum, "id_number", _("与第 %(row)d 行的身份证号重复。") % {"row": first})
            else:
                self.seen[id_digest] = rownum

        if self.error_count != before or grid is None or birth is None:
            return None
        row = PersonRow(
            name=name,
            id_number=number,
            grid=grid,
            gender=gender,
            birth_date=birth,
            phone=phone,
            registered_address=addresses["registered_address"],
            current_address=addresses["current_address"],
            building=building,
            household=household,
            ethnicity=ethnicity,
            political_status=choice_values["political_status"],
            residence_type=choice_values["residence_type"],
            relation_to_head=relation,
            tags=tags,
        )
        return _Clean(row, id_digest, _row_digest(row, home, self.tools), household_key, rownum)


def _open_sheet(file: str | Path | IO[bytes]) -> Any:
    workbook = load_workbook(file, read_only=True, data_only=True)
    return workbook, workbook.worksheets[0]


def people_import_excel(
    *,
    actor: Any,
    file: str | Path | IO[bytes],
    progress: ProgressCallback | None = None,
    file_name: str = "",
    batch_size: int = WRITE_BATCH,
) -> ImportResult:
    """Validate every row of ``file``; if all are valid, write them in one transaction.
    ``actor`` None means a trusted operator (CLI) with the whole installation in scope."""
    _require(actor, Capability.IMPORT_PEOPLE)
    file_name = file_name or (str(file) if isinstance(file, str | Path) else getattr(file, "name", "") or "")
    report = progress or (lambda phase, done, total: None)
    workbook, sheet = _open_sheet(file)
    try:
        rows_iter = sheet.iter_rows(values_only=True)
        header = next(rows_iter, None)
        headers = [cell_text(h) for h in header] if header else []
        missing = [h for h in REQUIRED if h not in headers]
        if missing:
            return ImportResult(
                ok=False,
                error_count=len(missing),
                errors=[RowError(1, h, _("缺少必填列: %(column)s。") % {"column": h}) for h in missing],
            )
        index = [(i, HEADER_TO_KEY[h]) for i, h in enumerate(headers) if h in HEADER_TO_KEY]
        estimated = max((sheet.max_row or 1) - 1, 0)
        territory = _Territory(actor)
        validator = _Validator(actor, territory)
        cleaned: list[_Clean] = []
        total = 0
        report("validate", 0, estimated)
        for rownum, values in enumerate(rows_iter, start=2):
            if values is None or all(v in (None, "") for v in values):
                continue
            total += 1
            record = {key: values[i] if i < len(values) else None for i, key in index}
            item = validator.clean(rownum, record)
            if item is not None and validator.error_count == 0:
                cleaned.append(item)
            elif validator.error_count:
                cleaned.clear()  # no write will happen: free the memory
            if total % 2000 == 0:
                report("validate", total, max(estimated, total))
    finally:
        workbook.close()
    report("validate", total, total)
    if total == 0:
        validator.error(2, "name", _("文件中没有数据行。"))
    if validator.error_count:
        return ImportResult(ok=False, total_rows=total, error_count=validator.error_count, errors=validator.errors)

    # Existing residents, matched by the ID number's blind index.
    existing: dict[str, tuple[int, str, str]] = {}
    digests = [c.id_digest for c in cleaned]
    for start in range(0, len(digests), 500):
        for pk, dig, area_code, row_digest in Person.objects.filter(
            id_number_digest__in=digests[start : start + 500]
        ).values_list("pk", "id_number_digest", "area_code", "row_digest"):
            existing[dig] = (pk, area_code, row_digest)
    scope = territory.scope or ""
    for item in cleaned:
        found = existing.get(item.id_digest)
        if found is None:
            continue
        if territory.scope is None or not found[1].startswith(scope):
            validator.error(item.rownum, "id_number", _("该身份证号已登记在其他辖区, 请联系该辖区处理。"))
        item.existing_pk = found[0]
    if validator.error_count:
        return ImportResult(ok=False, total_rows=total, error_count=validator.error_count, errors=validator.errors)

    result = _write(cleaned, existing, batch_size=batch_size, report=report, tools=validator.tools)
    result.total_rows = total
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        object_type="people.person",
        object_repr=_("居民导入: %(name)s") % {"name": Path(file_name).name or "-"},
        area_code=scope,
        changes={
            "file": Path(file_name).name,
            "rows": total,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )
    return result


def _person_values(item: _Clean, tools: _Crypto) -> dict[str, Any]:
    """The stored columns (attnames) of one cleaned row: protected fields encrypted,
    masked and digested exactly as ``protected.protect`` would, without building a model
    instance (Model.__init__ costs more than the encryption)."""
    row = item.row
    encrypt = tools.encrypt
    number = row.id_number
    values: dict[str, Any] = {
        "name": row.name,
        "gender": row.gender,
        "birth_date": row.birth_date,
        "ethnicity": row.ethnicity,
        "political_status": row.political_status,
        "residence_type": row.residence_type,
        "relation_to_head": row.relation_to_head,
        "grid_id": row.grid.pk,
        "building_id": row.building.pk if row.building is not None else None,
        "household_id": row.household.pk if row.household is not None else None,
        "area_code": row.grid.code,
        "is_active": True,
        "row_digest": item.row_digest,
        "id_number_digest": item.id_digest,
        "id_number_cipher": encrypt(number, context=_ID_CONTEXT),
        "id_number_masked": masking.mask_id_number(number),
        "phone_cipher": "",
        "phone_masked": "",
        "phone_digest": "",
        "registered_address_cipher": "",
        "registered_address_masked": "",
        "current_address_cipher": "",
        "current_address_masked": "",
    }
    phone = row.phone
    if phone:
        values["phone_cipher"] = encrypt(phone, context=_PHONE_CONTEXT)
        values["phone_masked"] = masking.mask_phone(phone)
        values["phone_digest"] = tools.blind_index(phone, context=_PHONE_DIGEST_CONTEXT)
    if row.registered_address:
        values["registered_address_cipher"] = encrypt(row.registered_address, context=_REGISTERED_CONTEXT)
        values["registered_address_masked"] = masking.mask_address(row.registered_address)
    if row.current_address:
        values["current_address_cipher"] = encrypt(row.current_address, context=_CURRENT_CONTEXT)
        values["current_address_masked"] = masking.mask_address(row.current_address)
    return values


def _build_person(item: _Clean, tools: _Crypto) -> Person:
    """An unsaved Person (for bulk_update of changed residents)."""
    person = Person(**_person_values(item, tools))
    if item.existing_pk is not None:
        person.pk = item.existing_pk
    return person


UPDATE_FIELDS = [
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "political_status",
    "residence_type",
    "relation_to_head",
    "grid",
    "building",
    "household",
    "area_code",
    "is_active",
    "row_digest",
    "id_number_cipher",
    "id_number_masked",
    "phone_cipher",
    "phone_masked",
    "phone_digest",
    "registered_address_cipher",
    "registered_address_masked",
    "current_address_cipher",
    "current_address_masked",
    "updated_at",
]


def _raw_insert(model: type[Any], objs: Sequence[Mapping[str, Any]], now: dt.datetime) -> None:
    """INSERT through one executemany: bulk_create spends most of its time compiling SQL
    for every row and column. ``objs`` are column values by attname; a missing column gets
    the field's default. Values are adapted the way the ORM would (dates through the
    backend's ops; auto_now/auto_now_add columns get ``now``)."""
    ops = connection.ops
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    stamp = ops.adapt_datetimefield_value(now)
    plan: list[tuple[str, int, Any]] = []  # (attname, 0 plain / 1 date / 2 timestamp, default)
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            plan.append((f.attname, 2, stamp))
        elif f.get_internal_type() == "DateField":
            plan.append((f.attname, 1, None))
        else:
            plan.append((f.attname, 0, f.get_default()))
    adapt_date = ops.adapt_datefield_value
    rows = [
        [
            stamp if kind == 2 else adapt_date(obj.get(name)) if kind == 1 else obj.get(name, default)
            for name, kind, default in plan
        ]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _ids_by_digest(digests: list[str]) -> dict[str, int]:
    """Ids of inserted residents by ID digest (raw SQL, same on SQLite and PostgreSQL):
    only the rows that carry tags need them."""
    ids: dict[str, int] = {}
    if not digests:
        return ids
    table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(digests), 900):
            chunk = digests[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT id_number_digest, id FROM {table} WHERE id_number_digest IN ({marks})",  # noqa: S608
                chunk,
            )
            ids.update(cursor.fetchall())
    return ids


@contextmanager
def _sqlite_write_cache() -> Iterator[None]:
    """A larger page cache for the duration of the write on SQLite (restored after)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size=-{int(SQLITE_WRITE_CACHE_KIB)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size={int(previous)}")


def _write(
    cleaned: list[_Clean],
    existing: dict[str, tuple[int, str, str]],
    *,
    batch_size: int,
    report: ProgressCallback,
    tools: _Crypto,
) -> ImportResult:
    result = ImportResult(ok=True)
    total = len(cleaned)
    report("write", 0, total)
    now = dt.datetime.now(dt.UTC)
    with _sqlite_write_cache(), transaction.atomic():
        # Households named in the file but not yet registered.
        new_households: dict[tuple[int, str, str], Household] = {}
        for item in cleaned:
            key = item.household_key
            if key is not None and key not in new_households:
                building = item.row.building
                assert building is not None
                new_households[key] = Household(
                    building=building,
                    area_code=building.area_code,
                    unit=key[1],
                    room=key[2],
                    code=f"{building.code}-{key[1]}-{key[2]}"[:36],
                )
        if new_households:
            Household.objects.bulk_create(list(new_households.values()), batch_size=batch_size)
        done = 0
        for start in range(0, total, batch_size):
            batch = cleaned[start : start + batch_size]
            creates: list[dict[str, Any]] = []
            updates: list[Person] = []
            tagged: list[_Clean] = []
            for item in batch:
                if item.household_key is not None and item.household_key in new_households:
                    item.row.household = new_households[item.household_key]
                if item.existing_pk is not None and existing[item.id_digest][2] == item.row_digest:
                    result.unchanged += 1
                    continue
                if item.existing_pk is None:
                    creates.append(_person_values(item, tools))
                else:
                    person = _build_person(item, tools)
                    person.updated_at = now
                    updates.append(person)
                if item.row.tags:
                    tagged.append(item)
            if creates:
                _raw_insert(Person, creates, now)
                result.created += len(creates)
            if updates:
                Person.objects.bulk_update(updates, UPDATE_FIELDS, batch_size=500)
                PersonTag.objects.filter(person_id__in=[p.pk for p in updates]).delete()
                result.updated += len(updates)
            if tagged:
                ids = _ids_by_digest([item.id_digest for item in tagged])
                tags = [
                    {
                        "person_id": ids[item.id_digest],
                        "kind": spec.kind,
                        "disability_category": spec.disability_category,
                        "disability_level": spec.disability_level,
                    }
                    for item in tagged
                    for spec in item.row.tags
                    if isinstance(spec, TagSpec)
                ]
                if tags:
                    _raw_insert(PersonTag, tags, now)
            done += len(batch)
            report("write", done, total)
    return result


# --- Template and export ---------------------------------------------------------------


def write_template(out: str | Path | IO[bytes]) -> None:
    """The documented import template: the header, one example row, and a sheet that
    explains every column."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "居民"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    example = idcard.make_id_number("150104", dt.date(1965, 3, 8), 123, True)
    sheet.append(
        [
            "张三",
            "男",
            "1965-03-08",
            example,
            "13800138000",
            "汉族",
            "中共党员",
            "户籍人口",
            "内蒙古呼和浩特市玉泉区兴隆巷街道清泉街社区3号楼2单元501",
            "内蒙古呼和浩特市玉泉区兴隆巷街道清泉街社区3号楼2单元501",
            "15010400100101",
            "清泉小区",
            "3号楼",
            "2",
            "501",
            "户主",
            "老年人、党员",
        ]
    )
    for row in sheet.iter_rows(min_row=1, max_row=2):
        row[3].number_format = "@"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for header, _key, required, help_text in COLUMNS:
        notes.append([header, "是" if required else "否", help_text])
    notes.append([])
    notes.append(
        [
            "整体说明",
            "",
            "先校验全部行, 有任何错误则不写入并按行列给出错误报告; 全部通过后在一个事务中写入。"
            "按身份证号匹配已有居民, 重复导入同一文件不会新增重复记录, 有变化的行会被更新。",
        ]
    )
    workbook.save(out)


def people_export_excel(
    *,
    actor: Any,
    out: str | Path | IO[bytes],
    filters: PersonFilters | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the residents the actor may see (masked) with openpyxl's write-only mode.
    ``actor`` None: trusted operator (CLI), whole installation. Audited as EXPORT."""
    _require(actor, Capability.EXPORT_PEOPLE)
    filters = filters or PersonFilters()
    qs = person_search(actor, filters) if actor is not None else person_search_unscoped(filters)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民")
    bold = Font(bold=True)
    header_cells = []
    for header in HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for person in qs.iterator(chunk_size=2000):
        building, household = person.building, person.household
        sheet.append(
            [
                person.name,
                person.get_gender_display(),
                person.birth_date,
                person.id_number_masked,
                person.phone_masked,
                person.ethnicity,
                person.get_political_status_display(),
                person.get_residence_type_display(),
                person.registered_address_masked,
                person.current_address_masked,
                person.area_code,
                building.compound.name if building else "",
                building.name if building else "",
                household.unit if household else "",
                household.room if household else "",
                person.relation_to_head,
                _tags_text(person.tags.all()),
            ]
        )
        count += 1
        if progress and count % 2000 == 0:
            progress(count)
    workbook.save(out)
    if progress:
        progress(count)
    scope = "" if actor is None else (user_scope_code(actor) or "")
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        object_type="people.person",
        object_repr=_("居民导出 %(count)d 人") % {"count": count},
        area_code=filters.area or scope,
        changes={
            "count": count,
            "masked": True,
            "filters": {k: v for k, v in vars(filters).items() if v}
            | ({"id_number": "***"} if filters.id_number else {})
            | ({"phone": "***"} if filters.phone else {}),
        },
    )
    return count
