"""The embedded periodic-job registry and its daemon thread (common.scheduler)."""

from __future__ import annotations

import threading

import pytest
from django.test import override_settings

from civicgrid.common import scheduler


@pytest.fixture(autouse=True)
def clean_registry():
    saved = dict(scheduler._registry)
    scheduler._registry.clear()
    yield
    scheduler.stop_periodic_jobs()
    scheduler._registry.clear()
    scheduler._registry.update(saved)


def test_run_due_respects_intervals():
    calls: list[str] = []
    scheduler.register_periodic_job("a", lambda: calls.append("a"), interval_seconds=10)
    scheduler.register_periodic_job("b", lambda: calls.append("b"), interval_seconds=5, run_at_start=True)
    runner = scheduler.JobRunner()
    assert runner.run_due(now=100.0) == ["b"]
    assert runner.run_due(now=104.0) == []
    assert runner.run_due(now=105.0) == ["b"]
    assert runner.run_due(now=110.0) == ["a", "b"]
    assert calls == ["b", "b", "a", "b"]


def test_a_failing_job_does_not_stop_the_others():
    calls: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    scheduler.register_periodic_job("boom", boom, interval_seconds=1, run_at_start=True)
    scheduler.register_periodic_job("ok", lambda: calls.append("ok"), interval_seconds=1, run_at_start=True)
    runner = scheduler.JobRunner()
    assert runner.run_due(now=0.0) == ["boom", "ok"]
    assert runner.run_due(now=1.0) == ["boom", "ok"]
    assert calls == ["ok", "ok"]


def test_start_periodic_jobs_runs_registered_jobs_in_a_daemon_thread():
    ran = threading.Event()
    seen: list[str] = []

    def job() -> None:
        seen.append(threading.current_thread().name)
        ran.set()

    scheduler.register_periodic_job("test.job", job, interval_seconds=0.05)
    with override_settings(REDIS_URL=""):
        runner = scheduler.start_periodic_jobs()
    assert runner is not None and runner.thread.daemon
    assert scheduler.start_periodic_jobs(force=True) is runner  # once per process
    assert ran.wait(timeout=30)
    assert seen[0] == "civicgrid-periodic-jobs"
    scheduler.stop_periodic_jobs()
    assert not runner.thread.is_alive()


def test_jobs_registered_after_start_are_picked_up():
    ran = threading.Event()
    runner = scheduler.start_periodic_jobs(force=True)
    assert runner is not None
    scheduler.register_periodic_job("late", ran.set, interval_seconds=0.05)
    assert ran.wait(timeout=30)


def test_disabled_with_redis_or_by_setting():
    with override_settings(REDIS_URL="redis://localhost:6379/0"):
        assert scheduler.start_periodic_jobs() is None
    with override_settings(REDIS_URL="", EMBEDDED_SCHEDULER=False):
        assert scheduler.start_periodic_jobs() is None


def test_bad_interval_is_refused():
    with pytest.raises(ValueError):
        scheduler.register_periodic_job("bad", lambda: None, interval_seconds=0)
