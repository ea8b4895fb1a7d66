"""Periodic work of the case engine: a Celery task (production, beat schedule in settings
when REDIS_URL is set) and the same callable registered with the embedded scheduler that
``civicgrid serve`` runs in-process."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

SWEEP_JOB = "cases.deadline_sweep"
AGGREGATES_JOB = "cases.aggregates_refresh"
INTAKE_DRAIN_JOB = "cases.intake_drain"


def run_deadline_sweep() -> dict[str, int]:
    from civicgrid.cases.deadlines import deadline_sweep

    return deadline_sweep().as_dict()


@shared_task(name=SWEEP_JOB)
def deadline_sweep_task() -> dict[str, Any]:
    return run_deadline_sweep()


def run_aggregates_refresh() -> dict[str, Any]:
    """Refresh the metrics aggregates (the days changed since the watermark; everything
    once a day, at the first run after CASES_AGGREGATE_FULL_HOUR local time)."""
    from django.utils import timezone

    from civicgrid.cases.aggregates import aggregate_state, case_aggregates_refresh

    state = aggregate_state()
    now = timezone.localtime()
    hour = int(getattr(settings, "CASES_AGGREGATE_FULL_HOUR", 3))
    full = state.full_refreshed_at is not None and (
        now.hour >= hour and timezone.localtime(state.full_refreshed_at).date() < now.date()
    )
    return case_aggregates_refresh(full=full).as_dict()


@shared_task(name=AGGREGATES_JOB)
def aggregates_refresh_task() -> dict[str, Any]:
    return run_aggregates_refresh()


def run_intake_drain() -> dict[str, int]:
    from civicgrid.cases.submissions import intake_drain

    return intake_drain().as_dict()


@shared_task(name=INTAKE_DRAIN_JOB)
def intake_drain_task() -> dict[str, Any]:
    """Accepted machine submissions -> cases (enqueued on the commit of a submission; beat
    runs it as a safety net)."""
    return run_intake_drain()


def run_intake_drain_tick() -> dict[str, int]:
    from civicgrid.cases.submissions import run_drain_tick

    return run_drain_tick()


def register_periodic_jobs() -> None:
    from civicgrid.common.scheduler import register_periodic_job

    register_periodic_job(
        SWEEP_JOB,
        run_deadline_sweep,
        interval_seconds=float(getattr(settings, "CASES_SWEEP_INTERVAL_SECONDS", 60)),
    )
    register_periodic_job(
        AGGREGATES_JOB,
        run_aggregates_refresh,
        interval_seconds=float(getattr(settings, "CASES_AGGREGATE_INTERVAL_SECONDS", 60)),
    )
    # Accepted machine submissions: keeps this process's drainer thread alive (it drains
    # at once on each submission's commit, and every second otherwise).
    register_periodic_job(
        INTAKE_DRAIN_JOB,
        run_intake_drain_tick,
        interval_seconds=float(getattr(settings, "CASES_INTAKE_DRAIN_INTERVAL_SECONDS", 1.0)),
    )
