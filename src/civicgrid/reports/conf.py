"""Settings of the reports app, each with its default (and environment override) here, so the
project settings need no block of their own. Override any of them in settings.py."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def _int(name: str, env: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is not None:
        return int(value)
    raw = os.environ.get(env, "")
    return int(raw) if raw.strip() else default


def site_url() -> str:
    """The platform's public address (scheme + host, no trailing slash): the links on every
    figure of a report point there, because a downloaded file has no page to be relative to.
    ``SITE_URL`` setting or ``CIVICGRID_SITE_URL``; default http://localhost:8000."""
    value = getattr(settings, "SITE_URL", None) or os.environ.get("CIVICGRID_SITE_URL", "") or "http://localhost:8000"
    return str(value).rstrip("/")


def private_root() -> Path:
    """Where generated files live: OUTSIDE ``MEDIA_ROOT`` (which /media/ serves to anyone),
    served only by the scoped download view. ``REPORTS_PRIVATE_ROOT`` or
    ``CIVICGRID_REPORTS_ROOT``; default <var>/private-media/reports."""
    value = getattr(settings, "REPORTS_PRIVATE_ROOT", None) or os.environ.get("CIVICGRID_REPORTS_ROOT", "")
    if value:
        return Path(value)
    base = getattr(settings, "CASES_PHOTO_PRIVATE_ROOT", None) or (Path(settings.MEDIA_ROOT).parent / "private-media")
    return Path(base) / "reports"


def retention_days() -> int:
    """Generated reports (and their files) older than this many days are deleted by the
    periodic job; 0 keeps them for ever. ``REPORTS_RETENTION_DAYS`` / ``CIVICGRID_REPORTS_RETENTION_DAYS``."""
    return _int("REPORTS_RETENTION_DAYS", "CIVICGRID_REPORTS_RETENTION_DAYS", 730)


def schedule_interval_seconds() -> int:
    """How often the embedded scheduler looks for due schedules (Celery beat: the same task)."""
    return _int("REPORTS_SCHEDULE_INTERVAL_SECONDS", "CIVICGRID_REPORTS_SCHEDULE_SECONDS", 900)


def runner() -> str:
    """Where a generation runs: "celery" (a worker; production with Redis), "thread" (a
    thread of the embedded server) or "inline" (in the request; tests)."""
    configured = getattr(settings, "REPORTS_RUNNER", "") or os.environ.get("CIVICGRID_REPORTS_RUNNER", "")
    if configured:
        return str(configured)
    return "thread" if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True) else "celery"


def overdue_rows_max() -> int:
    """At most this many overdue cases are listed in the Excel sheet (the count is exact)."""
    return _int("REPORTS_OVERDUE_ROWS_MAX", "CIVICGRID_REPORTS_OVERDUE_ROWS_MAX", 50000)
