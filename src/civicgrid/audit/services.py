"""Writing to the audit trail. Every other app's services call ``audit_record`` (one record)
or ``audit_record_many`` (several records of one operation, appended in one step).

Appending takes the chain head's lock (D4), so it is the serialisation point of every
writer on PostgreSQL: the lock is held from the append until the transaction ends. Callers
that write several rows should append their audit records LAST, just before their
transaction commits (``audit_record_many`` at the end of the service), so the lock is held
for the shortest time. Inside the append there are three statements: lock and read the
head, insert the records (one multi-row INSERT), move the head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from civicgrid.accounts.permissions import is_read_only
from civicgrid.audit import context
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from civicgrid.common.bulk import insert_rows

# Actions that change data: a read-only role (leader, audit administrator) can never be
# their actor. Log-in, log-out, viewing, exporting and one's own password change remain.
DATA_WRITE_ACTIONS = frozenset(
    {
        AuditAction.CREATE,
        AuditAction.UPDATE,
        AuditAction.DELETE,
        AuditAction.IMPORT,
        AuditAction.TRANSITION,
        AuditAction.KEY_ROTATION,
    }
)
HEAD_ID = 1


@dataclass
class AuditEntry:
    """One record to append: the arguments of ``audit_record``. ``changes`` must already be
    masked."""

    action: AuditAction | str
    obj: models.Model | None = None
    object_type: str = ""
    object_id: str = ""
    object_repr: str = ""
    area_code: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    actor: Any = None
    actor_label: str = ""
    ip_address: str | None = None


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, str(getattr(actor, "username", "") or "")
    return int(actor.pk), str(actor.get_username())


def _build(entry: AuditEntry, ctx: context.RequestContext) -> AuditEvent:
    """The record without its chain position (id, prev_hash, hash, time)."""
    actor = entry.actor if entry.actor is not None else ctx.user
    if str(entry.action) in DATA_WRITE_ACTIONS and is_read_only(actor):
        # Backstop for accounts.services.ensure_can_write: raised before anything is
        # written; the caller's transaction then rolls back, so nothing is half-written.
        raise PermissionDenied(gettext("您的角色为只读, 不能修改数据"))
    actor_id, label = _actor(actor)
    object_type, object_id, object_repr, area_code = (
        entry.object_type,
        entry.object_id,
        entry.object_repr,
        entry.area_code,
    )
    obj = entry.obj
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        area_code = area_code or str(getattr(obj, "area_code", "") or "")
    return AuditEvent(
        actor_id=actor_id,
        actor_label=(entry.actor_label or label)[:150],
        ip_address=entry.ip_address or ctx.ip_address,
        action=str(entry.action),
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        area_code=area_code,
        changes=entry.changes or {},
        message=entry.message[:500],
    )


def _lock_head() -> tuple[int, str]:
    """Lock the chain head row (FOR UPDATE on PostgreSQL; SQLite's write lock is already
    held by the transaction) and return (last_id, last_hash). Raw SQL: this statement runs
    for every audited write, and the ORM would spend more time building it than the
    database spends running it."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT last_id, last_hash FROM {table} WHERE id = %s{lock}"  # noqa: S608 - constant identifiers
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [HEAD_ID])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0]), str(row[1] or GENESIS_HASH)
        # First record ever: create the head (a concurrent creator makes get_or_create read
        # the committed row), then lock it.
        AuditChainHead.objects.get_or_create(pk=HEAD_ID)
    raise RuntimeError("audit chain head row missing")  # pragma: no cover - created above


def _move_head(last_id: int, last_hash: str) -> None:
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_id = %s, last_hash = %s WHERE id = %s",  # noqa: S608 - constant identifiers
            [last_id, last_hash, HEAD_ID],
        )


def audit_record_many(entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Append ``entries`` to the hash chain, in order, in one step: one lock of the head,
    one multi-row INSERT, one update of the head. Returns the saved records.

    Runs in the caller's transaction (or its own when there is none). Call it as the LAST
    write of a service: the head stays locked until the transaction ends."""
    if not entries:
        return []
    ctx = context.current()
    events = [_build(entry, ctx) for entry in entries]  # may refuse before any write
    with transaction.atomic(savepoint=False):
        last_id, last_hash = _lock_head()
        now = timezone.now()
        for event in events:
            last_id += 1
            event.id = last_id
            event.occurred_at = now
            event.prev_hash = last_hash
            event.hash = event.compute_hash()
            last_hash = event.hash
        # A plain multi-row INSERT (AuditEvent.save's append-only guard is for updates).
        insert_rows(events, returning=False)
        _move_head(last_id, last_hash)
    return events


def audit_record(
    *,
    action: AuditAction | str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    area_code: str = "",
    changes: dict[str, Any] | None = None,
    message: str = "",
    actor: Any = None,
    actor_label: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one record to the hash chain. ``changes`` must already be masked."""
    entry = AuditEntry(
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        area_code=area_code,
        changes=changes or {},
        message=message,
        actor=actor,
        actor_label=actor_label,
        ip_address=ip_address,
    )
    return audit_record_many([entry])[0]
