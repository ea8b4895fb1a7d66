"""Outbox delivery: a Celery task (production, beat schedule when REDIS_URL is set) and the
same callable registered with the embedded scheduler that ``civicgrid serve`` runs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

DELIVER_JOB = "notifications.deliver_pending"


def run_delivery() -> dict[str, int]:
    from civicgrid.notifications.dispatch import deliver_pending

    total: dict[str, int] = {}
    batch = int(getattr(settings, "NOTIFICATIONS_BATCH", 100))
    for _round in range(int(getattr(settings, "NOTIFICATIONS_MAX_BATCHES_PER_RUN", 10))):
        report = deliver_pending(batch)
        for k, v in report.as_dict().items():
            total[k] = total.get(k, 0) + v
        if report.claimed < batch:
            break
    return total


@shared_task(name=DELIVER_JOB)
def deliver_pending_task() -> dict[str, Any]:
    return run_delivery()


def register_periodic_jobs() -> None:
    from civicgrid.common.scheduler import register_periodic_job

    register_periodic_job(
        DELIVER_JOB,
        run_delivery,
        interval_seconds=float(getattr(settings, "NOTIFICATIONS_DELIVER_INTERVAL_SECONDS", 10)),
    )
