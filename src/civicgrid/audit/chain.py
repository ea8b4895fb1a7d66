"""Checking and trimming the hash chain.

``verify_chain()`` walks every record in id order (a chunked iterator: memory stays flat
however long the trail) and recomputes each hash. It finds:

- an edited record: its stored hash no longer matches its content;
- a deleted record: a gap in the ids, or a prev_hash that is not the previous hash;
- a deleted tail: the chain head names a later record than the last one present;

and reports the FIRST bad record. A legitimate purge leaves an AuditCheckpoint (the last
deleted id and hash), from which the walk starts.

``audit_purge_expired()`` deletes only records older than AUDIT_RETENTION_DAYS (never
fewer than 180 days), through raw SQL because the ORM refuses to delete audit records."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import GENESIS_HASH, AuditChainHead, AuditCheckpoint, AuditEvent

MIN_RETENTION_DAYS = 180
CHUNK = 2000


@dataclass
class ChainProblem:
    record_id: int
    kind: str  # "edited" | "missing" | "broken_link" | "tail_missing" | "before_checkpoint"
    detail: str

    def __str__(self) -> str:
        return f"#{self.record_id} {self.kind}: {self.detail}"


@dataclass
class ChainReport:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    checkpoint_id: int | None = None
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None


def latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-last_purged_id").first()


def verify_chain(*, max_problems: int = 20) -> ChainReport:
    report = ChainReport()
    checkpoint = latest_checkpoint()
    expected_id = 1
    expected_prev = GENESIS_HASH
    if checkpoint is not None:
        report.checkpoint_id = checkpoint.last_purged_id
        expected_id = checkpoint.last_purged_id + 1
        expected_prev = checkpoint.last_purged_hash

    def problem(record_id: int, kind: str, detail: str) -> bool:
        report.problems.append(ChainProblem(record_id, kind, detail))
        return len(report.problems) >= max_problems

    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=CHUNK):
        report.checked += 1
        if report.first_id is None:
            report.first_id = event.pk
        report.last_id = event.pk
        if event.pk < expected_id:
            if problem(event.pk, "before_checkpoint", "record older than the purge checkpoint"):
                break
            continue
        if event.pk != expected_id:
            gone = f"{expected_id}" if event.pk == expected_id + 1 else f"{expected_id}..{event.pk - 1}"
            if problem(expected_id, "missing", f"records {gone} are missing (next present: #{event.pk})"):
                break
        elif event.prev_hash != expected_prev and problem(
            event.pk, "broken_link", "prev_hash does not match the previous record's hash"
        ):
            break
        if event.compute_hash() != event.hash and problem(
            event.pk, "edited", "content does not match its hash (the record was changed)"
        ):
            break
        expected_id = event.pk + 1
        expected_prev = event.hash

    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and len(report.problems) < max_problems:
        last_present = expected_id - 1
        if head.last_id > last_present:
            report.problems.append(
                ChainProblem(
                    last_present + 1,
                    "tail_missing",
                    f"the chain head names #{head.last_id}; records after #{last_present} are missing",
                )
            )
        elif head.last_id == last_present and head.last_hash != expected_prev and report.checked:
            report.problems.append(
                ChainProblem(head.last_id, "edited", "the chain head's hash differs from the last record's")
            )
    return report


def retention_days() -> int:
    return max(MIN_RETENTION_DAYS, int(getattr(settings, "AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS)))


@dataclass
class PurgeResult:
    cutoff: datetime.datetime
    deleted: int
    last_purged_id: int | None


@transaction.atomic
def audit_purge_expired(*, dry_run: bool = False) -> PurgeResult:
    """Delete the contiguous oldest records older than the retention period, record a
    checkpoint and an audit record of the purge. Younger records are never touched."""
    from civicgrid.audit.services import audit_record

    cutoff = timezone.now() - datetime.timedelta(days=retention_days())
    # Lock the head: no record is appended while the purge runs.
    AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    # Only a prefix of the chain may go: stop at the first record that is still young.
    first_young = AuditEvent.objects.filter(occurred_at__gte=cutoff).order_by("id").values_list("id", flat=True)
    limit = first_young.first()
    old = AuditEvent.objects.filter(occurred_at__lt=cutoff)
    if limit is not None:
        old = old.filter(id__lt=limit)
    last = old.order_by("-id").values("id", "hash").first()
    if last is None:
        return PurgeResult(cutoff=cutoff, deleted=0, last_purged_id=None)
    count = old.count()
    if dry_run:
        return PurgeResult(cutoff=cutoff, deleted=count, last_purged_id=int(last["id"]))
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        # Raw SQL on purpose: the ORM refuses deletes (AuditEventQuerySet). Both conditions
        # hold for every deleted row: within the old prefix AND older than the cutoff.
        cursor.execute(f"DELETE FROM {table} WHERE id <= %s AND occurred_at < %s", [last["id"], cutoff])  # noqa: S608
        deleted = cursor.rowcount
    AuditCheckpoint.objects.create(
        created_at=timezone.now(),
        cutoff=cutoff,
        last_purged_id=last["id"],
        last_purged_hash=last["hash"],
        deleted_count=deleted,
    )
    details: dict[str, Any] = {
        "cutoff": cutoff.isoformat(),
        "last_purged_id": last["id"],
        "last_purged_hash": last["hash"],
        "deleted": deleted,
        "retention_days": retention_days(),
    }
    audit_record(
        action=AuditAction.PURGE,
        object_type="audit.auditevent",
        changes=details,
        actor_label="audit purge",
        message="retention",
    )
    return PurgeResult(cutoff=cutoff, deleted=deleted, last_purged_id=int(last["id"]))
