"""A fixture of cases spread over the sample district, the year and the channels, and a raw
recount over the Case rows (plain Python, no metrics code) that the figures must equal."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, User
from civicgrid.cases.enums import OPEN_STATUSES, CaseStatus
from civicgrid.cases.models import Case, Category
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.testing.factories import SampleDistrict, make_user

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 18, 15, 0, tzinfo=TZ)  # a Wednesday
TODAY = NOW.date()
CHANNELS = ("hotline", "patrol", "camera", "resident_web", "walk_in")
CATEGORIES = ("MD01", "ZA01", "MS01", "MS06")
EXCLUDED = {CaseStatus.MERGED, CaseStatus.NOT_ACCEPTED}


@dataclass
class Fixture:
    w: World
    cases: list[Case]
    sysadmin: User
    community_worker: User

    @property
    def d(self) -> SampleDistrict:
        return self.w.d


def _make(
    n: int, rng: random.Random, d: SampleDistrict, police: Department, received: dt.datetime, now: dt.datetime
) -> Case:
    grid = d.grids[rng.choice([0, 1, 2, 4, 5, 6])]
    status = rng.choice(
        [CaseStatus.HANDLING] * 3
        + [CaseStatus.CLOSED] * 3
        + [CaseStatus.EVALUATED] * 4
        + [CaseStatus.DISPATCHED, CaseStatus.MERGED, CaseStatus.NOT_ACCEPTED, CaseStatus.REGISTERED]
    )
    kw: dict[str, Any] = {}
    if status != CaseStatus.REGISTERED and rng.random() < 0.85:
        kw["dispatched_at"] = received + dt.timedelta(minutes=10)
        kw["acknowledge_due"] = received + dt.timedelta(hours=4)
        if status != CaseStatus.DISPATCHED:
            kw["acknowledged_at"] = received + dt.timedelta(hours=rng.choice([1, 2, 6]))
    kw["handle_due"] = received + dt.timedelta(days=3)
    kw["close_due"] = received + dt.timedelta(days=5)
    if status in (CaseStatus.CLOSED, CaseStatus.EVALUATED):
        kw["closed_at"] = min(received + dt.timedelta(hours=rng.choice([2, 30, 150])), now - dt.timedelta(minutes=1))
    if status == CaseStatus.EVALUATED:
        kw["satisfaction"] = rng.choice([2, 3, 4, 5, 5])
        kw["resolved"] = rng.random() < 0.8
    if status in OPEN_STATUSES and kw["handle_due"] < now and rng.random() < 0.7:
        kw["overdue_at"] = kw["handle_due"]
    if rng.random() < 0.2:
        kw["rehandle_count"] = 1
    if rng.random() < 0.3:
        kw["current_department"] = police
    return Case.objects.create(
        tracking_code=f"D{n:09d}",
        title=f"案件{n}",
        description="d",
        category=Category.objects.get(code=rng.choice(CATEGORIES)),
        channel=rng.choice(CHANNELS),
        status=status,
        grid=grid,
        area_code=grid.code,
        received_at=received,
        **kw,
    )


def build_fixture(w: World, seed: int = 5, now: dt.datetime = NOW) -> list[Case]:
    rng = random.Random(seed)
    d = w.d
    out: list[Case] = []
    n = 0
    # today (before NOW), earlier this year, last year (not counted this year)
    start_of_day = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    hours_today = max(int((now - start_of_day).total_seconds() // 3600), 1)
    moments = [now - dt.timedelta(minutes=20 + 60 * (h % hours_today)) for h in (0, 1, 2, 4, 7, 11, 13)]
    moments += [now - dt.timedelta(days=rng.randint(1, 75), hours=rng.randint(0, 20)) for _ in range(55)]
    moments += [dt.datetime(now.year - 1, 12, 30, 10, tzinfo=TZ), dt.datetime(now.year - 1, 11, 3, 9, tzinfo=TZ)]
    for moment in moments:
        n += 1
        out.append(_make(n, rng, d, w.police, moment, now))
    # a case located only to the district (no grid) and one of the other street held by
    # the street-0 administrator personally (visible to them although outside their street)
    n += 1
    out.append(
        Case.objects.create(
            tracking_code=f"D{n:09d}",
            title="无网格案件",
            description="d",
            category=Category.objects.get(code="MS01"),
            channel="hotline",
            status=CaseStatus.HANDLING,
            area_code=d.district.code,
            received_at=now - dt.timedelta(days=3),
            handle_due=now - dt.timedelta(days=1),
            overdue_at=now - dt.timedelta(days=1),
        )
    )
    return out


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def fx(district: SampleDistrict, frozen: None, settings: Any) -> Fixture:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    w = build_world(district)
    cases = build_fixture(w)
    sysadmin = make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")
    return Fixture(w, cases, sysadmin, w.worker)


# --- the raw recount -----------------------------------------------------------------------


def local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(TZ).date()


def visible_to(user: User, case: Case) -> bool:
    code = user.area.code if user.area else ""
    return case.area_code.startswith(code) or case.current_handler_id == user.pk


def counted(
    cases: Iterable[Case], user: User, start: dt.date, end: dt.date, area: str = "", **extra: Any
) -> list[Case]:
    """The cases case_metrics counts as received: visible, in the period, not merged or not accepted."""
    out = []
    for c in cases:
        if not visible_to(user, c) or c.status in EXCLUDED:
            continue
        if not start <= local_day(c.received_at) <= end or not c.area_code.startswith(area):
            continue
        if extra.get("channel") and c.channel != extra["channel"]:
            continue
        if extra.get("department_id") and c.current_department_id != extra["department_id"]:
            continue
        out.append(c)
    return out


PREDICATES: dict[str, Callable[[Case], bool]] = {
    "received": lambda c: True,
    "closed": lambda c: c.closed_at is not None,
    "dispatched": lambda c: c.dispatched_at is not None and c.acknowledge_due is not None,
    "signed_on_time": lambda c: (
        c.dispatched_at is not None
        and c.acknowledged_at is not None
        and c.acknowledge_due is not None
        and c.acknowledged_at <= c.acknowledge_due
    ),
    "closed_on_time": lambda c: c.closed_at is not None and c.close_due is not None and c.closed_at <= c.close_due,
    "evaluated": lambda c: c.satisfaction is not None,
    "resolved": lambda c: c.satisfaction is not None and c.resolved is True,
    "satisfied": lambda c: c.satisfaction is not None and c.satisfaction >= 4,
    "rehandled": lambda c: c.rehandle_count > 0,
}


def tally(cases: list[Case]) -> dict[str, int]:
    return {name: sum(1 for c in cases if p(c)) for name, p in PREDICATES.items()}


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def open_now(cases: Iterable[Case], user: User, area: str) -> list[Case]:
    return [c for c in cases if visible_to(user, c) and c.area_code.startswith(area) and c.status in OPEN_STATUSES]
