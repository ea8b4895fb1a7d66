"""Writes to the indicators register. Every function is keyword-only, atomic and audited.

Who may do what (accounts/permissions.py has the capabilities):
- ``indicators.manage`` (system administrator): create and edit indicators, set targets,
  within the actor's territorial scope;
- ``indicators.enter`` (department handler): enter values, and only for the indicators
  owned by one of the actor's own departments (``User.departments``), inside their scope.

``actor=None`` is the trusted operator (the demo builder, management commands): no
permission checks, the audit record names the system. A value is never overwritten: a
correction marks the current version superseded and adds the next version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import Capability, has_capability, is_read_only
from civicgrid.accounts.scope import ensure_in_scope
from civicgrid.audit.diff import model_diff, snapshot
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.errors import Conflict
from civicgrid.common.excel import RowError, cell_text
from civicgrid.indicators.enums import Aggregation, ValueSource
from civicgrid.indicators.importing import KEY_TO_HEADER, MAX_REPORTED_ERRORS, ImportResult, read_rows
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.indicators.periods import Period, parse_period
from civicgrid.indicators.validation import clean_note, clean_number
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

EDITABLE_FIELDS = (
    "name",
    "description",
    "department",
    "unit",
    "period_kind",
    "aggregation",
    "area",
    "is_public",
    "sort_order",
    "is_active",
)
# Fields whose change would make the values already entered mean something else.
FROZEN_WITH_VALUES = ("unit", "period_kind", "aggregation", "area")
ProgressCallback = Callable[[str, int, int], None]
"""progress(phase, done, total): phase is "validate" or "write"."""


# --- Permissions ------------------------------------------------------------------------


def _department_ids(user: Any) -> set[int]:
    cached: set[int] | None = getattr(user, "_indicator_department_ids", None)
    if cached is None:
        cached = set(user.departments.values_list("pk", flat=True))
        user._indicator_department_ids = cached
    return cached


def entry_refusal(user: Any, indicator: Indicator) -> str:
    """Why ``user`` may not enter values of ``indicator`` ("" when they may)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return _("请先登录")
    if is_read_only(user) or not has_capability(user, Capability.ENTER_INDICATORS):
        return _("您没有填报指标数值的权限。")
    if indicator.department_id not in _department_ids(user):
        return _("只有指标的责任部门(%(department)s)可以填报或更正该指标的数值。") % {
            "department": indicator.department.name
        }
    if not indicator.is_active:
        return _("该指标已停用, 不能填报。")
    if not indicator.area_code.startswith(user.scope_code):
        return _("该指标不在您的辖区范围内。")
    return ""


def can_enter(user: Any, indicator: Indicator) -> bool:
    return not entry_refusal(user, indicator)


def ensure_can_enter(user: Any, indicator: Indicator) -> None:
    reason = entry_refusal(user, indicator)
    if reason:
        raise PermissionDenied(reason)


def ensure_can_manage(user: Any, area_code: str | None = None) -> None:
    if user is None:
        return
    if is_read_only(user) or not has_capability(user, Capability.MANAGE_INDICATORS):
        raise PermissionDenied(_("您没有管理指标台账的权限。"))
    if area_code is not None:
        ensure_in_scope(user, area_code)


# --- Validation -------------------------------------------------------------------------


def _validate_indicator(indicator: Indicator) -> None:
    """Model checks (Indicator.clean: unit vs aggregation, territory level, department) and
    field checks; area_code follows the area on save."""
    indicator.full_clean(exclude=["area_code"])


def _default_area() -> Area:
    area = Area.objects.filter(level=AreaLevel.DISTRICT).order_by("code").first()
    if area is None:
        raise ValidationError({"area": [_("请先建立区级辖区节点。")]})
    return area


def _clean_targets(indicator: Indicator, targets: Mapping[int, Any]) -> dict[int, Decimal]:
    cleaned: dict[int, Decimal] = {}
    for year, raw in targets.items():
        year = _clean_year(year)
        cleaned[year] = clean_number(indicator.unit, raw, field="target", what=_("目标值"))
    return cleaned


def _clean_year(year: Any) -> int:
    try:
        value = int(year)
    except (TypeError, ValueError):
        raise ValidationError({"year": [_("年度必须是四位数字。")]}, code="year") from None
    if not 2000 <= value <= 2100:
        raise ValidationError({"year": [_("年度应在 2000 至 2100 之间。")]}, code="year")
    return value


# --- Indicators ---------------------------------------------------------------------------


@transaction.atomic
def indicator_create(
    *,
    actor: Any,
    code: str,
    name: str,
    department: Department,
    unit: str,
    period_kind: str,
    aggregation: str = Aggregation.SUM,
    area: Area | None = None,
    description: str = "",
    is_public: bool = False,
    sort_order: int = 0,
    targets: Mapping[int, Any] | None = None,
) -> Indicator:
    area = area or _default_area()
    ensure_can_manage(actor, area.code)
    indicator = Indicator(
        code=str(code).strip(),
        name=str(name).strip(),
        description=description,
        department=department,
        unit=unit,
        period_kind=period_kind,
        aggregation=aggregation,
        area=area,
        area_code=area.code,
        is_public=is_public,
        sort_order=sort_order,
    )
    _validate_indicator(indicator)
    cleaned_targets = _clean_targets(indicator, targets or {})
    indicator.save()
    audit_record(action=AuditAction.CREATE, obj=indicator, changes=model_diff(None, indicator), actor=actor)
    for year, target in sorted(cleaned_targets.items()):
        _target_write(actor, indicator, year, target)
    return indicator


@transaction.atomic
def indicator_update(*, actor: Any, indicator: Indicator, data: Mapping[str, Any]) -> Indicator:
    """Change the editable fields in ``data``; unit, period kind, aggregation and territory
    are frozen once values exist (the history would change meaning)."""
    ensure_can_manage(actor, indicator.area_code)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("该字段不能修改。")] for name in sorted(unknown)})
    current = Indicator.objects.select_for_update().select_related("area", "department").get(pk=indicator.pk)
    before = snapshot(current)
    for name, value in data.items():
        setattr(current, name, value)
    changed = _frozen_changes(before, current)
    if changed and IndicatorValue.objects.filter(indicator=current).exists():
        raise Conflict(
            _("该指标已有填报数值, 不能再修改单位、统计周期、汇总方式或统计范围; 如需调整请新建指标。"),
            code="indicator_has_values",
            fields={name: [_("已有数值, 不能修改。")] for name in changed},
        )
    if current.area_id is not None:
        ensure_can_manage(actor, current.area.code)
        current.area_code = current.area.code
    _validate_indicator(current)
    current.save()
    changes = model_diff(before, current)
    if changes:
        audit_record(action=AuditAction.UPDATE, obj=current, changes=changes, actor=actor)
    indicator.refresh_from_db()
    return current


def _frozen_changes(before: Any, after: Indicator) -> list[str]:
    now = snapshot(after) or {}
    old = before or {}
    return [name for name in FROZEN_WITH_VALUES if old.get(name) != now.get(name)]


@transaction.atomic
def indicator_target_set(*, actor: Any, indicator: Indicator, year: int, target: Any) -> IndicatorTarget:
    ensure_can_manage(actor, indicator.area_code)
    year = _clean_year(year)
    value = clean_number(indicator.unit, target, field="target", what=_("目标值"))
    return _target_write(actor, indicator, year, value)


def _target_write(actor: Any, indicator: Indicator, year: int, value: Decimal) -> IndicatorTarget:
    row = IndicatorTarget.objects.select_for_update().filter(indicator=indicator, year=year).first()
    if row is not None and row.target == value:
        return row
    before = None if row is None else str(row.target)
    if row is None:
        row = IndicatorTarget.objects.create(indicator=indicator, year=year, target=value)
    else:
        row.target = value
        row.save(update_fields=["target", "updated_at"])
    audit_record(
        action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
        obj=row,
        object_repr=f"{indicator.name} {year}",
        area_code=indicator.area_code,
        changes={"indicator": indicator.code, "year": year, "target": {"before": before, "after": str(value)}},
        actor=actor,
    )
    return row


# --- Values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryResult:
    value: IndicatorValue
    outcome: str  # "created", "corrected" or "unchanged"

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"


@transaction.atomic
def indicator_value_enter(
    *,
    actor: Any,
    indicator: Indicator,
    period: str | Period,
    value: Any,
    note: str = "",
    expected_version: int | None = None,
    source: str = ValueSource.FORM,
    today: dt.date | None = None,
) -> EntryResult:
    """Enter (or correct) the value of ``indicator`` for ``period``.

    A first value is version 1; a different value (or note) for a period that has one is a
    correction: the current version stays, marked superseded, and the next version becomes
    current. Re-entering the current value and note changes nothing. ``expected_version``
    (the version the person saw, 0 for none) makes a stale form a 409 instead of a silent
    overwrite of someone else's correction."""
    if actor is not None:
        ensure_can_enter(actor, indicator)
    cleaned_period = _clean_period(indicator, period, today)
    number = clean_number(indicator.unit, value)
    return _write_value(
        actor=actor,
        indicator=indicator,
        period=cleaned_period,
        value=number,
        note=clean_note(note),
        expected_version=expected_version,
        source=source,
    )


def _clean_period(indicator: Indicator, period: str | Period, today: dt.date | None) -> Period:
    raw = period.key if isinstance(period, Period) else period
    try:
        return parse_period(raw, indicator.period_kind, today=today or timezone.localdate())
    except ValidationError as exc:
        raise ValidationError({"period": exc.messages}, code="period") from None


def _write_value(
    *,
    actor: Any,
    indicator: Indicator,
    period: Period,
    value: Decimal,
    note: str,
    expected_version: int | None,
    source: str,
) -> EntryResult:
    current = (
        IndicatorValue.objects.select_for_update()
        .filter(indicator=indicator, period_key=period.key, is_current=True)
        .first()
    )
    seen = current.version if current else 0
    if expected_version is not None and expected_version != seen:
        raise Conflict(
            _("%(period)s 的数值已被他人更新(当前为第 %(version)d 版), 请刷新页面后再填报。")
            % {"period": period.label, "version": seen},
            code="stale_version",
        )
    if current is not None and current.value == value and current.note == note:
        return EntryResult(current, "unchanged")
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    try:
        with transaction.atomic():
            row = IndicatorValue.objects.create(
                indicator=indicator,
                period_key=period.key,
                period_start=period.start,
                period_end=period.end,
                year=period.year,
                value=value,
                note=note,
                version=seen + 1,
                is_current=True,
                supersedes=current,
                source=source,
                entered_by=actor if getattr(actor, "pk", None) else None,
                entered_at=timezone.now(),
                area_code=indicator.area_code,
            )
    except IntegrityError:
        # Another person entered the first value of this period at the same moment.
        raise Conflict(
            _("%(period)s 的数值刚被他人填报, 请刷新页面后再试。") % {"period": period.label}, code="stale_version"
        ) from None
    audit_record(
        action=AuditAction.UPDATE if current else AuditAction.CREATE,
        obj=row,
        object_repr=f"{indicator.name} {period.key}",
        area_code=indicator.area_code,
        changes={
            "indicator": indicator.code,
            "period": period.key,
            "value": {"before": str(current.value) if current else None, "after": str(value)},
            "version": row.version,
            "note": note,
            "source": source,
        },
        actor=actor,
        actor_label="" if actor is not None else "civicgrid",
    )
    return EntryResult(row, "corrected" if current else "created")


# --- Excel import -------------------------------------------------------------------------


@dataclass
class _Row:
    rownum: int
    indicator: Indicator
    period: Period
    value: Decimal
    note: str


def indicator_value_import(
    *,
    actor: Any,
    file: IO[bytes] | str | Path,
    file_name: str = "",
    progress: ProgressCallback | None = None,
    today: dt.date | None = None,
) -> ImportResult:
    """Import values by indicator code and period from an Excel file (importing.COLUMNS).

    Every row is validated first (the code exists and belongs to the actor's department,
    the period matches the indicator's kind and has started, the value is within bounds,
    no (code, period) twice); any error -> a report by row and column, nothing written.
    Otherwise every row is written in ONE transaction through the same versioning as a
    single entry (new value, correction, or unchanged), one audit record per value changed
    and one for the import. Rows with neither period nor value are skipped (the template
    lists every indicator the person may enter)."""
    if actor is not None and (is_read_only(actor) or not has_capability(actor, Capability.ENTER_INDICATORS)):
        raise PermissionDenied(_("您没有填报指标数值的权限。"))
    report = progress or (lambda phase, done, total: None)
    today = today or timezone.localdate()
    result = ImportResult(ok=False, file_name=file_name)
    raw_rows = list(read_rows(file))
    total = len(raw_rows)
    result.total_rows = total
    codes = {cell_text(values.get("code")) for _rownum, values in raw_rows}
    indicators = {
        i.code: i for i in Indicator.objects.select_related("department", "area").filter(code__in=codes - {""})
    }
    seen: dict[tuple[str, str], int] = {}
    cleaned: list[_Row] = []

    def error(rownum: int, key: str, message: str) -> None:
        result.error_count += 1
        if len(result.errors) < MAX_REPORTED_ERRORS:
            result.errors.append(RowError(rownum, KEY_TO_HEADER.get(key, key), message))

    report("validate", 0, total)
    for done, (rownum, values) in enumerate(raw_rows, start=1):
        code = cell_text(values.get("code"))
        raw_period, raw_value = values.get("period"), values.get("value")
        if cell_text(raw_period) == "" and cell_text(raw_value) == "":
            result.skipped += 1
            continue
        indicator = indicators.get(code)
        if not code:
            error(rownum, "code", _("请填写指标编码。"))
        elif indicator is None:
            error(rownum, "code", _("指标编码不存在: %(code)s。") % {"code": code[:40]})
        elif actor is not None and (reason := entry_refusal(actor, indicator)):
            error(rownum, "code", reason)
            indicator = None
        period: Period | None = None
        number: Decimal | None = None
        note = ""
        if indicator is not None:
            try:
                period = parse_period(raw_period, indicator.period_kind, today=today)
            except ValidationError as exc:
                error(rownum, "period", exc.messages[0])
            try:
                number = clean_number(indicator.unit, raw_value)
            except ValidationError as exc:
                error(rownum, "value", exc.messages[0])
        try:
            note = clean_note(values.get("note"))
        except ValidationError as exc:
            error(rownum, "note", exc.messages[0])
        if indicator is not None and period is not None:
            key = (indicator.code, period.key)
            if key in seen:
                error(
                    rownum,
                    "period",
                    _("与第 %(row)d 行重复: 同一指标同一统计期只能填写一行。") % {"row": seen[key]},
                )
            else:
                seen[key] = rownum
                if number is not None:
                    cleaned.append(_Row(rownum, indicator, period, number, note))
        if done % 200 == 0:
            report("validate", done, total)
    report("validate", total, total)
    if result.error_count:
        return result
    report("write", 0, len(cleaned))
    with transaction.atomic():
        for done, row in enumerate(cleaned, start=1):
            entry = _write_value(
                actor=actor,
                indicator=row.indicator,
                period=row.period,
                value=row.value,
                note=row.note,
                expected_version=None,
                source=ValueSource.IMPORT,
            )
            if entry.outcome == "created":
                result.created += 1
            elif entry.outcome == "corrected":
                result.corrected += 1
            else:
                result.unchanged += 1
            if done % 200 == 0:
                report("write", done, len(cleaned))
        audit_record(
            action=AuditAction.IMPORT,
            object_type="indicators.indicatorvalue",
            object_repr=_("指标数值导入 %(name)s") % {"name": file_name[:100]},
            area_code=getattr(actor, "scope_code", "") if actor is not None else "",
            changes={
                "file": file_name[:200],
                "rows": total,
                "created": result.created,
                "corrected": result.corrected,
                "unchanged": result.unchanged,
                "skipped": result.skipped,
            },
            actor=actor,
            actor_label="" if actor is not None else "civicgrid",
        )
    report("write", len(cleaned), len(cleaned))
    result.ok = True
    return result


__all__ = [
    "EntryResult",
    "can_enter",
    "clean_note",
    "clean_number",
    "ensure_can_enter",
    "ensure_can_manage",
    "entry_refusal",
    "indicator_create",
    "indicator_target_set",
    "indicator_update",
    "indicator_value_enter",
    "indicator_value_import",
]
