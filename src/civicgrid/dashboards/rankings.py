"""/dashboards/rankings/: assessment rankings (考核排名) of streets, communities, grids or
departments for a month, a quarter or a year, scored by the active assessment scheme; every
figure links to the cases it counts; ``?format=xlsx`` exports the very same ranking (audited).

The page shows ``PAGE_SIZE`` units a page (a district has 500+ grids) with the totals of ALL
units; the export always holds every unit (streamed with openpyxl's write-only mode) and the
same totals."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from civicgrid.accounts.permissions import capability_required
from civicgrid.assessment.models import WEIGHT_FIELDS
from civicgrid.assessment.periods import PERIOD_KINDS, Period, parse_period, period_containing
from civicgrid.assessment.permissions import VIEW_RANKINGS
from civicgrid.assessment.selectors import (
    COUNT_FIELDS,
    RANKING_LEVELS,
    Ranking,
    RankingRow,
    active_schemes,
    assessment_ranking,
)
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.drilldown import DrillFilter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 100  # units a page on the rankings page (the export holds all of them)
# rate -> the drill-down metric of its numerator
RATE_DRILL = {
    "on_time_sign_for_rate": "signed_on_time",
    "resolution_rate": "resolved",
    "satisfaction_rate": "satisfied",
    "closure_rate": "closed",
    "rehandling_rate": "rehandled",
}
PERIOD_KIND_LABELS = {
    "month": pgettext_lazy("统计周期", "月度"),
    "quarter": pgettext_lazy("统计周期", "季度"),
    "year": pgettext_lazy("统计周期", "年度"),
}


@dataclass(frozen=True)
class RankingParams:
    period: Period
    level: str
    area_code: str | None
    scheme_id: int | None


def parse_params(params: Any) -> RankingParams:
    """period (2026-05 / 2026-Q2 / 2026, or empty with kind=month|quarter|year), level, area, scheme."""
    kind = (params.get("kind") or "").strip() or None
    if kind is not None and kind not in PERIOD_KINDS:
        raise ValidationError({"kind": _("考核周期只能是月、季度或年")})
    period = parse_period(params.get("period"), kind=kind)
    level = (params.get("level") or "street").strip()
    if level not in RANKING_LEVELS:
        raise ValidationError({"level": _("排名层级只能是街道、社区、网格或部门")})
    area = (params.get("area") or "").strip() or None
    scheme_raw = (params.get("scheme") or "").strip()
    if scheme_raw and not scheme_raw.isdigit():
        raise ValidationError({"scheme": _("考核方案不存在或未启用")})
    return RankingParams(period, level, area, int(scheme_raw) if scheme_raw else None)


def ranking_for(user: Any, params: RankingParams) -> Ranking:
    return assessment_ranking(
        user, period=params.period, level=params.level, area_code=params.area_code, scheme_id=params.scheme_id
    )


@dataclass(frozen=True)
class RankingTotals:
    """Over ALL units of a ranking (not one page): the page and the export print the same."""

    units: int
    ranked: int
    counts: dict[str, int]

    @property
    def received(self) -> int:
        return self.counts["received"]

    @property
    def closed(self) -> int:
        return self.counts["closed"]


def ranking_totals(ranking: Ranking) -> RankingTotals:
    return RankingTotals(
        units=len(ranking.rows),
        ranked=sum(1 for r in ranking.rows if r.rank is not None),
        counts={name: sum(int(getattr(r, name)) for r in ranking.rows) for name in COUNT_FIELDS},
    )


def row_filter(ranking: Ranking, row: RankingRow, metric: str = "received") -> DrillFilter:
    return DrillFilter(metric, ranking.period.start, ranking.period.end, **row.filters)


def row_links(ranking: Ranking, row: RankingRow) -> dict[str, str]:
    links = {"score": row_filter(ranking, row).url(), "received": row_filter(ranking, row).url()}
    for rate, metric in RATE_DRILL.items():
        links[rate] = row_filter(ranking, row, metric).url()
    return links


def ranking_as_dict(ranking: Ranking, *, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
    """The ranking as the API returns it: the rows ``offset`` to ``offset + limit`` (all of them
    without ``limit``) in rank order, ``count`` of all units and the ``totals`` over ALL units
    (the same as the page's and the export's)."""
    s = ranking.scheme
    totals = ranking_totals(ranking)
    rows = ranking.rows[offset:] if limit is None else ranking.rows[offset : offset + limit]
    end = offset + len(rows)
    return {
        "period": ranking.period.key,
        "period_label": ranking.period.label,
        "start": ranking.period.start.isoformat(),
        "end": ranking.period.end.isoformat(),
        "level": ranking.level,
        "area_code": ranking.area_code,
        "scheme": {
            "id": s.pk,
            "name": s.name,
            **{f: int(getattr(s, f)) for f, *_rest in WEIGHT_FIELDS},
            "effective_from": s.effective_from.isoformat(),
        },
        "count": totals.units,
        "offset": offset,
        "limit": limit,
        "next_offset": end if end < totals.units else None,
        "totals": {"units": totals.units, "ranked": totals.ranked, **totals.counts},
        "rows": [{**row.as_dict(), "url": row_filter(ranking, row).url()} for row in rows],
    }


def _headers() -> list[str]:
    return [
        _("名次"),
        _("单位"),
        _("编码"),
        _("得分"),
        _("受理量"),
        _("办结量"),
        *[_(label) for _f, _m, _inv, label in WEIGHT_FIELDS],
        _("派遣量"),
        _("按时签收量"),
        _("回访评价数"),
        _("解决数"),
        _("满意数"),
        _("发回重办数"),
    ]


def ranking_workbook(ranking: Ranking) -> bytes:
    """The Excel export: every unit (not one page), the same rows, rates and scores as the page,
    and the totals the page shows. Written with openpyxl's write-only mode: rows stream to a
    temporary file, so memory stays flat whatever the number of units."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("考核排名"))
    bold = Font(bold=True)
    s = ranking.scheme
    totals = ranking_totals(ranking)
    weights = "; ".join(f"{_(label)} {getattr(s, f)}" for f, _m, _inv, label in WEIGHT_FIELDS)
    preamble: list[list[Any]] = [
        [_("考核周期"), ranking.period.label, f"{ranking.period.start} ~ {ranking.period.end}"],
        [_("排名层级"), ranking.level_label],
        [_("辖区编码"), ranking.area_code or _("全部")],
        [_("考核方案"), s.name, weights],
        [_("得分公式"), _("100 × Σ(权重 × 指标值) / Σ权重 (无分母的指标不计入; 发回重办率按 1 - 比率 计入)")],
        [_("单位数"), totals.units],
        [_("参与排名单位数"), totals.ranked],
        [_("受理量合计"), totals.received],
        [_("办结量合计"), totals.closed],
        [],
    ]
    ws.freeze_panes = f"A{len(preamble) + 2}"  # below the header row (write-only: before any row)
    for line in preamble:
        ws.append(line)

    def header_cell(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        return cell

    ws.append([header_cell(text) for text in _headers()])
    for row in ranking.rows:
        rates = []
        for _f, metric, _inv, _l in WEIGHT_FIELDS:
            cell = WriteOnlyCell(ws, value=getattr(row, metric))
            cell.number_format = "0.00%"
            rates.append(cell)
        ws.append(
            [
                row.rank if row.rank is not None else _("不参与排名"),
                row.label,
                row.key,
                row.score,
                row.received,
                row.closed,
                *rates,
                row.dispatched,
                row.signed_on_time,
                row.evaluated,
                row.resolved,
                row.satisfied,
                row.rehandled,
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _export(request: HttpRequest, ranking: Ranking) -> HttpResponse:
    content = ranking_workbook(ranking)
    audit_record(
        action=AuditAction.EXPORT,
        object_type="assessment.ranking",
        object_id=f"{ranking.level}-{ranking.period.key}",
        object_repr=_("考核排名导出"),
        area_code=ranking.area_code or "",
        changes={
            "filters": {
                "before": None,
                "after": {
                    "period": ranking.period.key,
                    "level": ranking.level,
                    "area_code": ranking.area_code,
                    "scheme": ranking.scheme.pk,
                },
            }
        },
        message=f"rows={len(ranking.rows)}",
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="ranking-{ranking.level}-{ranking.period.key}.xlsx"'
    return response


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _query(params: RankingParams, **override: Any) -> str:
    values: dict[str, Any] = {
        "period": params.period.key,
        "level": params.level,
        "area": params.area_code,
        "scheme": params.scheme_id,
    }
    values.update(override)
    return urlencode({k: v for k, v in values.items() if v})


@capability_required(VIEW_RANKINGS)
def rankings_page(request: HttpRequest) -> HttpResponse:
    try:
        params = parse_params(request.GET)
        ranking = ranking_for(request.user, params)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ValidationError as exc:
        return render(
            request,
            "dashboards/rankings.html",
            {"error": "; ".join(exc.messages), "levels": list(RANKING_LEVELS.items())},
            status=400,
        )
    if request.GET.get("format") == "xlsx":
        if not request.user.is_authenticated:  # pragma: no cover - capability_required
            raise PermissionDenied
        return _export(request, ranking)
    period = params.period
    page = Paginator(ranking.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for row in page.object_list:
        links = row_links(ranking, row)
        rates = [(metric, getattr(row, metric), _percent(getattr(row, metric)), links[metric]) for metric in RATE_DRILL]
        rows.append({"row": row, "links": links, "rates": rates})
    kinds = [
        (kind, str(label), _query(params, period=period_containing(kind, period.start).key))
        for kind, label in PERIOD_KIND_LABELS.items()
    ]
    return render(
        request,
        "dashboards/rankings.html",
        {
            "ranking": ranking,
            "rows": rows,
            "rate_labels": [_(label) for _f, _m, _inv, label in WEIGHT_FIELDS],
            "weights": [(_(label), getattr(ranking.scheme, f)) for f, _m, _inv, label in WEIGHT_FIELDS],
            "levels": [(key, str(label), _query(params, level=key)) for key, label in RANKING_LEVELS.items()],
            "kinds": kinds,
            "previous": _query(params, period=period.previous().key),
            "next": _query(params, period=period.next().key),
            "export": _query(params) + "&format=xlsx",
            "schemes": active_schemes(),
            "params": params,
            "unranked": sum(1 for r in ranking.rows if r.rank is None),
            "page": page,
            "query": _query(params),
            "totals": ranking_totals(ranking),
        },
    )
