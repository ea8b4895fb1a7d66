"""Field-key rotation: re-encrypt every protected value that is not under the active key
and cipher (common.crypto.needs_rotation). Blind-index digests do not change (they use
their own key), so search keeps working during and after a rotation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common import crypto
from civicgrid.people.models import Person
from civicgrid.people.services import PROTECTED_FIELDS, context_for

# Every encrypted column: (model, column, context). Other apps' protected columns belong here too.
PROTECTED_COLUMNS: list[tuple[type[models.Model], str, str]] = [
    (Person, f"{name}_cipher", context_for(name)) for name in PROTECTED_FIELDS
]


@dataclass
class RotationResult:
    scanned: int = 0
    rotated_values: int = 0
    rotated_rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"scanned": self.scanned, "rotated_values": self.rotated_values, "rotated_rows": self.rotated_rows}


def count_pending() -> int:
    """Rows holding at least one value not under the active key (a full scan)."""
    pending = 0
    for model, _columns in _by_model().items():
        for values in model._default_manager.values_list(*_columns).iterator(chunk_size=5000):
            if any(v and crypto.needs_rotation(v) for v in values):
                pending += 1
    return pending


def _by_model() -> dict[type[models.Model], list[str]]:
    grouped: dict[type[models.Model], list[str]] = {}
    for model, column, _ctx in PROTECTED_COLUMNS:
        grouped.setdefault(model, []).append(column)
    return grouped


def rotate_keys(
    *, batch_size: int = 1000, progress: Callable[[int, int], None] | None = None, actor: Any = None
) -> RotationResult:
    """Re-encrypt in primary-key batches, each batch in its own transaction (a crash
    leaves every row readable: old values still name their key). Audited once."""
    result = RotationResult()
    contexts = {(model, column): ctx for model, column, ctx in PROTECTED_COLUMNS}
    for model, columns in _by_model().items():
        manager = model._default_manager
        total = manager.count()
        last_pk: Any = 0
        while True:
            with transaction.atomic():
                rows = list(manager.filter(pk__gt=last_pk).order_by("pk").only("pk", *columns)[:batch_size])
                if not rows:
                    break
                changed = []
                for row in rows:
                    dirty = False
                    for column in columns:
                        token = getattr(row, column)
                        if token and crypto.needs_rotation(token):
                            ctx = contexts[(model, column)]
                            setattr(row, column, crypto.encrypt(crypto.decrypt(token, context=ctx), context=ctx))
                            result.rotated_values += 1
                            dirty = True
                    if dirty:
                        changed.append(row)
                if changed:
                    manager.bulk_update(changed, columns, batch_size=batch_size)
                result.rotated_rows += len(changed)
                result.scanned += len(rows)
                last_pk = rows[-1].pk
            if progress:
                progress(result.scanned, total)
    ring = crypto.key_ring()
    audit_record(
        action=AuditAction.KEY_ROTATION,
        actor=actor,
        object_type="common.field_keys",
        object_repr=f"{ring.cipher} {ring.active_key_id}",
        changes={**result.as_dict(), "active_key": ring.active_key_id, "cipher": ring.cipher},
    )
    return result
