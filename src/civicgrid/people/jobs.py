"""Background import jobs for the import page.

The page uploads a file, an ImportJob row is created, and the import runs outside the
request: in a Celery worker when Redis is configured, otherwise in a thread of the
embedded server (``PEOPLE_IMPORT_RUNNER``: "celery", "thread" or "inline" for tests).
The page polls the job with htmx. Live progress goes through the cache, because the one
write transaction of an import hides row updates from other connections until it commits.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import Capability
from civicgrid.accounts.scope import user_scope_code
from civicgrid.audit import context
from civicgrid.people.importing import people_import_excel
from civicgrid.people.models import ImportJob
from civicgrid.people.services import _require

logger = logging.getLogger(__name__)
PROGRESS_TTL = 6 * 3600


def _key(job_id: int) -> str:
    return f"civicgrid:people-import:{job_id}"


def runner() -> str:
    configured = getattr(settings, "PEOPLE_IMPORT_RUNNER", "")
    if configured:
        return str(configured)
    return "thread" if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True) else "celery"


def import_job_start(*, actor: Any, upload: UploadedFile[Any]) -> ImportJob:
    """Store the upload, create the job, and start it after the request's transaction."""
    _require(actor, Capability.IMPORT_PEOPLE)
    name = str(upload.name or "import.xlsx")
    if not name.lower().endswith(".xlsx"):
        from django.core.exceptions import ValidationError

        raise ValidationError({"file": [_("请上传 .xlsx 格式的 Excel 文件。")]})
    job = ImportJob(created_by=actor, area_code=user_scope_code(actor) or "", file_name=name[:200])
    job.file.save(name, upload, save=False)
    job.save()
    mode = runner()
    if mode == "inline":
        run_import_job(job.pk)
    elif mode == "celery":
        from civicgrid.people.tasks import run_import_job_task

        transaction.on_commit(lambda: run_import_job_task.delay(job.pk))
    else:
        thread = threading.Thread(target=_thread_main, args=(job.pk,), name=f"people-import-{job.pk}", daemon=True)
        transaction.on_commit(thread.start)
    job.refresh_from_db()
    return job


def _thread_main(job_id: int) -> None:
    close_old_connections()
    try:
        run_import_job(job_id)
    finally:
        connection.close()


def run_import_job(job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by if job.created_by_id else None
    if actor is None:
        raise ValueError("An import job needs its user")
    state: dict[str, Any] = {"phase": ""}

    def progress(phase: str, done: int, total: int) -> None:
        cache.set(_key(job_id), {"phase": phase, "done": done, "total": total}, PROGRESS_TTL)
        if phase != state["phase"]:
            state["phase"] = phase
            status = ImportJob.Status.VALIDATING if phase == "validate" else ImportJob.Status.WRITING
            ImportJob.objects.filter(pk=job_id).update(status=status, total_rows=total)

    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.VALIDATING)
    try:
        with context.bind(user=actor), job.file.open("rb") as handle:
            result = people_import_excel(actor=actor, file=handle, progress=progress, file_name=job.file_name)
    except Exception as exc:
        logger.exception("people import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, message=str(exc)[:500], finished_at=timezone.now()
        )
        cache.delete(_key(job_id))
        raise
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE if result.ok else ImportJob.Status.INVALID,
        total_rows=result.total_rows,
        processed_rows=result.total_rows if result.ok else 0,
        created_count=result.created,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        error_count=result.error_count,
        errors=[e.as_dict() for e in result.errors],
        finished_at=timezone.now(),
    )
    cache.delete(_key(job_id))
    job.refresh_from_db()
    return job


def import_job_progress(job: ImportJob) -> dict[str, Any]:
    """{"phase", "done", "total", "percent"} for the page's progress bar."""
    live = cache.get(_key(job.pk)) if not job.is_finished else None
    if live:
        total = max(int(live["total"]), 1)
        # Validation is the first half of the bar, writing the second.
        half = 50 if live["phase"] == "validate" else 100
        base = 0 if live["phase"] == "validate" else 50
        percent = base + (half - base) * min(int(live["done"]), total) // total
        return {**live, "percent": percent}
    if job.is_finished:
        return {"phase": "done", "done": job.total_rows, "total": job.total_rows, "percent": 100}
    return {"phase": "pending", "done": 0, "total": 0, "percent": 0}


__all__ = ["import_job_progress", "import_job_start", "run_import_job", "runner"]
