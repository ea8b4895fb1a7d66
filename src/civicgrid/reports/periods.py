"""Report periods: a month (2026-05, 月报), a half-year (2026-H1, 半年报) or a year (2026, 年报)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MONTH, HALF, YEAR = "month", "half", "year"
PERIOD_KINDS = {MONTH: gettext_lazy("月报"), HALF: gettext_lazy("半年报"), YEAR: gettext_lazy("年报")}
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class ReportPeriod:
    kind: str
    key: str  # "2026-05", "2026-H1", "2026"
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return _("%(year)d年%(month)d月") % {"year": self.start.year, "month": self.start.month}
        if self.kind == HALF:
            half = _("上半年") if self.start.month == 1 else _("下半年")
            return _("%(year)d年%(half)s") % {"year": self.start.year, "half": half}
        return _("%(year)d年") % {"year": self.start.year}

    @property
    def kind_label(self) -> str:
        return str(PERIOD_KINDS[self.kind])

    @property
    def months(self) -> list[str]:
        """The months of the period, "YYYY-MM"."""
        return [f"{self.start.year}-{m:02d}" for m in range(self.start.month, self.end.month + 1)]

    def previous(self) -> ReportPeriod:
        return period_containing(self.kind, self.start - dt.timedelta(days=1))

    def ended_by(self, day: dt.date) -> bool:
        return self.end < day


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)


def period_containing(kind: str, day: dt.date) -> ReportPeriod:
    if kind == MONTH:
        return ReportPeriod(MONTH, f"{day:%Y-%m}", day.replace(day=1), _month_end(day.year, day.month))
    if kind == HALF:
        h = 1 if day.month <= 6 else 2
        first = dt.date(day.year, 1 if h == 1 else 7, 1)
        return ReportPeriod(HALF, f"{day.year}-H{h}", first, _month_end(day.year, 6 * h))
    if kind == YEAR:
        return ReportPeriod(YEAR, str(day.year), dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise ValidationError({"period": _("报表类型只能是月报、半年报或年报")})


def last_completed(kind: str, today: dt.date) -> ReportPeriod:
    """The latest period of ``kind`` that has ended before ``today`` (what a schedule makes)."""
    return period_containing(kind, today).previous()


def parse_period(value: str | None, *, today: dt.date) -> ReportPeriod:
    """2026-05 (month), 2026-H1 / 2026-H2 (half-year) or 2026 (year). A period that has not
    started yet is refused; the current one is allowed (figures up to today)."""
    text = (value or "").strip()
    if not text:
        raise ValidationError({"period": _("请填写报表周期, 例如 2026-05 (月报)、2026-H1 (半年报) 或 2026 (年报)")})
    period: ReportPeriod | None = None
    if m := _MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and MIN_YEAR <= year <= MAX_YEAR:
            period = period_containing(MONTH, dt.date(year, month, 1))
    elif m := _HALF.match(text):
        year = int(m.group(1))
        if MIN_YEAR <= year <= MAX_YEAR:
            period = period_containing(HALF, dt.date(year, 1 if m.group(2) == "1" else 7, 1))
    elif m := _YEAR.match(text):
        year = int(m.group(1))
        if MIN_YEAR <= year <= MAX_YEAR:
            period = period_containing(YEAR, dt.date(year, 1, 1))
    if period is None:
        raise ValidationError(
            {"period": _("报表周期格式不正确: 月报如 2026-05, 半年报如 2026-H1 或 2026-H2, 年报如 2026")}
        )
    if period.start > today:
        raise ValidationError({"period": _("报表周期 %(p)s 尚未开始, 不能生成") % {"p": period.label}})
    return period
