"""Statistical periods: a month (2026-05), a quarter (2026-Q2), a half-year (2026-H1) or a
year (2026). The key is the canonical text stored with a value; ``parse_period`` accepts a
few common spellings (2026-5, 2026h1, 2026年上半年, an Excel date for a month) and checks the
period against the indicator's period kind."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from civicgrid.indicators.enums import PeriodKind

MIN_YEAR = 2000
MAX_YEAR = 2100
PARTS = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.HALF_YEAR: 2, PeriodKind.YEAR: 1}
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (PeriodKind.HALF_YEAR, re.compile(r"^(\d{4})-?H([12])$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-?Q([1-4])$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{1,2})$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})(\d{2})$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})$")),
]
_EXAMPLES = {
    PeriodKind.MONTH: "2026-05",
    PeriodKind.QUARTER: "2026-Q2",
    PeriodKind.HALF_YEAR: "2026-H1",
    PeriodKind.YEAR: "2026",
}


@dataclass(frozen=True, order=True)
class Period:
    year: int
    index: int  # 1-based: month 1-12, quarter 1-4, half 1-2, year 1
    kind: str

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.year}-{self.index:02d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.year}-Q{self.index}"
        if self.kind == PeriodKind.HALF_YEAR:
            return f"{self.year}-H{self.index}"
        return f"{self.year}"

    @property
    def months(self) -> int:
        return 12 // PARTS[PeriodKind(self.kind)]

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, (self.index - 1) * self.months + 1, 1)

    @property
    def end(self) -> dt.date:
        month = self.index * self.months
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    @property
    def share_of_year(self) -> float:
        """The part of the year that has passed at the end of this period (H1 -> 0.5)."""
        return self.index / PARTS[PeriodKind(self.kind)]

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return _("%(year)d年%(month)d月") % {"year": self.year, "month": self.index}
        if self.kind == PeriodKind.QUARTER:
            return _("%(year)d年第%(q)d季度") % {"year": self.year, "q": self.index}
        if self.kind == PeriodKind.HALF_YEAR:
            if self.index == 1:
                return _("%(year)d年上半年") % {"year": self.year}
            return _("%(year)d年下半年") % {"year": self.year}
        return _("%(year)d年") % {"year": self.year}

    @property
    def short_label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return _("%(month)d月") % {"month": self.index}
        if self.kind == PeriodKind.QUARTER:
            return _("第%(q)d季度") % {"q": self.index}
        if self.kind == PeriodKind.HALF_YEAR:
            return _("上半年") if self.index == 1 else _("下半年")
        return _("全年")

    def __str__(self) -> str:
        return self.key


def example(kind: str) -> str:
    return _EXAMPLES[PeriodKind(kind)]


def _normalise(text: str) -> str:
    text = text.strip().upper().replace(" ", "").replace("/", "-").replace(".", "-")
    text = text.replace("上半年", "-H1").replace("下半年", "-H2").replace("年度", "").replace("年", "-")
    for cn, digit in _CN_DIGITS.items():
        text = text.replace(f"第{cn}季度", f"Q{digit}")
    text = re.sub(r"第?([1-4])季度", r"Q\1", text).replace("月", "")
    return re.sub(r"-+", "-", text).strip("-")


def parse_any(value: Any) -> Period:
    """A period in any kind; a date or datetime is its month. Raises ValidationError."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return _make(value.year, value.month, PeriodKind.MONTH, str(value))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))
    text = _normalise(str(value or ""))
    if not text:
        raise ValidationError(_("请填写统计期。"), code="period_required")
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            index = int(match[2]) if kind != PeriodKind.YEAR else 1
            return _make(int(match[1]), index, kind, str(value))
    raise ValidationError(
        _("统计期格式不正确: %(value)s。示例: 月度 2026-05, 季度 2026-Q2, 半年 2026-H1, 年度 2026。")
        % {"value": str(value)[:20]},
        code="period_format",
    )


def _make(year: int, index: int, kind: str, raw: str) -> Period:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            _("统计期年份应在 %(a)d 至 %(b)d 之间: %(value)s。") % {"a": MIN_YEAR, "b": MAX_YEAR, "value": raw[:20]},
            code="period_year",
        )
    if not 1 <= index <= PARTS[PeriodKind(kind)]:
        raise ValidationError(_("统计期不存在: %(value)s。") % {"value": raw[:20]}, code="period_format")
    return Period(year, index, str(kind))


def parse_period(value: Any, kind: str, *, today: dt.date | None = None) -> Period:
    """The period ``value`` for an indicator reported by ``kind``; it must have started."""
    period = parse_any(value)
    if period.kind != kind:
        raise ValidationError(
            _("统计期 %(value)s 与指标的统计周期(%(kind)s)不符, 应填写如 %(example)s。")
            % {"value": period.key, "kind": PeriodKind(kind).label, "example": example(kind)},
            code="period_kind",
        )
    today = today or dt.date.today()
    if period.start > today:
        raise ValidationError(_("统计期 %(value)s 尚未开始, 不能填报。") % {"value": period.key}, code="period_future")
    return period


def periods_of_year(kind: str, year: int) -> list[Period]:
    return [Period(year, i, str(kind)) for i in range(1, PARTS[PeriodKind(kind)] + 1)]
