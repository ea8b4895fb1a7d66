"""Periodic work of the case engine: a Celery task (production, beat schedule in settings
when REDIS_URL is set) and the same callable registered with the embedded scheduler that
``civicgrid serve`` runs in-process."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

SWEEP_JOB = "cases.deadline_sweep"


def run_deadline_sweep() -> dict[str, int]:
    from civicgrid.cases.deadlines import deadline_sweep

    return deadline_sweep().as_dict()


@shared_task(name=SWEEP_JOB)
def deadline_sweep_task() -> dict[str, Any]:
    return run_deadline_sweep()


def register_periodic_jobs() -> None:
    from civicgrid.common.scheduler import register_periodic_job

    register_periodic_job(
        SWEEP_JOB,
        run_deadline_sweep,
        interval_seconds=float(getattr(settings, "CASES_SWEEP_INTERVAL_SECONDS", 60)),
    )
