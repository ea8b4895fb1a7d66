"""The demo's week of patrols (civicgrid.demo.patrols): realistic, evaluated, idempotent."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.demo.patrols import build_demo_patrols, build_patrols
from civicgrid.patrols import selectors
from civicgrid.patrols.enums import ReviewStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy, TrackPoint
from civicgrid.patrols.tests.conftest import PatrolWorld
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 5, 7, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_a_week_of_patrols_follows_the_assigned_roads_and_grids(world: PatrolWorld) -> None:
    out = io.StringIO()
    result = build_demo_patrols(seed=7, out=out, now=NOON)
    assert result["created"] > 0 and "巡查 (近7天): 新增" in out.getvalue()
    patrols = Patrol.objects.all()
    days = {p.day for p in patrols}
    assert min(days) >= dt.date(2025, 5, 1) and max(days) <= dt.date(2025, 5, 7)
    assert all(p.ended_at and p.ended_at <= NOON for p in patrols)
    assert TrackPoint.objects.count() == sum(p.point_count for p in patrols) > 0
    # Tracks lie on the assigned road or grid: most count (the demo policy: 2 a day, morning and afternoon).
    assert patrols.filter(counts_toward_duty=True).count() >= 0.75 * patrols.count()
    assert all(len(p.simplified_track) >= 2 for p in patrols)
    assert {r["code"] for p in patrols.filter(flagged=True) for r in p.flag_reasons} <= {"speed", "outside"}
    assert set(patrols.values_list("review_status", flat=True)) <= set(ReviewStatus.values)
    assert PatrolPolicy.objects.get(area_code="150104").windows[0]["end"] == "12:00"
    assert AuditEvent.objects.filter(object_type="demo.patrols", object_id="7").count() == 1
    # The compliance page has real figures.
    leader = make_user(Role.LEADER, world.district.district, username="ld")
    report = selectors.compliance_report(leader, "150104", period="month", month="2025-05", on=NOON.date())
    assert report.days_met >= 6 and report.patrols == patrols.count()


def test_it_is_idempotent_and_tops_up_later(world: PatrolWorld) -> None:
    first = build_patrols(seed=7, now=NOON)
    again = build_patrols(seed=7, now=NOON)
    assert again["created"] == 0 and again["existing"] == first["created"]
    evening = build_patrols(seed=7, now=NOON + dt.timedelta(hours=8))
    assert evening["created"] == 0  # today was built at noon: the same day changes nothing
    today = Patrol.objects.filter(day=NOON.date())
    assert today.exists() and not today.filter(started_at__gte=NOON).exists()
    tomorrow = build_patrols(seed=7, now=NOON + dt.timedelta(days=1, hours=8))
    assert tomorrow["created"] >= 1
    assert Patrol.objects.filter(day=NOON.date() + dt.timedelta(days=1)).count() == tomorrow["created"]
    assert Patrol.objects.values("worker_id", "client_id").distinct().count() == Patrol.objects.count()
    assert timezone.localtime(today.order_by("started_at").first().started_at).hour < 12  # type: ignore[union-attr]
