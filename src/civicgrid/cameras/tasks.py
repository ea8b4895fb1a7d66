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
