"""The auto-close job: a Celery task (beat schedule in settings when REDIS_URL is set) and the
same callable registered with the embedded scheduler."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

AUTOCLOSE_JOB = "patrols.autoclose_stale"


def run_autoclose() -> int:
    from civicgrid.patrols.services import patrol_autoclose_stale

    return patrol_autoclose_stale()


@shared_task(name=AUTOCLOSE_JOB)
def autoclose_task() -> int:
    return run_autoclose()


def register_periodic_jobs() -> None:
    from civicgrid.common.scheduler import register_periodic_job

    register_periodic_job(
        AUTOCLOSE_JOB,
        run_autoclose,
        interval_seconds=float(getattr(settings, "PATROLS_AUTOCLOSE_INTERVAL_SECONDS", 300)),
    )
