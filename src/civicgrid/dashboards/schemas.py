"""Response schemas of /api/dashboards (the wall screen's data and the rankings)."""

from __future__ import annotations

from ninja import Schema


class AreaOut(Schema):
    code: str
    name: str
    level: str


class FigureOut(Schema):
    value: float | int | None
    display: str
    url: str
    part: int | None = None  # a rate's numerator
    whole: int | None = None  # a rate's denominator


class PeriodBlockOut(Schema):
    received: FigureOut
    closed: FigureOut
    closure_rate: FigureOut
    on_time_sign_for_rate: FigureOut
    on_time_closing_rate: FigureOut
    resolution_rate: FigureOut
    satisfaction_rate: FigureOut


class BreakdownOut(Schema):
    key: str
    label: str
    received: int
    closed: int
    url: str


class OverdueItemOut(Schema):
    id: int
    tracking_code: str
    title: str
    category: str
    place: str
    holder: str
    due: str
    overdue_hours: float | None
    url: str


class OverdueOut(Schema):
    total: FigureOut
    items: list[OverdueItemOut]


class HeatItemOut(Schema):
    code: str
    open: int
    url: str


class HeatOut(Schema):
    geojson_url: str
    map_name: str
    items: list[HeatItemOut]
    max: int
    open: FigureOut
    drill_base: str


class PatrolPendingOut(Schema):
    name: str
    place: str
    duty: str
    counted: int
    required: int


class PatrolsOut(Schema):
    workers: FigureOut
    met: FigureOut
    not_met: FigureOut
    patrols: FigureOut
    distance_km: float
    pending: list[PatrolPendingOut]


class IndicatorOut(Schema):
    code: str
    name: str
    unit: str
    value: float | int | None
    target: float | int | None
    percent: float | int | None
    expected_percent: float | int | None
    on_track: bool | None
    period: str
    url: str


class ScreenOut(Schema):
    area: AreaOut
    generated_at: str  # ISO 8601 with the district's UTC offset, e.g. 2025-03-01T09:30:00+08:00
    time_zone: str  # the district's IANA zone (settings.TIME_ZONE): the page shows times in it
    refresh_seconds: int
    day: str
    year: int
    today: PeriodBlockOut
    this_year: PeriodBlockOut
    channels: list[BreakdownOut]
    categories: list[BreakdownOut]
    weeks: list[BreakdownOut]
    overdue: OverdueOut
    heat: HeatOut
    patrols: PatrolsOut | None
    indicators: list[IndicatorOut] | None


class SchemeOut(Schema):
    id: int
    name: str
    weight_on_time_sign_for: int
    weight_resolution: int
    weight_satisfaction: int
    weight_closure: int
    weight_rehandling: int
    effective_from: str


class RankingRowOut(Schema):
    key: str
    label: str
    received: int
    closed: int
    dispatched: int
    signed_on_time: int
    evaluated: int
    resolved: int
    satisfied: int
    rehandled: int
    on_time_sign_for_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    closure_rate: float | None
    rehandling_rate: float | None
    score: float | None
    rank: int | None
    url: str  # the cases behind the score


class RankingTotalsOut(Schema):
    """Over ALL units of the ranking, not one page (the page and the export print the same)."""

    units: int
    ranked: int
    received: int
    closed: int
    dispatched: int
    signed_on_time: int
    evaluated: int
    resolved: int
    satisfied: int
    rehandled: int


class RankingOut(Schema):
    period: str
    period_label: str
    start: str
    end: str
    level: str
    area_code: str | None
    scheme: SchemeOut
    count: int  # all units of the ranking
    offset: int
    limit: int
    next_offset: int | None  # None on the last page
    totals: RankingTotalsOut
    rows: list[RankingRowOut]  # one page of units, in rank order
