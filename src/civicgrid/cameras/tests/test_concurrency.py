"""Two alerts of one camera at the same moment open one case (PostgreSQL: real concurrent
transactions; SQLite's IMMEDIATE transactions serialise writers by design)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from civicgrid.cameras import services
from civicgrid.cameras.enums import AlertOutcome
from civicgrid.cameras.models import CameraAlert, CameraCaseLink
from civicgrid.cameras.services import AlertIn
from civicgrid.cameras.tests.conftest import make_cams
from civicgrid.cases.models import Case, CaseEvent, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.testing.factories import build_sample_district

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL"),
]


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = calls[i]()
        except Exception as exc:  # reported by the assertion below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture(autouse=True)
def catalogue() -> None:
    """A transactional test case flushes the tables afterwards, the seeded categories too."""
    seed_categories(Category)


def test_concurrent_alerts_open_one_case() -> None:
    cams = make_cams(build_sample_district())
    now = timezone.now()

    def alert(n: int) -> Callable[[], Any]:
        data = AlertIn(delivery_id=f"c-{n}", camera_code="CAM-0001", event_type="illegal_parking", occurred_at=now)
        return lambda: services.alert_receive(source=cams.source, data=data)

    results = run_together([alert(n) for n in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    outcomes = sorted(r.alert.outcome for r in results)
    assert outcomes == [AlertOutcome.CASE_OPENED] + [AlertOutcome.MERGED] * 3
    assert Case.objects.count() == 1
    link = CameraCaseLink.objects.get()
    assert link.occurrences == 4 and sorted(r.occurrences for r in results) == [1, 2, 3, 4]
    assert CaseEvent.objects.filter(case=link.case, action="comment").count() == 3


def test_concurrent_redeliveries_record_one_alert() -> None:
    cams = make_cams(build_sample_district())
    data = AlertIn(delivery_id="same", camera_code="CAM-0001", event_type="illegal_parking", occurred_at=timezone.now())
    results = run_together([lambda: services.alert_receive(source=cams.source, data=data) for _ in range(3)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.replayed for r in results) == [False, True, True]
    assert len({r.alert.pk for r in results}) == 1
    assert CameraAlert.objects.count() == 1 and Case.objects.count() == 1
