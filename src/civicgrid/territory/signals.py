"""Boundary change tracking: any saved or deleted Area (geometry, code, name, parent or
level) bumps ``BoundaryVersion`` so every process's locate index rebuilds.

Saves with ``update_fields`` that touch none of those fields (population counts...) are
ignored. Bulk writers (the GeoJSON import) suspend the per-row bump with
``boundary_bumps_suspended()`` and call ``boundaries_changed()`` once at the end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from civicgrid.territory.models import Area, BoundaryVersion

# Fields whose change alters what locate() returns.
BOUNDARY_FIELDS = frozenset({"geometry", "code", "name", "parent", "parent_id", "level"})

_local = threading.local()


@contextmanager
def boundary_bumps_suspended() -> Iterator[None]:
    """Within the block, Area saves do not bump the version (call boundaries_changed())."""
    previous = getattr(_local, "suspended", False)
    _local.suspended = True
    try:
        yield
    finally:
        _local.suspended = previous


def boundaries_changed() -> int:
    """Bump the shared version and mark this process's locate index stale at once (and
    again after commit, so a rollback never leaves a wrong index behind for long)."""
    from civicgrid.territory import locate

    version = BoundaryVersion.bump()
    locate.mark_stale()
    transaction.on_commit(locate.mark_stale)
    return version


@receiver(post_save, sender=Area, dispatch_uid="territory_area_saved")
def area_saved(sender: type[Area], instance: Area, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if kwargs.get("raw") or getattr(_local, "suspended", False):
        return
    if update_fields is not None and not (set(update_fields) & BOUNDARY_FIELDS):
        return
    boundaries_changed()


@receiver(post_delete, sender=Area, dispatch_uid="territory_area_deleted")
def area_deleted(sender: type[Area], instance: Area, **kwargs: Any) -> None:
    if getattr(_local, "suspended", False):
        return
    boundaries_changed()
