"""The offline sweep: a Celery task (beat schedule in settings when REDIS_URL is set) and
the same callable registered with the embedded scheduler of ``civicgrid serve``."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from civicgrid.cameras import conf

OFFLINE_SWEEP_JOB = "cameras.offline_sweep"


def run_offline_sweep() -> dict[str, int]:
    from civicgrid.cameras.services import camera_offline_sweep

    return camera_offline_sweep().as_dict()


@shared_task(name=OFFLINE_SWEEP_JOB)
def offline_sweep_task() -> dict[str, Any]:
    return run_offline_sweep()


def register_periodic_jobs() -> None:
    from civicgrid.common.scheduler import register_periodic_job

    register_periodic_job(OFFLINE_SWEEP_JOB, run_offline_sweep, interval_seconds=float(conf.sweep_interval_seconds()))


@shared_task(name="cameras.run_import_job")
def run_import_job_task(job_id: int, step: str) -> int:
    from civicgrid.cameras.jobs import run_import_job

    return run_import_job(job_id, step).pk
