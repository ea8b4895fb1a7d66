"""Patrol services: start, point validation and de-duplication, coverage, flags, duty with
time windows, auto-close."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from civicgrid.audit.models import AuditEvent
from civicgrid.common.errors import Conflict, DomainError, NotFound
from civicgrid.patrols import selectors, services
from civicgrid.patrols.enums import PatrolStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy, TrackPoint
from civicgrid.patrols.policy import policy_for
from civicgrid.patrols.tests.conftest import PatrolWorld, points, walk

pytestmark = pytest.mark.django_db


def test_a_second_active_patrol_is_a_conflict(world: PatrolWorld) -> None:
    services.patrol_start(worker=world.road_chief)
    with pytest.raises(Conflict) as exc:
        services.patrol_start(worker=world.road_chief)
    assert "已有进行中的巡查" in str(exc.value.message)
    assert Patrol.objects.filter(worker=world.road_chief).count() == 1


def test_start_is_idempotent_by_client_id(world: PatrolWorld) -> None:
    first = services.patrol_start(worker=world.road_chief, client_id="abc")
    again = services.patrol_start(worker=world.road_chief, client_id="abc")
    assert first.created and not again.created and first.patrol.pk == again.patrol.pk
    assert AuditEvent.objects.filter(object_type="patrols.patrol", action="create").count() == 1


def test_bad_points_are_refused_with_their_indexes_and_nothing_is_stored(world: PatrolWorld) -> None:
    start = timezone.now() - dt.timedelta(minutes=10)
    patrol = services.patrol_start(worker=world.road_chief, started_at=start).patrol
    batch = points(world.road_track(6), start)
    batch[1]["lat"] = 95.0  # impossible latitude
    batch[2]["lon"] = float("nan")
    batch[3]["t"] = int((timezone.now() + dt.timedelta(hours=1)).timestamp() * 1000)  # future
    batch[4]["t"] = int((start - dt.timedelta(hours=1)).timestamp() * 1000)  # before the start
    with pytest.raises(DomainError) as exc:
        services.patrol_upload_points(worker=world.road_chief, patrol_id=patrol.pk, points=batch)
    assert exc.value.fields["bad_indexes"] == [1, 2, 3, 4]
    assert "坐标无效" in str(exc.value.message) and "时间不合理" in str(exc.value.message)
    assert TrackPoint.objects.count() == 0


def test_more_than_10000_points_in_one_batch_are_refused(world: PatrolWorld) -> None:
    start = timezone.now() - dt.timedelta(hours=3)
    patrol = services.patrol_start(worker=world.road_chief, started_at=start).patrol
    batch = points(world.road_track(2), start) * 5001  # 10002 points
    with pytest.raises(services.PayloadTooLarge) as exc:
        services.patrol_upload_points(worker=world.road_chief, patrol_id=patrol.pk, points=batch)
    assert exc.value.status == 413 and "10000" in str(exc.value.message)


def test_resent_points_are_ignored(world: PatrolWorld) -> None:
    start = timezone.now() - dt.timedelta(minutes=10)
    patrol = services.patrol_start(worker=world.road_chief, started_at=start).patrol
    batch = points(world.road_track(5), start)
    first = services.patrol_upload_points(worker=world.road_chief, patrol_id=patrol.pk, points=batch[:3])
    second = services.patrol_upload_points(worker=world.road_chief, patrol_id=patrol.pk, points=batch + batch[:1])
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (second.accepted, second.duplicates) == (2, 4)
    assert TrackPoint.objects.filter(patrol=patrol).count() == 5 == second.patrol.point_count


def test_a_track_along_the_road_covers_it_and_one_far_away_does_not(world: PatrolWorld) -> None:
    along = walk(world.road_chief, world.road_track(offset_m=10))
    assert along.coverage >= 0.95 and along.counts_toward_duty and not along.flagged
    assert 240 <= along.distance_m <= 260  # haversine along the track
    far = walk(world.road_chief, world.road_track(offset_m=150))
    assert far.coverage == 0 and not far.counts_toward_duty


def test_half_the_road_is_below_the_threshold(world: PatrolWorld) -> None:
    half = walk(world.road_chief, world.road_track(11)[:6])
    assert 0.45 <= half.coverage <= 0.7 and not half.counts_toward_duty


def test_a_track_through_the_grid_covers_it_and_one_far_away_does_not(world: PatrolWorld) -> None:
    through = walk(world.grid_chief, world.grid_track())
    assert through.coverage >= 0.9 and through.counts_toward_duty
    away = walk(world.grid_chief, world.grid_track(offset_m=150))
    assert away.coverage == 0 and not away.counts_toward_duty


def test_coverage_threshold_comes_from_the_nearest_policy(world: PatrolWorld) -> None:
    PatrolPolicy.objects.create(area_code=world.district.district.code, times_per_day=3, coverage_threshold=0.3)
    PatrolPolicy.objects.create(area_code=world.district.streets[0].code, times_per_day=2, coverage_threshold=0.5)
    assert policy_for(world.district.grids[0].code).coverage_threshold == 0.5
    assert policy_for(world.district.streets[1].code).times_per_day == 3
    half = walk(world.road_chief, world.road_track(11)[:6])
    assert half.counts_toward_duty


def test_too_fast_tracks_are_flagged_and_do_not_count(world: PatrolWorld) -> None:
    patrol = walk(world.road_chief, world.road_track(), step_s=1)  # 25 m a second = 90 km/h
    assert patrol.flagged and [r["code"] for r in patrol.flag_reasons] == ["speed"]
    assert "速度过快" in patrol.flag_reasons[0]["message"]
    assert patrol.coverage >= 0.95 and not patrol.counts_toward_duty


def test_points_outside_the_assigned_area_are_flagged(world: PatrolWorld) -> None:
    patrol = walk(world.grid_chief, world.grid_track() + world.grid_track(offset_m=800), step_s=120)
    assert [r["code"] for r in patrol.flag_reasons] == ["outside"]


def test_duty_with_time_windows(world: PatrolWorld, time_machine: Any) -> None:
    PatrolPolicy.objects.create(
        area_code=world.district.district.code, times_per_day=2, windows=[{"end": "10:00"}, {"start": "15:00"}]
    )
    chief = world.road_chief
    time_machine.move_to("2025-05-06T09:30:00+08:00", tick=False)
    walk(chief, world.road_track())  # started about 09:24
    time_machine.move_to("2025-05-06T12:30:00+08:00", tick=False)
    walk(chief, world.road_track())  # counts, but in no window
    status = selectors.duty_status(chief, dt.date(2025, 5, 6))
    assert status.counted == 2 and status.required == 2
    assert [(w.label, w.met) for w in status.windows] == [("10:00前", True), ("15:00后", False)]
    assert not status.met
    time_machine.move_to("2025-05-06T16:30:00+08:00", tick=False)
    walk(chief, world.road_track())
    status = selectors.duty_status(chief, dt.date(2025, 5, 6))
    assert status.met and status.counted == 3
    assert not selectors.duty_status(chief, dt.date(2025, 5, 7)).met


def test_a_patrol_left_open_is_closed_at_the_end_of_its_day_once(world: PatrolWorld, time_machine: Any) -> None:
    time_machine.move_to("2025-05-06T20:00:00+08:00", tick=False)
    start = timezone.now() - dt.timedelta(minutes=10)
    patrol = services.patrol_start(worker=world.road_chief, started_at=start).patrol
    services.patrol_upload_points(
        worker=world.road_chief, patrol_id=patrol.pk, points=points(world.road_track(), start)
    )
    assert services.patrol_autoclose_stale() == 0  # still its day
    time_machine.move_to("2025-05-07T00:05:00+08:00", tick=False)
    assert services.patrol_autoclose_stale() == 1
    assert services.patrol_autoclose_stale() == 0
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.AUTO_CLOSED and patrol.counts_toward_duty
    assert timezone.localtime(patrol.ended_at).date() == dt.date(2025, 5, 6)
    assert AuditEvent.objects.filter(object_id=str(patrol.pk), action="transition").count() == 1
    # The worker may start a new patrol now.
    assert services.patrol_start(worker=world.road_chief).created


def test_a_worker_cannot_touch_another_workers_patrol(world: PatrolWorld) -> None:
    patrol = services.patrol_start(worker=world.road_chief).patrol
    with pytest.raises(NotFound):
        services.patrol_upload_points(worker=world.grid_chief, patrol_id=patrol.pk, points=[])
    with pytest.raises(NotFound):
        services.patrol_end(worker=world.grid_chief, patrol_id=patrol.pk)
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.ACTIVE


def test_late_points_after_the_end_are_kept_and_re_evaluated(world: PatrolWorld) -> None:
    start = timezone.now() - dt.timedelta(minutes=10)
    patrol = services.patrol_start(worker=world.road_chief, started_at=start).patrol
    ended = services.patrol_end(worker=world.road_chief, patrol_id=patrol.pk)
    assert ended.coverage == 0
    services.patrol_upload_points(
        worker=world.road_chief, patrol_id=patrol.pk, points=points(world.road_track(), start, step_s=20)
    )
    ended.refresh_from_db()
    assert ended.coverage >= 0.95 and ended.counts_toward_duty


def test_autoclose_runs_as_a_periodic_job_and_a_celery_task(world: PatrolWorld, time_machine: Any) -> None:
    from civicgrid.common.scheduler import registered_jobs
    from civicgrid.patrols.tasks import AUTOCLOSE_JOB, autoclose_task

    assert AUTOCLOSE_JOB in {job.name for job in registered_jobs()}
    time_machine.move_to("2025-05-06T20:00:00+08:00", tick=False)
    services.patrol_start(worker=world.grid_chief)
    time_machine.move_to("2025-05-07T01:00:00+08:00", tick=False)
    assert autoclose_task.apply().result == 1  # the task Celery beat runs
    assert not Patrol.objects.filter(status=PatrolStatus.ACTIVE).exists()
