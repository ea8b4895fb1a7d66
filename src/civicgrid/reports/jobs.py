"""Where a generation runs (``conf.runner()``): a Celery worker (production with Redis), a thread
of the embedded server, or inline (tests). The page polls the row; live progress is in the cache."""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import cache
from django.db import close_old_connections, connection, transaction

from civicgrid.reports import conf
from civicgrid.reports.models import Report, ReportStatus
from civicgrid.reports.services import progress_key, report_run


def start_report(report_id: int) -> None:
    """Run the report after the current transaction commits (a rolled-back request starts nothing)."""
    mode = conf.runner()
    if mode == "inline":
        transaction.on_commit(lambda: report_run(report_id))
    elif mode == "celery":
        from civicgrid.reports.tasks import generate_report_task

        transaction.on_commit(lambda: generate_report_task.delay(report_id))
    else:
        thread = threading.Thread(target=_thread_main, args=(report_id,), name=f"report-{report_id}", daemon=True)
        transaction.on_commit(thread.start)


def _thread_main(report_id: int) -> None:
    close_old_connections()
    try:
        report_run(report_id)
    finally:
        connection.close()


def report_progress(report: Report) -> dict[str, Any]:
    """{"done", "total", "percent"} for the page's progress bar."""
    if report.status == ReportStatus.DONE:
        return {"done": 1, "total": 1, "percent": 100}
    if report.status == ReportStatus.FAILED:
        return {"done": 0, "total": 1, "percent": 100}
    live = cache.get(progress_key(report.pk))
    if live:
        total = max(int(live["total"]), 1)
        return {**live, "percent": min(99, 100 * int(live["done"]) // total)}
    return {"done": 0, "total": 0, "percent": 0}
