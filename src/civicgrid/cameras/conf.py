"""Settings of the camera app, each with its default (and environment override) here, so
the project settings need no block of their own. Override any of them in settings.py."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, env: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is not None:
        return int(value)
    raw = os.environ.get(env, "")
    return int(raw) if raw.strip() else default


def offline_after_minutes() -> int:
    """A camera without a heartbeat for this long is offline (shown at once, marked by the sweep)."""
    return _int("CAMERAS_OFFLINE_AFTER_MINUTES", "CIVICGRID_CAMERAS_OFFLINE_MINUTES", 10)


def sweep_interval_seconds() -> int:
    return _int("CAMERAS_SWEEP_INTERVAL_SECONDS", "CIVICGRID_CAMERAS_SWEEP_SECONDS", 60)


def default_suppression_minutes() -> int:
    return _int("CAMERAS_DEFAULT_SUPPRESSION_MINUTES", "CIVICGRID_CAMERAS_SUPPRESSION_MINUTES", 30)


def max_alert_age_hours() -> int:
    """An alert that happened longer ago than this is refused (400): a platform's backlog
    replayed days later should not open cases."""
    return _int("CAMERAS_MAX_ALERT_AGE_HOURS", "CIVICGRID_CAMERAS_MAX_ALERT_AGE_HOURS", 24)


def clock_skew_seconds() -> int:
    """An alert may be timed this far in the future (the platform's clock runs ahead)."""
    return _int("CAMERAS_CLOCK_SKEW_SECONDS", "CIVICGRID_CAMERAS_CLOCK_SKEW_SECONDS", 300)


def heartbeat_max_batch() -> int:
    return _int("CAMERAS_HEARTBEAT_MAX_BATCH", "CIVICGRID_CAMERAS_HEARTBEAT_MAX_BATCH", 1000)


def max_request_bytes() -> int:
    """Largest alert request: the photo limit plus room for base64 and the JSON around it."""
    return int(settings.CASES_PHOTO_MAX_BYTES) * 4 // 3 + 64 * 1024


def import_runner() -> str:
    """Where a camera import (its check and its write) runs: "celery" (a worker; production
    with Redis), "thread" (a thread of the embedded server) or "inline" (in the request; tests).
    ``CAMERAS_IMPORT_RUNNER`` / ``CIVICGRID_CAMERAS_IMPORT_RUNNER``."""
    configured = getattr(settings, "CAMERAS_IMPORT_RUNNER", "") or os.environ.get("CIVICGRID_CAMERAS_IMPORT_RUNNER", "")
    if configured:
        return str(configured)
    return "thread" if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True) else "celery"


def import_max_rows() -> int:
    """At most this many cameras in one Excel file."""
    return _int("CAMERAS_IMPORT_MAX_ROWS", "CIVICGRID_CAMERAS_IMPORT_MAX_ROWS", 5000)
