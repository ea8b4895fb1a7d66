"""A patrol world on the sample district: a road chief owning one ~250 m road segment and a
grid chief owning one small (~100 m x 100 m) grid, both in the first community."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.patrols import services
from civicgrid.patrols.models import Patrol
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Duty, Responsibility, RoadSegment
from civicgrid.testing.factories import SampleDistrict, make_user, square

# Near lat 40.765: 1 m is about 1/84300 degree of longitude and 1/111195 degree of latitude.
M_LON = 1 / 84300
M_LAT = 1 / 111195
ROAD_START = (111.601, 40.765)
ROAD_LENGTH_M = 250
SMALL_GRID_ORIGIN = (111.606, 40.766)
SMALL_GRID_M = 100


@dataclass
class PatrolWorld:
    district: SampleDistrict
    road_chief: User
    grid_chief: User
    road: RoadSegment
    small_grid: Area

    def road_track(self, n: int = 11, offset_m: float = 0.0) -> list[tuple[float, float]]:
        """Points along the road (shifted north by ``offset_m``)."""
        x0, y0 = ROAD_START
        return [(x0 + ROAD_LENGTH_M * M_LON * i / (n - 1), y0 + offset_m * M_LAT) for i in range(n)]

    def grid_track(self, n: int = 11, offset_m: float = 0.0) -> list[tuple[float, float]]:
        """West to east through the middle of the small grid."""
        x0, y0 = SMALL_GRID_ORIGIN
        y = y0 + (SMALL_GRID_M / 2 + offset_m) * M_LAT
        return [(x0 + SMALL_GRID_M * M_LON * i / (n - 1), y) for i in range(n)]


def points(coords: list[tuple[float, float]], start: dt.datetime, step_s: float = 30.0) -> list[dict[str, Any]]:
    return [
        {"t": int((start + dt.timedelta(seconds=i * step_s)).timestamp() * 1000), "lon": lon, "lat": lat, "acc": 5}
        for i, (lon, lat) in enumerate(coords)
    ]


def walk(worker: User, coords: list[tuple[float, float]], *, step_s: float = 30.0) -> Patrol:
    """Start a patrol (back-dated so the points lie in the past), upload the walk, end it."""
    started = timezone.now() - dt.timedelta(seconds=step_s * len(coords) + 60)
    patrol = services.patrol_start(worker=worker, started_at=started).patrol
    services.patrol_upload_points(worker=worker, patrol_id=patrol.pk, points=points(coords, started, step_s))
    return services.patrol_end(worker=worker, patrol_id=patrol.pk)


def build_patrol_world(d: SampleDistrict) -> PatrolWorld:
    community = d.communities[0]
    street = d.streets[0]
    x0, y0 = ROAD_START
    road = RoadSegment.objects.create(
        street=street,
        area_code=street.code,
        code="R-TEST-1",
        name="清泉街",
        geometry={"type": "LineString", "coordinates": [[x0, y0], [x0 + ROAD_LENGTH_M * M_LON, y0]]},
        length_m=ROAD_LENGTH_M,
    )
    gx, gy = SMALL_GRID_ORIGIN
    small = Area.objects.create(
        code=f"{community.code}09",
        name="小网格",
        level=AreaLevel.GRID,
        parent=community,
        geometry=square(gx, gy, SMALL_GRID_M * M_LON, SMALL_GRID_M * M_LAT),
    )
    road_chief = make_user(Role.ROAD_CHIEF, street, username="luzhang")
    grid_chief = make_user(Role.GRID_CHIEF, community, username="wanggezhang")
    Responsibility.objects.create(user=road_chief, duty=Duty.ROAD_CHIEF, road_segment=road)
    Responsibility.objects.create(user=grid_chief, duty=Duty.GRID_CHIEF, area=small)
    return PatrolWorld(d, road_chief, grid_chief, road, small)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(district: SampleDistrict) -> PatrolWorld:
    return build_patrol_world(district)


def make_patrol(
    worker: User,
    started: str,
    *,
    counts: bool = True,
    distance_m: float = 1000.0,
    coverage: float = 0.9,
    flagged: bool = False,
    minutes: int = 40,
) -> Patrol:
    """A finished patrol row (no track) started at local time ``started`` ("2025-05-06 09:00")."""
    from civicgrid.patrols.enums import PatrolStatus, ReviewStatus

    start = timezone.make_aware(dt.datetime.fromisoformat(started))
    return Patrol.objects.create(
        worker=worker,
        duty=services._duty_of(worker),
        area_code=worker.area.code if worker.area else "",
        day=timezone.localtime(start).date(),
        started_at=start,
        ended_at=start + dt.timedelta(minutes=minutes),
        status=PatrolStatus.ENDED,
        distance_m=distance_m,
        coverage=coverage,
        counts_toward_duty=counts and not flagged,
        flagged=flagged,
        flag_reasons=[{"code": "speed", "message": "移动速度过快"}] if flagged else [],
        review_status=ReviewStatus.PENDING if flagged else ReviewStatus.NONE,
    )
