"""Accepted-then-processed machine intake (API-key clients of ``POST /api/cases/`` and Open311
``POST requests``): the request validates everything that can be refused and writes ONE
``IntakeSubmission`` row in one transaction (``submission_accept`` → 202 with a token); the
drainer (``intake_drain``) turns pending submissions into cases in batches with set-based
writes (``services.case_intake_batch``), exactly as the synchronous intake would.

Running the drainer:

- embedded (no ``REDIS_URL``): one daemon thread per process, woken at once by the commit of a
  submission (``transaction.on_commit`` → ``wake_drainer``) and every
  ``CASES_INTAKE_DRAIN_INTERVAL_SECONDS`` (1 s) otherwise; the periodic job
  ``cases.intake_drain`` of ``common.scheduler`` keeps the thread alive in every server process;
- Celery (``REDIS_URL``): the task ``cases.intake_drain`` is enqueued on commit (at most one
  per second and process), and beat runs it every few seconds as a safety net.

Exactly once: a drainer claims up to a batch of due submissions in a short transaction (the
outbox pattern of notifications/dispatch.py: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
single writer on SQLite; a claim token and a lease), builds the cases outside any transaction,
then writes them in ONE transaction that also marks the submissions processed, guarded by its
claim token: a drainer whose lease expired cannot write (``LostClaim``: rolled back). A
crashed drainer's claim expires and the submissions are claimed again; nothing is lost.
A batch that fails is retried one submission at a time; a submission that keeps failing is
retried with a backoff and marked ``failed`` with its error after
``CASES_INTAKE_MAX_ATTEMPTS`` (staff see and retry it in the admin)."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicgrid.audit import context
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases import services
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import ApiKey, Category, IntakeSubmission, SubmissionStatus
from civicgrid.cases.open311.intake import IdempotencyConflict, fingerprint
from civicgrid.common.bulk import insert_rows

logger = logging.getLogger("civicgrid.cases.intake")

DRAIN_JOB = "cases.intake_drain"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def batch_size() -> int:
    return int(_setting("CASES_INTAKE_BATCH_SIZE", 200))


def lease_seconds() -> float:
    return float(_setting("CASES_INTAKE_LEASE_SECONDS", 120))


def max_attempts() -> int:
    return int(_setting("CASES_INTAKE_MAX_ATTEMPTS", 5))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600.0, 5.0 * 2 ** max(0, attempts - 1)))


# --- accepting a submission (the request path) -----------------------------------------------


def async_intake_enabled() -> bool:
    """API-key clients and Open311 are accepted-then-processed unless ``CASES_INTAKE_ASYNC``
    (env CIVICGRID_INTAKE_ASYNC) is false: then they are served synchronously as before (a
    switch back, and the benchmark's synchronous figures)."""
    value = _setting("CASES_INTAKE_ASYNC", None)
    if value is None:
        value = os.environ.get("CIVICGRID_INTAKE_ASYNC", "true")
    return str(value).strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Accepted:
    submission: IntakeSubmission
    created: bool  # False: a retry of an earlier submission (same Idempotency-Key)


def _replay(existing: IntakeSubmission, digest: str) -> Accepted:
    if existing.fingerprint and existing.fingerprint != digest:
        raise IdempotencyConflict(
            _("该 Idempotency-Key 已用于另一份不同内容的提交; 重试请发送完全相同的内容, 新的提交请换一个新的键")
        )
    return Accepted(existing, created=False)


def _by_key(key: str) -> IntakeSubmission | None:
    return next(iter(IntakeSubmission.objects.filter(idempotency_key=key).order_by()[:1]), None)


def submission_accept(
    *,
    channel: str,
    data: Mapping[str, Any],
    api_key: ApiKey | None,
    idempotency_key: str | None = None,
    register: bool | None = None,
    attributes: Mapping[str, Any] | None = None,
    media_url: str = "",
    category: Category | None = None,
) -> Accepted:
    """Validate a machine intake completely and store it as ONE pending submission (one
    INSERT in one transaction); the case is created later by the drainer. Raises what the
    synchronous intake raises for bad input (ValidationError 400, PermissionDenied 403,
    IdempotencyConflict 409), before anything is written. A retried ``idempotency_key``
    (already namespaced by the caller, as for ``case_intake``) returns the first submission."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("未知的来源渠道")})
    if channel not in services.PUBLIC_CHANNELS:
        raise PermissionDenied(_("该渠道须由工作人员登录后录入"))
    key = services._namespaced_key(None, channel, idempotency_key) if idempotency_key is not None else None
    digest = fingerprint(channel, {"data": dict(data), "attributes": dict(attributes or {}), "media_url": media_url})
    try:
        if category is None:
            category = _category_for_intake(data.get("category"))
        fields = services.intake_validate(data=data, category=category)
    except ValidationError:
        # A retry whose payload no longer validates (a category retired since) still gets
        # the submission its first call made.
        earlier = _by_key(key) if key is not None else None
        if earlier is not None:
            return _replay(earlier, digest)
        raise
    now = timezone.now()
    submission = IntakeSubmission(
        channel=channel,
        payload={
            "title": fields.title,
            "description": fields.description,
            "address": fields.address,
            "reporter_name": fields.reporter_name,
            "phone_cipher": fields.phone.cipher,
            "phone_masked": fields.phone.masked,
            "phone_digest": fields.phone.digest,
            "category_id": fields.category.pk,
            "category_code": fields.category.code,
            "priority": fields.priority,
            "lon": fields.lon,
            "lat": fields.lat,
            "language": translation.get_language() or settings.LANGUAGE_CODE,
        },
        register=register,
        attributes=dict(attributes or {}),
        media_url=media_url,
        fingerprint=digest,
        api_key=api_key,
        client_ip=context.current().ip_address,
        idempotency_key=key,
        token=secrets.token_urlsafe(18),
        available_at=now,
        created_at=now,
    )
    try:
        # One INSERT is one transaction: in autocommit it needs no BEGIN/COMMIT of its own
        # (inside a caller's transaction, a savepoint keeps a refused INSERT from spoiling it).
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            insert_rows([submission])
        transaction.on_commit(wake_drainer)
    except IntegrityError:
        earlier = _by_key(key) if key is not None else None
        if earlier is None:
            raise
        return _replay(earlier, digest)
    return Accepted(submission, created=True)


def _category_for_intake(value: Any) -> Category:
    """The category an intake names (by code or id), with the columns validation needs, in one
    raw query (the ORM's select_related query costs more to build than to run, on the hot path
    of machine intake). Unknown: the same ValidationError as ``services._category``."""
    table = connection.ops.quote_name(Category._meta.db_table)
    param: int | str
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        column, param = "id", int(value)
    elif isinstance(value, str) and value:
        column, param = "code", value
    else:
        raise ValidationError({"category": _("案件类别不存在")})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, code, name, is_active, priority, parent_id FROM {table} WHERE {column} = %s",  # noqa: S608
            [param],
        )
        row = cursor.fetchone()
    if row is None:
        raise ValidationError({"category": _("案件类别不存在")})
    return Category(id=row[0], code=row[1], name=row[2], is_active=bool(row[3]), priority=row[4], parent_id=row[5])


def expected_close(submission: IntakeSubmission, category: Category) -> datetime:
    """The closing deadline the case will get (counted from the submission's receipt)."""
    hours = category.hours_for(str(submission.payload.get("priority") or category.priority))
    return submission.created_at + timedelta(hours=hours["close"])


def submission_by_token(token: str) -> IntakeSubmission | None:
    if not token or len(token) > 40:
        return None
    return next(iter(IntakeSubmission.objects.filter(token=token).select_related("case").order_by()[:1]), None)


# --- draining ------------------------------------------------------------------------------


@dataclass
class DrainReport:
    batches: int = 0
    claimed: int = 0
    created: int = 0
    linked: int = 0
    failed: int = 0
    retried: int = 0
    lost: int = 0
    case_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def _due_q(now: datetime) -> Q:
    return Q(status=SubmissionStatus.PENDING, available_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def claim(limit: int, *, now: datetime | None = None) -> tuple[str, list[IntakeSubmission]]:
    """Claim up to ``limit`` due submissions (oldest first) for this drainer: a claim token, a
    lease, one more attempt. Returns (token, rows)."""
    now = now or timezone.now()
    token = secrets.token_hex(8)
    if not IntakeSubmission.objects.filter(_due_q(now)).exists():
        return token, []  # idle: no write transaction (SQLite's write lock) for nothing
    with transaction.atomic():
        qs = IntakeSubmission.objects.filter(_due_q(now)).order_by("available_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        # The due condition again: on SQLite (no row locks) a drainer that got there first
        # makes this update skip the row.
        IntakeSubmission.objects.filter(_due_q(now), pk__in=ids).update(
            claim_token=token, lease_until=now + timedelta(seconds=lease_seconds()), attempts=F("attempts") + 1
        )
    rows = list(IntakeSubmission.objects.filter(pk__in=ids, claim_token=token).order_by("available_at", "id"))
    return token, rows


def _retry_later(row: IntakeSubmission, token: str, error: str, now: datetime) -> str:
    """A submission that could not be processed: pending again after a backoff, or failed
    for good after ``max_attempts``. Guarded by the claim token."""
    mine = IntakeSubmission.objects.filter(pk=row.pk, claim_token=token, status=SubmissionStatus.PENDING)
    if row.attempts >= max_attempts():
        n = mine.update(status=SubmissionStatus.FAILED, error=error[:2000], lease_until=None, processed_at=now)
        return SubmissionStatus.FAILED if n else ""
    n = mine.update(error=error[:2000], lease_until=None, available_at=now + backoff(row.attempts))
    return SubmissionStatus.PENDING if n else ""


def _count(report: DrainReport, outcome: services.BatchOutcome) -> None:
    report.created += len(outcome.created)
    report.linked += len(outcome.linked)
    report.failed += len(outcome.failed)
    report.case_ids += [case.pk for _sub, case in outcome.created]


def _one_by_one(report: DrainReport, ids: list[int], token: str, now: datetime) -> None:
    for row in IntakeSubmission.objects.filter(pk__in=ids, claim_token=token, status=SubmissionStatus.PENDING):
        try:
            _count(report, services.case_intake_batch([row], claim_token=token))
        except services.LostClaim:
            report.lost += 1
        except Exception as exc:
            logger.exception("intake submission %s failed", row.pk)
            outcome = _retry_later(row, token, f"{type(exc).__name__}: {exc}", now)
            if outcome == SubmissionStatus.FAILED:
                report.failed += 1
            elif outcome == SubmissionStatus.PENDING:
                report.retried += 1


def intake_drain(*, limit: int | None = None, max_batches: int = 50) -> DrainReport:
    """Turn due submissions into cases, a batch (``CASES_INTAKE_BATCH_SIZE``) at a time, until
    none is due (at most ``max_batches``). Safe to run in many processes at once."""
    report = DrainReport()
    size = limit or batch_size()
    for _round in range(max_batches):
        now = timezone.now()
        token, rows = claim(size, now=now)
        if not rows:
            break
        report.batches += 1
        report.claimed += len(rows)
        try:
            _count(report, services.case_intake_batch(rows, claim_token=token))
        except services.LostClaim:
            _one_by_one(report, [r.pk for r in rows], token, now)
        except Exception:
            logger.exception("intake batch of %d failed; retrying one by one", len(rows))
            _one_by_one(report, [r.pk for r in rows], token, now)
        if len(rows) < size:
            break
    return report


@transaction.atomic
def submission_retry(*, actor: Any, submission: IntakeSubmission) -> IntakeSubmission:
    """Staff send a failed submission back to the drainer (audited)."""
    if submission.status != SubmissionStatus.FAILED:
        raise ValidationError(_("只有处理失败的提交可以重试"))
    now = timezone.now()
    IntakeSubmission.objects.filter(pk=submission.pk, status=SubmissionStatus.FAILED).update(
        status=SubmissionStatus.PENDING, attempts=0, available_at=now, lease_until=None, processed_at=None
    )
    audit_record(
        action=AuditAction.UPDATE,
        obj=submission,
        changes={"status": {"before": SubmissionStatus.FAILED, "after": SubmissionStatus.PENDING}},
        message=f"retry: {submission.error[:200]}",
        actor=actor,
    )
    transaction.on_commit(wake_drainer)
    submission.refresh_from_db()
    return submission


# --- waking the drainer ----------------------------------------------------------------------

_wake = threading.Event()
_thread_lock = threading.Lock()
_thread: threading.Thread | None = None


def drain_mode() -> str:
    """ "celery" with a broker (REDIS_URL). Otherwise ``CASES_INTAKE_DRAIN_THREAD`` (env
    CIVICGRID_INTAKE_DRAIN_THREAD): "true" - a drainer thread in this process; "false" - none;
    "auto" (default) - a thread in the processes that run the embedded scheduler (``civicgrid
    serve``'s workers), none elsewhere (tests, management commands: they drain explicitly)."""
    if getattr(settings, "REDIS_URL", ""):
        return "celery"
    value = _setting("CASES_INTAKE_DRAIN_THREAD", None)
    if value is None:
        value = os.environ.get("CIVICGRID_INTAKE_DRAIN_THREAD", "auto")
    choice = str(value).strip().lower()
    if choice in ("1", "true", "yes", "on"):
        return "thread"
    if choice == "auto":
        from civicgrid.common import scheduler

        runner = getattr(scheduler, "_runner", None)
        return "thread" if runner is not None and runner.running else "off"
    return "off"


def wake_drainer() -> None:
    """Called on the commit of a submission: drain it now (not at the next tick)."""
    mode = drain_mode()
    if mode == "thread":
        ensure_drainer_thread()
        _wake.set()
    elif mode == "celery" and cache.add("cases:intake_drain:queued", 1, timeout=1):
        from civicgrid.cases.tasks import intake_drain_task

        intake_drain_task.delay()


def ensure_drainer_thread() -> None:
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_drainer_loop, name="civicgrid-intake-drainer", daemon=True)
            _thread.start()


def _drainer_loop() -> None:
    interval = float(_setting("CASES_INTAKE_DRAIN_INTERVAL_SECONDS", 1.0))
    linger = float(_setting("CASES_INTAKE_DRAIN_LINGER_SECONDS", 0.25))
    while True:
        woken = _wake.wait(timeout=interval)
        _wake.clear()
        if woken and linger > 0:
            time.sleep(linger)  # let a few more submissions of the same burst arrive
        try:
            intake_drain()
        except Exception:
            logger.exception("intake drainer failed")
        finally:
            close_old_connections()


def run_drain_tick() -> dict[str, int]:
    """The periodic job: keep this process's drainer thread alive (embedded), or drain now."""
    if drain_mode() == "thread":
        ensure_drainer_thread()
        return {}
    return intake_drain().as_dict()
