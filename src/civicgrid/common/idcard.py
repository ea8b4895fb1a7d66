"""Resident ID-card numbers (居民身份证号码), GB 11643-1999: 17 digits and a check
character computed with ISO 7064 MOD 11-2."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def validate_id_number(value: str) -> str:
    """Return the normalised number, or raise a ValidationError that says what is wrong."""
    number = normalize(value)
    if not _PATTERN.match(number):
        raise ValidationError(_("身份证号应为18位: 17位数字加1位数字或X。"), code="id_format")
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValidationError(_("身份证号中的出生日期无效。"), code="id_birth_date") from exc
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ValidationError(
            _("身份证号校验位错误: 应为 %(expected)s。") % {"expected": expected}, code="id_check_digit"
        )
    return number


def birth_date(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender(number: str) -> str:
    return "male" if int(number[16]) % 2 else "female"


def make_id_number(region: str, birth: dt.date, sequence: int, male: bool) -> str:
    """Build a valid number (for demo data and tests): region code, birth date, a
    3-digit sequence whose last digit is odd for men, and the check character."""
    seq = sequence % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{region[:6]}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)
