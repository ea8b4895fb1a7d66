"""Periodic jobs for the embedded default (no Redis): a small registry and one daemon thread.

Apps register callables at import time (e.g. in their AppConfig.ready())::

    from civicgrid.common.scheduler import register_periodic_job
    register_periodic_job("cases.deadline_sweep", sweep_deadlines, interval_seconds=60)

``civicgrid serve`` calls :func:`start_periodic_jobs` once per server process. With
``REDIS_URL`` set, production runs the same callables from Celery beat instead and
``start_periodic_jobs`` does nothing (see ``embedded_scheduler_enabled``).

The cases issue registers its deadline sweep here (warn, mark overdue, escalate). Jobs must
be idempotent: with several gunicorn workers each worker runs its own scheduler thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    func: Callable[[], object]
    interval_seconds: float
    run_at_start: bool = False


_registry: dict[str, PeriodicJob] = {}
_registry_lock = threading.Lock()
_runner: JobRunner | None = None


def register_periodic_job(
    name: str, func: Callable[[], object], *, interval_seconds: float, run_at_start: bool = False
) -> PeriodicJob:
    """Register (or replace) a job under ``name``; it runs every ``interval_seconds``."""
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    job = PeriodicJob(name=name, func=func, interval_seconds=interval_seconds, run_at_start=run_at_start)
    with _registry_lock:
        _registry[name] = job
    return job


def unregister_periodic_job(name: str) -> None:
    with _registry_lock:
        _registry.pop(name, None)


def registered_jobs() -> list[PeriodicJob]:
    with _registry_lock:
        return list(_registry.values())


class JobRunner:
    """Runs the registered jobs in one daemon thread. A failing job is logged and runs
    again at its next time; it never stops the others. The registry is re-read on every
    tick, so jobs registered after start are picked up."""

    def __init__(self, tick_seconds: float = 1.0) -> None:
        self.tick_seconds = tick_seconds
        self._stop = threading.Event()
        self._next_run: dict[str, float] = {}
        self.thread = threading.Thread(target=self._loop, name="civicgrid-periodic-jobs", daemon=True)

    def start(self) -> JobRunner:
        self.thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.thread.is_alive() and not self._stop.is_set()

    def run_due(self, now: float | None = None) -> list[str]:
        """Run every job that is due; returns the names that ran."""
        now = time.monotonic() if now is None else now
        ran: list[str] = []
        for job in registered_jobs():
            due = self._next_run.get(job.name)
            if due is None:
                due = now if job.run_at_start else now + job.interval_seconds
                self._next_run[job.name] = due
            if now < due:
                continue
            self._next_run[job.name] = now + job.interval_seconds
            try:
                job.func()
            except Exception:
                logger.exception("periodic job %s failed", job.name)
            ran.append(job.name)
        return ran

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                if self.run_due():
                    # This thread lives outside the request cycle: drop broken or
                    # expired connections the way a request's end would.
                    close_old_connections()
                jobs = registered_jobs()
                wait = min([self.tick_seconds, *(j.interval_seconds for j in jobs)])
                self._stop.wait(max(0.01, wait))
        finally:
            connections.close_all()  # this thread's connections only


def embedded_scheduler_enabled() -> bool:
    """The embedded scheduler runs unless a Redis broker (Celery beat) is configured, or
    CIVICGRID_EMBEDDED_SCHEDULER is set to false."""
    return bool(getattr(settings, "EMBEDDED_SCHEDULER", True)) and not getattr(settings, "REDIS_URL", "")


def start_periodic_jobs(*, force: bool = False) -> JobRunner | None:
    """Start the daemon thread that runs registered periodic callables (once per
    process; later calls return the same runner). Returns None when the embedded
    scheduler is disabled (production with Redis runs the jobs from Celery beat)."""
    global _runner
    if not (force or embedded_scheduler_enabled()):
        return None
    with _registry_lock:
        if _runner is None or not _runner.thread.is_alive():
            _runner = JobRunner().start()
        return _runner


def stop_periodic_jobs() -> None:
    global _runner
    with _registry_lock:
        runner, _runner = _runner, None
    if runner is not None:
        runner.stop()
