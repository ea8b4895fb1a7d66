"""The dashboards' case fixture (cases over the sample district, frozen at 2026-03-18 15:00) and
its raw recount, reused: the reports must give the very figures the wall screen gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from civicgrid.dashboards.tests.conftest import Fixture, frozen, fx  # noqa: F401 - fixtures

SITE = "https://grid.example.cn"


@pytest.fixture(autouse=True)
def _reports_settings(settings: Any, tmp_path: Path) -> None:
    settings.REPORTS_RUNNER = "inline"
    settings.REPORTS_PRIVATE_ROOT = str(tmp_path / "reports")
    settings.SITE_URL = SITE
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
