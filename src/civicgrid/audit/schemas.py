from __future__ import annotations

import datetime
from typing import Any

from ninja import Schema


class AuditEventFilterIn(Schema):
    occurred_from: datetime.datetime | None = None
    occurred_to: datetime.datetime | None = None
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    ip_address: str | None = None


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime.datetime
    actor_id: int | None
    actor_label: str
    ip_address: str | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    area_code: str
    changes: dict[str, Any]
    message: str
    prev_hash: str
    hash: str
