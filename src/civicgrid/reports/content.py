"""The content of a report (月报 / 半年报 / 年报) for a territory node: ONE function,
``report_data(user, area_code, period)``, read by the Excel writer, the PDF writer, the page and
the tests.

It is composed from the selectors the wall screen uses, so the figures are the screen's:

- headline, channels, categories, trend: ``cases.metrics`` (``case_metrics``,
  ``case_metrics_grouped``, ``case_metrics_by_category``) for the period's cases (received from
  the first day to the last, or to today for the current period: then the figures equal the
  screen's "本年" block for a yearly report);
- child territories ranked with the applicable assessment scheme: ``assessment_ranking``;
- departments: ``case_metrics_grouped(group_by="department")``;
- overdue at the period's end: the cases marked overdue by the deadline sweep (``overdue_at``)
  before the end and not closed at the end; for the current period this is the screen's
  "超期案件" (open and overdue now);
- patrol duty: ``patrols.selectors.compliance_report`` per month of the period;
- the district indicators register: ``indicators.selectors.indicators_for_dashboard``, each
  indicator's figure as of the period's end.

Every count and rate carries the absolute address (``conf.site_url()``) of the list of records
it counts: the drill-down list of the wall screen (``dashboards.drilldown``), the overdue list of
this app for a past period end, the patrols compliance page, the indicator's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import code_range_q
from civicgrid.assessment.periods import Period as AssessmentPeriod
from civicgrid.assessment.selectors import assessment_ranking
from civicgrid.cases import metrics as m
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Case
from civicgrid.cases.selectors import LIST_RELATED, visible_cases
from civicgrid.dashboards.drilldown import DrillFilter
from civicgrid.dashboards.screen import screen_node
from civicgrid.reports import conf
from civicgrid.reports.periods import MONTH, ReportPeriod
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

ProgressCallback = Callable[[int, int], None]
CHILD_LEVEL = {
    AreaLevel.DISTRICT.value: AreaLevel.STREET.value,
    AreaLevel.STREET.value: AreaLevel.COMMUNITY.value,
    AreaLevel.COMMUNITY.value: AreaLevel.GRID.value,
}
STEPS = 8


@dataclass(frozen=True)
class Cell:
    """One value of a table: ``fmt`` is int, pct (a share 0-1), hours / num2 (two decimals),
    decimal or text;
    ``url`` the absolute address of the records it counts (empty: none)."""

    value: Any
    fmt: str = "int"
    url: str = ""

    @property
    def display(self) -> str:
        return display(self.value, self.fmt)


def display(value: Any, fmt: str) -> str:
    if value is None or value == "":
        return "-"
    if fmt == "pct":
        return f"{float(value) * 100:.1f}%"
    if fmt in ("hours", "num2"):
        return f"{float(value):.2f}"
    if fmt == "decimal":
        number = Decimal(str(value))
        return f"{number:,.2f}".rstrip("0").rstrip(".") if number != number.to_integral_value() else f"{int(number):,}"
    if fmt == "int":
        return f"{int(value):,}"
    return str(value)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    cell: Cell
    note: str = ""  # e.g. "5940 / 6017" for a rate


@dataclass
class Section:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    chart: str = ""  # "bar" / "line": the PDF and the Excel draw a chart of columns 1-2
    # How many columns of each row are the label (the chart's category is column 0).
    label_columns: int = 1


@dataclass
class ReportData:
    node: Area
    period: ReportPeriod
    start: dt.date
    end: dt.date  # the last day counted (the period's last day, or today for the current one)
    generated_at: dt.datetime
    site_url: str
    metrics: m.CaseMetrics
    headline: list[Figure]
    sections: list[Section]
    overdue_total: int
    overdue_url: str
    overdue_at: dt.datetime
    user: Any = None

    @property
    def title(self) -> str:
        return _("%(area)s %(period)s案件与治理%(kind)s") % {
            "area": self.node.name,
            "period": self.period.label,
            "kind": self.period.kind_label,
        }

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def require(self, key: str) -> Section:
        found = self.section(key)
        if found is None:
            raise KeyError(key)
        return found

    def overdue_cases(self) -> QuerySet[Case]:
        """The overdue cases at the period's end (iterate: it may be long)."""
        return overdue_queryset(self.user, self.node.code, self.overdue_at)


def absolute(path: str) -> str:
    return f"{conf.site_url()}{path}" if path else ""


def overdue_queryset(user: Any, area_code: str, at: dt.datetime) -> QuerySet[Case]:
    """Cases of the node marked overdue by the deadline sweep before ``at`` and not closed at
    ``at`` (merged and not-accepted cases left out). At "now" it equals the screen's open and
    overdue cases. A case closed before ``at`` and reopened later counts as closed at ``at``
    only while it is closed again (its ``closed_at`` is cleared on reopening)."""
    return (
        visible_cases(user)
        .filter(code_range_q("area_code", area_code), received_at__lt=at, overdue_at__lt=at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=at))
        .exclude(status__in=m.EXCLUDED_STATUSES)
        .select_related(*LIST_RELATED)
        .order_by("overdue_at", "id")
    )


def overdue_url(area_code: str, end: dt.date, *, current: bool) -> str:
    if current:
        return absolute(DrillFilter("overdue", area_code=area_code).url())
    query = urlencode({"area": area_code, "end": end.isoformat()})
    return absolute(f"{reverse('reports:overdue')}?{query}")


def _drill(f: DrillFilter) -> str:
    return absolute(f.url())


def _headline(r: m.CaseMetrics, f: DrillFilter, overdue: int, overdue_link: str) -> list[Figure]:
    def count(key: str, label: str, value: int, metric: str) -> Figure:
        return Figure(key, label, Cell(value, "int", _drill(f.with_metric(metric))))

    def pct(key: str, label: str, value: float | None, part: int, whole: int, metric: str) -> Figure:
        return Figure(key, label, Cell(value, "pct", _drill(f.with_metric(metric))), f"{part} / {whole}")

    received = _drill(f)
    return [
        count("received", _("受理量"), r.received, "received"),
        count("closed", _("办结量"), r.closed, "closed"),
        pct("closure_rate", _("办结率"), r.closure_rate, r.closed, r.received, "closed"),
        pct(
            "on_time_sign_for_rate",
            _("按时签收率"),
            r.on_time_sign_for_rate,
            r.signed_on_time,
            r.dispatched,
            "signed_on_time",
        ),
        pct(
            "on_time_closing_rate",
            _("按时办结率"),
            r.on_time_closing_rate,
            r.closed_on_time,
            r.closed,
            "closed_on_time",
        ),
        pct("resolution_rate", _("解决率"), r.resolution_rate, r.resolved, r.evaluated, "resolved"),
        pct("satisfaction_rate", _("满意率"), r.satisfaction_rate, r.satisfied, r.evaluated, "satisfied"),
        pct("rehandling_rate", _("发回重办率"), r.rehandling_rate, r.rehandled, r.received, "rehandled"),
        Figure(
            "repeat_complaint_rate",
            _("重复投诉率"),
            Cell(r.repeat_complaint_rate, "pct", received),
            f"{r.repeat_complaints} / {r.received}",
        ),
        Figure("response_median_hours", _("响应时长中位数(小时)"), Cell(r.response_median_hours, "hours", received)),
        Figure("handling_median_hours", _("办理时长中位数(小时)"), Cell(r.handling_median_hours, "hours", received)),
        Figure("overdue", _("期末超期在办"), Cell(overdue, "int", overdue_link)),
    ]


def _count_rows(
    rows: list[m.GroupedMetrics],
    make_filter: Callable[[m.GroupedMetrics], DrillFilter | None],
    label: Callable[[m.GroupedMetrics], str],
) -> list[list[Cell]]:
    out = []
    for g in rows:
        f = make_filter(g)

        def link(metric: str, f: DrillFilter | None = f) -> str:
            return _drill(f.with_metric(metric)) if f is not None else ""

        out.append(
            [
                Cell(label(g), "text"),
                Cell(g.received, "int", link("received")),
                Cell(g.closed, "int", link("closed")),
                Cell(g.closure_rate, "pct", link("closed")),
                Cell(g.on_time_sign_for_rate, "pct", link("signed_on_time")),
                Cell(g.satisfaction_rate, "pct", link("satisfied")),
            ]
        )
    return out


def _count_headers(first: str) -> list[str]:
    return [first, _("受理量"), _("办结量"), _("办结率"), _("按时签收率"), _("满意率")]


def _channels(user: Any, node: Area, start: dt.date, end: dt.date) -> Section:
    rows = m.case_metrics_grouped(user, start=start, end=end, group_by="channel", area_code=node.code)
    rows.sort(key=lambda g: (-g.received, g.key))  # the screen's order
    labels = dict(Channel.choices)
    return Section(
        "channels",
        _("受理渠道"),
        _count_headers(_("渠道")),
        _count_rows(
            rows,
            lambda g: DrillFilter("received", start, end, node.code, channel=g.key) if g.key else None,
            lambda g: str(labels.get(g.key, g.label)),
        ),
        chart="bar",
    )


def _categories(user: Any, node: Area, start: dt.date, end: dt.date) -> Section:
    rows = [
        g for g in m.case_metrics_grouped(user, start=start, end=end, group_by="category", area_code=node.code) if g.key
    ]
    return Section(
        "categories",
        _("案件类别 (大类)"),
        _count_headers(_("类别")),
        _count_rows(
            rows,
            lambda g: DrillFilter("received", start, end, node.code, category_code=g.key),
            lambda g: g.label,
        ),
        chart="bar",
    )


def _departments(user: Any, node: Area, start: dt.date, end: dt.date) -> Section:
    rows = m.case_metrics_grouped(user, start=start, end=end, group_by="department", area_code=node.code)
    return Section(
        "departments",
        _("承办部门"),
        _count_headers(_("部门")),
        _count_rows(
            rows,
            lambda g: DrillFilter("received", start, end, node.code, department_id=int(g.key)) if g.key else None,
            lambda g: g.label,
        ),
        note=_("按案件当前承办部门统计; “未交部门办理”为由网格、社区或街道自行办理的案件。"),
    )


def _trend(user: Any, node: Area, period: ReportPeriod, start: dt.date, end: dt.date) -> Section:
    weekly = period.kind == MONTH
    rows = {
        g.key: g
        for g in m.case_metrics_grouped(
            user, start=start, end=end, group_by="week" if weekly else "month", area_code=node.code
        )
    }
    buckets: list[tuple[str, str, dt.date, dt.date]] = []
    if weekly:
        monday = start - dt.timedelta(days=start.weekday())
        while monday <= end:
            first, last = max(monday, start), min(monday + dt.timedelta(days=6), end)
            buckets.append((monday.isoformat(), f"{first:%m-%d}~{last:%m-%d}", first, last))
            monday += dt.timedelta(weeks=1)
    else:
        for key in period.months:
            first = dt.date.fromisoformat(f"{key}-01")
            if first > end:
                break
            last = min((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1), end)
            buckets.append((key, _("%(m)d月") % {"m": first.month}, first, last))
    out = []
    for key, label, first, last in buckets:
        g = rows.get(key)
        f = DrillFilter("received", first, last, node.code)
        received, closed = (g.received, g.closed) if g else (0, 0)
        out.append(
            [
                Cell(label, "text"),
                Cell(received, "int", _drill(f)),
                Cell(closed, "int", _drill(f.with_metric("closed"))),
                Cell(m.rate(closed, received), "pct", _drill(f.with_metric("closed"))),
            ]
        )
    return Section(
        "trend",
        _("按周受理与办结") if weekly else _("按月受理与办结"),
        [_("周") if weekly else _("月份"), _("受理量"), _("办结量"), _("办结率")],
        out,
        chart="line",
    )


def _children(user: Any, node: Area, period: ReportPeriod, start: dt.date, end: dt.date) -> Section | None:
    level = CHILD_LEVEL.get(str(node.level))
    if level is None:
        return None
    ranking = assessment_ranking(
        user,
        period=AssessmentPeriod(period.kind, period.key, start, end),
        level=level,
        area_code=node.code,
    )
    rows = []
    for row in ranking.rows:
        f = DrillFilter("received", start, end, row.key)
        rows.append(
            [
                Cell(row.rank if row.rank is not None else _("不参与排名"), "int" if row.rank is not None else "text"),
                Cell(row.label, "text"),
                Cell(row.key, "text"),
                Cell(row.score, "num2", _drill(f)),
                Cell(row.received, "int", _drill(f)),
                Cell(row.closed, "int", _drill(f.with_metric("closed"))),
                Cell(row.on_time_sign_for_rate, "pct", _drill(f.with_metric("signed_on_time"))),
                Cell(row.resolution_rate, "pct", _drill(f.with_metric("resolved"))),
                Cell(row.satisfaction_rate, "pct", _drill(f.with_metric("satisfied"))),
                Cell(row.closure_rate, "pct", _drill(f.with_metric("closed"))),
                Cell(row.rehandling_rate, "pct", _drill(f.with_metric("rehandled"))),
            ]
        )
    s = ranking.scheme
    return Section(
        "children",
        _("下级辖区考核排名"),
        [
            _("名次"),
            _("单位"),
            _("编码"),
            _("得分"),
            _("受理量"),
            _("办结量"),
            _("按时签收率"),
            _("解决率"),
            _("满意率"),
            _("办结率"),
            _("发回重办率"),
        ],
        rows,
        note=_("考核方案: %(name)s (按时签收率 %(a)s, 解决率 %(b)s, 满意率 %(c)s, 办结率 %(d)s, 发回重办率 %(e)s)")
        % {
            "name": s.name,
            "a": s.weight_on_time_sign_for,
            "b": s.weight_resolution,
            "c": s.weight_satisfaction,
            "d": s.weight_closure,
            "e": s.weight_rehandling,
        },
        label_columns=3,
    )


def _patrols(user: Any, node: Area, period: ReportPeriod, today: dt.date) -> Section | None:
    if not has_capability(user, Capability.VIEW_PATROLS):
        return None
    from civicgrid.patrols.selectors import compliance_report

    rows = []
    for month in period.months:
        if dt.date.fromisoformat(f"{month}-01") > today:
            break
        try:
            report = compliance_report(user, node.code, period="month", month=month, on=today)
        except ValidationError:  # older than the patrols app keeps (24 months)
            continue
        try:
            url = absolute(reverse("patrols:compliance", args=[node.code]) + f"?period=month&month={month}")
        except NoReverseMatch:  # pragma: no cover - patrols always installed
            url = ""
        rows.append(
            [
                Cell(month, "text"),
                Cell(report.workers, "int", url),
                Cell(report.days_due, "int", url),
                Cell(report.days_met, "int", url),
                Cell(report.met_rate, "pct", url),
                Cell(report.patrols, "int", url),
                Cell(report.distance_km, "num2", url),
            ]
        )
    return Section(
        "patrols",
        _("巡查履职"),
        [_("月份"), _("履职人数"), _("应巡天数"), _("达标天数"), _("达标率"), _("巡查次数"), _("巡查里程(公里)")],
        rows,
        note=_("网格长、路长、片长按巡查规则 (每日次数、时段、覆盖率) 统计; 当月统计到今天。"),
    )


def _indicators(user: Any, node: Area, end: dt.date) -> Section | None:
    if not has_capability(user, Capability.VIEW_INDICATORS):
        return None
    from civicgrid.indicators.selectors import indicators_for_dashboard

    rows = []
    for p in indicators_for_dashboard(user, end.year):
        if not p.indicator.area_code.startswith(node.code):
            continue
        # The year's figure as of the report's end: the latest period ended by then.
        point = None
        for candidate in p.series:
            if candidate.period.end <= end and candidate.cumulative is not None:
                point = candidate
        value = point.cumulative if point else None
        percent = (value * 100 / p.target).quantize(Decimal("0.1")) if value is not None and p.target else None
        try:
            url = absolute(reverse("indicators:detail", args=[p.indicator.pk]) + f"?year={end.year}")
        except NoReverseMatch:  # pragma: no cover - indicators always installed
            url = ""
        rows.append(
            [
                Cell(p.indicator.name, "text"),
                Cell(str(p.indicator.get_unit_display()), "text"),
                Cell(point.period.label if point else "", "text"),
                Cell(value, "decimal", url),
                Cell(p.target, "decimal", url),
                Cell(percent, "decimal", url),
            ]
        )
    return Section(
        "indicators",
        _("区级指标台账"),
        [_("指标"), _("单位"), _("截至"), _("数值"), _("年度目标"), _("完成率(%)")],
        rows,
        note=_("数值为截至报表期末已填报的年度累计值 (存量指标取最新值)。"),
        label_columns=3,
    )


def report_data(
    user: Any,
    area_code: str | None,
    period: ReportPeriod,
    *,
    today: dt.date | None = None,
    progress: ProgressCallback | None = None,
) -> ReportData:
    """Everything a report shows for the node ``area_code`` (in the user's scope: else NotFound,
    a 404; without ``cases.view`` PermissionDenied) and ``period``."""

    def step(n: int) -> None:
        if progress is not None:
            progress(n, STEPS)

    node = screen_node(user, area_code)
    today = today or timezone.localdate()
    start = period.start
    current = period.end >= today
    end = min(period.end, today)
    if end < start:
        raise ValidationError({"period": _("报表周期尚未开始, 不能生成")})
    metrics = m.case_metrics(user, start=start, end=end, area_code=node.code)
    after_end = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    at = timezone.now() if current else after_end
    overdue_total = overdue_queryset(user, node.code, at).count()
    overdue_link = overdue_url(node.code, end, current=current)
    step(1)
    f = DrillFilter("received", start, end, node.code)
    sections: list[Section] = []
    sections.append(_channels(user, node, start, end))
    step(2)
    sections.append(_categories(user, node, start, end))
    step(3)
    children = _children(user, node, period, start, end)
    if children is not None:
        sections.append(children)
    step(4)
    sections.append(_departments(user, node, start, end))
    step(5)
    sections.append(_trend(user, node, period, start, end))
    step(6)
    patrols = _patrols(user, node, period, today)
    if patrols is not None:
        sections.append(patrols)
    step(7)
    indicators = _indicators(user, node, end)
    if indicators is not None:
        sections.append(indicators)
    step(8)
    return ReportData(
        node=node,
        period=period,
        start=start,
        end=end,
        generated_at=timezone.localtime(),
        site_url=conf.site_url(),
        metrics=metrics,
        headline=_headline(metrics, f, overdue_total, overdue_link),
        sections=sections,
        overdue_total=overdue_total,
        overdue_url=overdue_link,
        overdue_at=at,
        user=user,
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)  # text cells (lazy translations included)


def _json_cell(cell: Cell) -> dict[str, Any]:
    return {"value": _json_value(cell.value), "format": cell.fmt, "display": cell.display, "url": cell.url}


def report_json(data: ReportData) -> dict[str, Any]:
    """The report's figures as plain JSON (what the files show, cell for cell): stored with the
    report when it is made and returned by ``GET /api/reports/{id}/data``. A cell is
    ``{"value", "format", "display", "url"}``: ``format`` int / pct (a share 0-1) / hours / num2 /
    decimal / text, ``display`` the text the files print, ``url`` the list of records it counts."""
    period = data.period
    return {
        "title": data.title,
        "node": {"code": data.node.code, "name": data.node.name, "level": str(data.node.level)},
        "period": {
            "kind": period.kind,
            "kind_label": period.kind_label,
            "key": period.key,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "start": data.start.isoformat(),
        "end": data.end.isoformat(),
        "generated_at": data.generated_at.isoformat(),
        "site_url": data.site_url,
        "headline": [{"key": f.key, "label": f.label, "note": f.note, **_json_cell(f.cell)} for f in data.headline],
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "headers": [str(h) for h in s.headers],
                "label_columns": s.label_columns,
                "chart": s.chart,
                "note": s.note,
                "rows": [[_json_cell(c) for c in row] for row in s.rows],
            }
            for s in data.sections
        ],
        "overdue": {"total": data.overdue_total, "url": data.overdue_url, "at": data.overdue_at.isoformat()},
    }
