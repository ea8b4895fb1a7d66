"""Assessment periods: a month (2026-05), a quarter (2026-Q2) or a year (2026)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

PERIOD_KINDS = ("month", "quarter", "year")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    kind: str
    key: str  # "2026-05", "2026-Q2", "2026"
    start: dt.date  # first day
    end: dt.date  # last day (inclusive)

    @property
    def label(self) -> str:
        year = self.start.year
        if self.kind == "month":
            return _("%(year)d年%(month)d月") % {"year": year, "month": self.start.month}
        if self.kind == "quarter":
            return _("%(year)d年第%(quarter)d季度") % {"year": year, "quarter": (self.start.month - 1) // 3 + 1}
        return _("%(year)d年") % {"year": year}

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - dt.timedelta(days=1))

    def next(self) -> Period:
        return period_containing(self.kind, self.end + dt.timedelta(days=1))


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def period_containing(kind: str, day: dt.date) -> Period:
    if kind == "month":
        return Period("month", f"{day.year}-{day.month:02d}", day.replace(day=1), _month_end(day.year, day.month))
    if kind == "quarter":
        q = (day.month - 1) // 3 + 1
        first = dt.date(day.year, 3 * q - 2, 1)
        return Period("quarter", f"{day.year}-Q{q}", first, _month_end(day.year, 3 * q))
    if kind == "year":
        return Period("year", str(day.year), dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise ValidationError({"period": _("考核周期只能是月、季度或年")})


def parse_period(value: str | None, *, kind: str | None = None, today: dt.date | None = None) -> Period:
    """``value`` like 2026-05 / 2026-Q2 / 2026; empty: the current ``kind`` period (default month)."""
    text = (value or "").strip()
    if not text:
        return period_containing(kind or "month", today or timezone.localdate())
    try:
        if m := _MONTH.match(text):
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError
            return period_containing("month", dt.date(year, month, 1))
        if m := _QUARTER.match(text):
            return period_containing("quarter", dt.date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1))
        if m := _YEAR.match(text):
            return period_containing("year", dt.date(int(m.group(1)), 1, 1))
    except ValueError:
        pass
    raise ValidationError({"period": _("考核周期格式不正确 (例如 2026-05、2026-Q2 或 2026)")})
