"""Writing to the audit trail. Every other app's services call ``audit_record``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from civicgrid.accounts.permissions import is_read_only
from civicgrid.audit import context
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent

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


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, str(getattr(actor, "username", "") or "")
    return int(actor.pk), str(actor.get_username())


@transaction.atomic
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
    ctx = context.current()
    actor = actor if actor is not None else ctx.user
    if str(action) in DATA_WRITE_ACTIONS and is_read_only(actor):
        # Backstop for accounts.services.ensure_can_write: raising here rolls back the
        # caller's whole transaction, so nothing is half-written.
        raise PermissionDenied(gettext("您的角色为只读, 不能修改数据"))
    actor_id, label = _actor(actor)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        area_code = area_code or str(getattr(obj, "area_code", "") or "")
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    event = AuditEvent(
        id=head.last_id + 1,
        occurred_at=timezone.now(),
        actor_id=actor_id,
        actor_label=(actor_label or label)[:150],
        ip_address=ip_address or ctx.ip_address,
        action=str(action),
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        area_code=area_code,
        changes=changes or {},
        message=message[:500],
        prev_hash=head.last_hash or GENESIS_HASH,
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    AuditChainHead.objects.filter(pk=1).update(last_id=event.id, last_hash=event.hash)
    return event
