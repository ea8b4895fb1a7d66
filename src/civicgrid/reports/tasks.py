"""Celery tasks of the reports app (production, Redis) and the periodic job registered with the
embedded scheduler (``civicgrid serve``); the beat entry is in settings (when REDIS_URL is set)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

SCHEDULES_JOB = "reports.run_schedules"


def run_schedules() -> dict[str, int]:
    from civicgrid.reports.services import schedules_run

    return schedules_run().as_dict()


@shared_task(name=SCHEDULES_JOB)
def run_schedules_task() -> dict[str, Any]:
    return run_schedules()


@shared_task(name="reports.generate")
def generate_report_task(report_id: int) -> bool:
    from civicgrid.reports.services import report_run

    return report_run(report_id).ok


def register_periodic_jobs() -> None:
    from civicgrid.common.scheduler import register_periodic_job
    from civicgrid.reports.conf import schedule_interval_seconds

    register_periodic_job(SCHEDULES_JOB, run_schedules, interval_seconds=float(schedule_interval_seconds()))
