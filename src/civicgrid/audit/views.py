"""The audit page (/audit/) and its CSV export. Audit administrator only."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import Capability, capability_required, has_capability
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.filters import FILTER_FIELDS
from civicgrid.audit.selectors import audit_event_filter, change_rows
from civicgrid.audit.services import audit_record

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


@capability_required(Capability.VIEW_AUDIT)
def events(request: HttpRequest) -> HttpResponse:
    filterset = audit_event_filter(request.user, request.GET)
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(event, change_rows(event.changes, event.object_type)) for event in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/events.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "querystring": query.urlencode(),
            "can_export": has_capability(request.user, Capability.EXPORT_AUDIT),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a cell must not start a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@capability_required(Capability.EXPORT_AUDIT)
def export_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    filterset = audit_event_filter(request.user, request.GET)
    if not filterset.is_valid():
        return HttpResponse(_("筛选条件不正确"), status=400, content_type="text/plain; charset=utf-8")
    queryset = filterset.qs
    applied = {k: v for k, v in request.GET.items() if k in FILTER_FIELDS and v}
    # The export is itself audited, before a single row leaves.
    audit_record(
        action=AuditAction.EXPORT,
        object_type="audit.auditevent",
        changes={"filters": applied},
        message=_("导出审计日志 CSV"),
        actor=request.user,
    )
    writer = csv.writer(_Echo())
    header = [
        "id",
        "occurred_at",
        "actor",
        "ip",
        "action",
        "object_type",
        "object_id",
        "object",
        "area_code",
        "changes",
        "message",
        "hash",
    ]

    def rows() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for event in queryset.iterator(chunk_size=EXPORT_CHUNK):
            yield writer.writerow(
                [
                    _cell(v)
                    for v in (
                        event.pk,
                        timezone.localtime(event.occurred_at).isoformat(),
                        event.actor_label,
                        event.ip_address,
                        event.action,
                        event.object_type,
                        event.object_id,
                        event.object_repr,
                        event.area_code,
                        json.dumps(event.changes, ensure_ascii=False, sort_keys=True),
                        event.message,
                        event.hash,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
