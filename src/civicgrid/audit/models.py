"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.audit.enums import AuditAction

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit record through the ORM."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("The audit trail is append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("The audit trail is append-only; see audit_purge_expired for retention")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("操作人账号"), max_length=150, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP"), null=True, blank=True, db_index=True)
    action = models.CharField(_("动作"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    area_code = models.CharField(max_length=20, blank=True, db_index=True)
    # Before/after values with personal data already masked.
    changes = models.JSONField(_("变更"), default=dict, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["actor", "-occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The id is assigned by audit_record (the chain position), so "new" is _state.adding.
        if not self._state.adding:
            raise AppendOnlyError("The audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("The audit trail is append-only")

    def canonical_payload(self) -> bytes:
        """Everything the hash covers, in a stable form."""
        body = {
            "id": self.pk,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "ip": self.ip_address,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "area_code": self.area_code,
            "changes": self.changes,
            "message": self.message,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical_payload()).hexdigest()


class AuditChainHead(models.Model):
    """One row: the latest record's hash. Locking it serialises writers so the chain
    never forks, on PostgreSQL (SELECT ... FOR UPDATE) and on SQLite (one writer)."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"head #{self.last_id}"


class AuditCheckpoint(models.Model):
    """Written by a legitimate purge: the last deleted record's id and hash, so the first
    surviving record's prev_hash is still checked. The purge itself is also an audit
    record (action "purge") carrying the same figures, inside the chain."""

    created_at = models.DateTimeField(_("时间"))
    cutoff = models.DateTimeField(_("清理截止时间"))
    last_purged_id = models.BigIntegerField(_("最后清理的记录"))
    last_purged_hash = models.CharField(max_length=64)
    deleted_count = models.BigIntegerField(_("清理条数"))

    class Meta:
        verbose_name = _("审计清理检查点")
        verbose_name_plural = _("审计清理检查点")
        ordering = ["-last_purged_id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.last_purged_id}"
