"""Value checks shared by the services, the models (admin forms) and the importer."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from civicgrid.indicators.enums import COUNT_UNITS, Unit

MAX_VALUE = Decimal("1000000000000")  # < 10**12: the column holds 14 digits, 2 after the point
CENT = Decimal("0.01")
NOTE_MAX = 200


def clean_number(unit: str, raw: Any, *, field: str = "value", what: str | None = None) -> Decimal:
    """``raw`` as a Decimal with two places, or a ValidationError keyed by ``field`` with a
    Chinese message: a number, not negative, a whole number for counts, 0-100 for a rate."""
    what = what or _("数值")
    if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError({field: [_("请填写%(what)s。") % {"what": what}]}, code="required")
    shown = str(raw).strip().replace(",", "").replace("，", "")
    if unit == Unit.PERCENT:
        shown = shown.removesuffix("%").removesuffix("％").strip()
    try:
        number = Decimal(shown)
    except InvalidOperation:
        raise ValidationError(
            {field: [_("%(what)s必须是数字: %(value)s。") % {"what": what, "value": str(raw)[:20]}]}, code="number"
        ) from None
    if not number.is_finite():
        raise ValidationError({field: [_("%(what)s必须是数字。") % {"what": what}]}, code="number")
    if number < 0:
        raise ValidationError({field: [_("%(what)s不能为负数。") % {"what": what}]}, code="negative")
    if unit == Unit.PERCENT and number > 100:
        raise ValidationError(
            {field: [_("比率应在 0 到 100 之间(单位为 %%): %(value)s。") % {"value": shown[:20]}]}, code="rate_range"
        )
    if unit in COUNT_UNITS and number != number.to_integral_value():
        raise ValidationError(
            {
                field: [
                    _("以“%(unit)s”计的%(what)s必须是整数: %(value)s。")
                    % {"unit": Unit(unit).label, "what": what, "value": shown[:20]}
                ]
            },
            code="whole",
        )
    if number >= MAX_VALUE:
        raise ValidationError({field: [_("%(what)s过大。") % {"what": what}]}, code="too_large")
    if number != number.quantize(CENT) and abs(number - number.quantize(CENT)) > Decimal("0.000001"):
        raise ValidationError({field: [_("%(what)s最多保留两位小数。") % {"what": what}]}, code="places")
    return number.quantize(CENT)


def clean_note(note: Any) -> str:
    cleaned = str(note or "").strip()
    if len(cleaned) > NOTE_MAX:
        raise ValidationError({"note": [_("说明不能超过%(n)d个字。") % {"n": NOTE_MAX}]}, code="note_length")
    return cleaned
