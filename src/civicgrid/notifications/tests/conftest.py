from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.notifications.gateways import clear_gateway_cache
from civicgrid.notifications.tests import fakes
from civicgrid.testing.factories import SampleDistrict


@pytest.fixture(autouse=True)
def recording_gateways(settings: Any) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    path = "civicgrid.notifications.tests.fakes.RecordingGateway"
    settings.NOTIFICATION_GATEWAYS = {"sms": path, "wechat": path}
    clear_gateway_cache()
    fakes.SENT.clear()
    fakes.FAIL_NEXT.clear()
    yield
    clear_gateway_cache()


@pytest.fixture
def world(district: SampleDistrict) -> World:
    return build_world(district)
