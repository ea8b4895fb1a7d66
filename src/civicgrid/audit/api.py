"""GET /api/audit/events: the audit trail, filtered and paginated; audit administrator only."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import PageNumberPagination, paginate

from civicgrid.audit.models import AuditEvent
from civicgrid.audit.schemas import AuditEventFilterIn, AuditEventOut
from civicgrid.audit.selectors import audit_event_list

router = Router(tags=["audit"])


@router.get("/events", response=list[AuditEventOut])
@paginate(PageNumberPagination, page_size=50)
def list_events(request: HttpRequest, filters: Query[AuditEventFilterIn], **kwargs: Any) -> QuerySet[AuditEvent]:
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.dict().items() if v not in (None, "")
    }
    return audit_event_list(request.user, data)
