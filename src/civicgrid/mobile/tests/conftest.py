"""Fixtures of the phone app's tests: the case world of the cases tests (a grid chief who gets
cases dispatched to them) and media folders of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.testing.factories import SampleDistrict


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(district: SampleDistrict) -> World:
    return build_world(district)
