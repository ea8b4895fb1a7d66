"""Masked before/after diffs of model instances, for the audit trail.

``model_diff(before, after)`` compares two snapshots (or model instances, or None for
"did not exist") field by field and returns only what changed::

    {"display_name": {"before": "张三", "after": "张三丰"}, "departments": {"before": [1], "after": [1, 2]}}

Secrets never enter the trail: a field whose name ends in ``_cipher`` or ``_digest``
(see common/protected.py), the password hash, and any name in ``mask`` are reported
only as changed, with the value replaced by ``MASK`` on both sides. Values are reduced to
JSON-safe primitives (foreign keys as their id, many-to-many as a sorted id list,
dates as ISO strings, decimals as strings)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models

MASK = "******"
SECRET_SUFFIXES = ("_cipher", "_digest")
ALWAYS_MASKED = frozenset({"password"})
# Bookkeeping fields whose change says nothing to an auditor.
DEFAULT_EXCLUDE = frozenset({"created_at", "updated_at", "last_login"})

Snapshot = dict[str, Any]


def is_secret_field(name: str, mask: Iterable[str] = ()) -> bool:
    return name in ALWAYS_MASKED or name.endswith(SECRET_SUFFIXES) or name in set(mask)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return MASK
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def snapshot(instance: models.Model | None, *, m2m: bool = True) -> Snapshot | None:
    """The instance's concrete field values (and, if saved, its many-to-many ids), keyed by
    field name. Take it BEFORE a change, from the database copy, to diff against after."""
    if instance is None:
        return None
    values: Snapshot = {}
    opts = instance._meta
    for field in opts.concrete_fields:
        values[field.name] = _plain(field.value_from_object(instance))
    if m2m and instance.pk is not None:
        for field in opts.many_to_many:
            manager = getattr(instance, field.name)
            values[field.name] = sorted(manager.values_list("pk", flat=True))
    return values


def _as_snapshot(value: models.Model | Snapshot | None) -> Snapshot:
    if value is None:
        return {}
    if isinstance(value, models.Model):
        return snapshot(value) or {}
    return value


def model_diff(
    before: models.Model | Snapshot | None,
    after: models.Model | Snapshot | None,
    *,
    exclude: Iterable[str] = (),
    mask: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Changed fields between two states, masked. ``None`` on one side means the object did
    not exist (creation or deletion): every non-empty field of the other side is listed."""
    old, new = _as_snapshot(before), _as_snapshot(after)
    skip = set(exclude) | DEFAULT_EXCLUDE
    masked = set(mask)
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(old) | set(new)):
        if name in skip:
            continue
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if before is None and b in (None, "", [], {}):
            continue
        if after is None and a in (None, "", [], {}):
            continue
        if is_secret_field(name, masked):
            changes[name] = {
                "before": MASK if a not in (None, "") else None,
                "after": MASK if b not in (None, "") else None,
            }
        else:
            changes[name] = {"before": a, "after": b}
    return changes
