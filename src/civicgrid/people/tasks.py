"""Celery tasks of the people app (production: Redis broker)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="people.run_import_job")
def run_import_job_task(job_id: int) -> int:
    from civicgrid.people.jobs import run_import_job

    return run_import_job(job_id).pk
