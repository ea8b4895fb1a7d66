"""Camera import jobs for the import page (the pattern of ``people.jobs``).

The page uploads a file and a ``CameraImport`` row is created; the dry run (every row
checked, the preview and the errors stored on the row) runs outside the request: in a
Celery worker when Redis is configured, otherwise in a thread of the embedded server
(``conf.import_runner()``: "celery", "thread" or "inline" for tests). The page polls the
row with htmx. When the uploader confirms a clean preview, the same file is checked again
and written, all or nothing, by the same runner. Live progress goes through the cache,
because the write transaction hides row updates from other connections until it commits.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.scope import user_scope_code
from civicgrid.audit import context
from civicgrid.cameras import conf
from civicgrid.cameras.importing import (
    MAX_FILE_BYTES,
    ImportResult,
    camera_import_check,
    camera_import_excel,
    require_import,
)
from civicgrid.cameras.models import CameraImport
from civicgrid.common.errors import Conflict

logger = logging.getLogger(__name__)
PROGRESS_TTL = 6 * 3600
CHECK = "check"
COMMIT = "commit"

Status = CameraImport.Status


def _key(job_id: int) -> str:
    return f"civicgrid:camera-import:{job_id}"


def camera_import_start(*, actor: Any, upload: UploadedFile[Any]) -> CameraImport:
    """Store the upload, create the job, and start its dry run after the request's transaction."""
    require_import(actor)
    name = str(upload.name or "import.xlsx")
    if not name.lower().endswith(".xlsx"):
        raise ValidationError({"file": [_("请上传 .xlsx 格式的 Excel 文件。")]})
    if upload.size and upload.size > MAX_FILE_BYTES:
        raise ValidationError({"file": [_("文件不能超过 %(n)d MB。") % {"n": MAX_FILE_BYTES // (1024 * 1024)}]})
    job = CameraImport(created_by=actor, area_code=user_scope_code(actor) or "", file_name=name[:200])
    job.file.save(name, upload, save=False)
    job.save()
    _start(job.pk, CHECK)
    job.refresh_from_db()
    return job


def camera_import_commit(*, actor: Any, job: CameraImport) -> CameraImport:
    """The uploader confirms a clean preview: the file is checked again and written (all or
    nothing). A second confirmation, or one of a job that is not ready, is a 409."""
    require_import(actor)
    if job.created_by_id != getattr(actor, "pk", None):
        raise Conflict(_("只有上传该文件的人可以确认导入。"))
    claimed = CameraImport.objects.filter(pk=job.pk, status=Status.READY).update(status=Status.WRITING)
    if not claimed:
        raise Conflict(_("该导入已确认或未通过校验, 不能再次确认。"))
    _start(job.pk, COMMIT)
    job.refresh_from_db()
    return job


def _start(job_id: int, step: str) -> None:
    mode = conf.import_runner()
    if mode == "inline":
        run_import_job(job_id, step)
    elif mode == "celery":
        from civicgrid.cameras.tasks import run_import_job_task

        transaction.on_commit(lambda: run_import_job_task.delay(job_id, step))
    else:
        thread = threading.Thread(target=_thread_main, args=(job_id, step), name=f"camera-import-{job_id}", daemon=True)
        transaction.on_commit(thread.start)


def _thread_main(job_id: int, step: str) -> None:
    close_old_connections()
    try:
        run_import_job(job_id, step)
    finally:
        connection.close()


def run_import_job(job_id: int, step: str) -> CameraImport:
    """Run the dry run (``check``) or the write (``commit``) of one job."""
    job = CameraImport.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    if actor is None:
        raise ValueError("A camera import job needs its user")

    def progress(phase: str, done: int, total: int) -> None:
        cache.set(_key(job_id), {"phase": phase, "done": done, "total": total}, PROGRESS_TTL)

    if step == CHECK:
        CameraImport.objects.filter(pk=job_id).update(status=Status.VALIDATING)
    result: ImportResult
    try:
        with context.bind(user=actor), job.file.open("rb") as handle:
            run = camera_import_check if step == CHECK else camera_import_excel
            result = run(actor=actor, file=handle, file_name=job.file_name, progress=progress)
    except ValidationError as exc:  # the file itself: unreadable, wrong headers, too many rows
        result = ImportResult(ok=False, file_name=job.file_name)
        for message in exc.messages:
            result.error(1, _("文件"), message)
    except Exception as exc:
        logger.exception("camera import job %s (%s) failed", job_id, step)
        CameraImport.objects.filter(pk=job_id).update(
            status=Status.FAILED, message=str(exc)[:500], finished_at=timezone.now()
        )
        cache.delete(_key(job_id))
        raise
    now = timezone.now()
    fields: dict[str, Any] = {
        "total_rows": result.total_rows,
        "error_count": result.error_count,
        "errors": [e.as_dict() for e in result.errors],
    }
    if not result.ok:
        fields.update(status=Status.INVALID, preview=[], finished_at=now)
    elif step == CHECK:
        fields.update(status=Status.READY, preview=[row.preview() for row in result.rows], checked_at=now)
    else:
        fields.update(status=Status.DONE, created_count=result.created, finished_at=now)
    CameraImport.objects.filter(pk=job_id).update(**fields)
    cache.delete(_key(job_id))
    job.refresh_from_db()
    return job


def import_progress(job: CameraImport) -> dict[str, Any]:
    """{"phase", "done", "total", "percent"} for the page's progress bar: the dry run fills
    the bar; a confirmed import checks again (first half) and writes (second half)."""
    if not job.is_running:
        return {"phase": "done", "done": job.total_rows, "total": job.total_rows, "percent": 100}
    live = cache.get(_key(job.pk))
    if not live:
        return {"phase": "pending", "done": 0, "total": 0, "percent": 0}
    total = max(int(live["total"]), 1)
    share = 100 * min(int(live["done"]), total) // total
    if job.status == Status.WRITING:
        share = share // 2 + (50 if live["phase"] == "write" else 0)
    return {**live, "percent": share}


__all__ = ["camera_import_commit", "camera_import_start", "import_progress", "run_import_job"]
