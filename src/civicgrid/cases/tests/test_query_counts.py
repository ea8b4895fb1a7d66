"""Hot case pages cost the same number of queries with 3 rows as with 30 (no N+1): every
inbox, the case page with a long timeline by many actors, the hotline console and its
caller-history panel, and the inbox API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.cases.enums import CaseAction
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.selectors import INBOXES
from civicgrid.cases.tests.conftest import World
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db
PHONE = "13800138000"


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _count(request: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200
    return len(captured.captured_queries)


def _same_cost(request: Callable[[], Any], grow: Callable[[], object], most: int) -> None:
    request()  # warm the session, the locate index and the caches
    few = _count(request)
    assert few <= most
    grow()
    many = _count(request)
    assert many == few, f"{few} queries with few rows, {many} with many"


def _cases(world: World, n: int, start: int = 0) -> list[Case]:
    return [
        world.intake(title=f"案件{i}", idempotency_key=f"qc{i}", grid=world.d.grids[i % 8]) for i in range(start, n)
    ]


@pytest.mark.parametrize("box", INBOXES)
def test_every_inbox_costs_the_same_with_3_or_30_cases(world: World, box: str) -> None:
    _cases(world, 3)
    client = _client(world.operator)
    _same_cost(lambda: client.get(reverse("cases:inbox"), {"box": box}), lambda: _cases(world, 30, 3), 20)


def test_the_inbox_api_costs_the_same_with_3_or_30_cases(world: World) -> None:
    _cases(world, 3)
    client = _client(world.operator)
    _same_cost(lambda: client.get("/api/cases/inbox/to_sign_for"), lambda: _cases(world, 30, 3), 10)


def test_the_case_page_costs_the_same_with_a_long_timeline(world: World) -> None:
    case = _cases(world, 1)[0]

    def events(n: int) -> None:
        now = timezone.now()
        actors = [make_user(Role.COMMUNITY_WORKER, world.d.communities[0], username=f"qc-actor{i}") for i in range(n)]
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case=case,
                action=CaseAction.COMMENT,
                is_transition=False,
                actor=actor,
                actor_label=actor.username,
                note=f"说明{i}",
                area_code=case.area_code,
                occurred_at=now,
            )
            for i, actor in enumerate(actors)
        )

    events(2)
    client = _client(world.operator)
    url = reverse("cases:detail", args=[case.pk])
    _same_cost(lambda: client.get(url), lambda: events(28), 40)
    assert client.get(url).content.decode().count("说明") >= 30


def test_the_hotline_console_and_the_caller_history_cost_the_same(world: World) -> None:
    _cases(world, 3)
    client = _client(world.operator)
    _same_cost(lambda: client.get(reverse("cases:console")), lambda: _cases(world, 30, 3), 25)
    panel = reverse("cases:console_caller")
    _same_cost(lambda: client.post(panel, {"reporter_phone": PHONE}), lambda: _cases(world, 45, 30), 10)
    assert client.post(panel, {"reporter_phone": PHONE}).content.decode().count("/cases/") >= 20
