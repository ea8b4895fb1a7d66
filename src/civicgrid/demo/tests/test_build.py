"""Building the demo into the database: counts, geometry, staff, totals, log-in,
idempotency, partial builds, the command."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.test import TestCase
from django.urls import reverse
from shapely.geometry import shape

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, User
from civicgrid.audit.models import AuditEvent
from civicgrid.demo import data
from civicgrid.demo.builder import BuildResult, DemoBuildError, build_demo, current_counts
from civicgrid.people.models import Person, PersonTag
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Building, Compound, Duty, Household, Responsibility, RoadSegment

SEED = 7
SMALL = 300


def small_build(**kwargs):
    return build_demo(seed=SEED, residents=SMALL, out=io.StringIO(), migrate=False, **kwargs)


class DemoBuildTests(TestCase):
    """One small build (the full territory and staff, 300 residents) shared by the tests."""

    out: io.StringIO
    result: BuildResult

    @classmethod
    def setUpTestData(cls):
        cls.out = io.StringIO()
        cls.result = build_demo(seed=SEED, residents=SMALL, out=cls.out, migrate=False)

    def test_full_territory_in_the_database(self):
        levels = dict(Area.objects.values("level").annotate(n=Count("id")).values_list("level", "n"))
        assert levels == {AreaLevel.DISTRICT: 1, AreaLevel.STREET: 8, AreaLevel.COMMUNITY: 58, AreaLevel.GRID: 508}
        streets = Area.objects.filter(level=AreaLevel.STREET).order_by("code")
        assert [s.code for s in streets] == [f"150104{i:03d}" for i in range(1, 9)]
        assert [s.street_kind for s in streets].count("town") == 1
        grids = Area.objects.filter(level=AreaLevel.GRID).values_list("code", "parent__code", "parent__level")
        for code, parent_code, parent_level in grids:
            assert parent_level == AreaLevel.COMMUNITY and code.startswith(parent_code)

    def test_qingquan_as_reported(self):
        q = Area.objects.get(name="清泉街社区")
        assert q.parent is not None and q.area_km2 is not None
        assert q.code == "150104001001" and q.parent.name == "兴隆巷街道"
        assert abs(q.area_km2 - Decimal("0.36")) <= Decimal("0.0036")
        assert Compound.objects.filter(area_code__startswith=q.code).count() == 15
        assert Building.objects.filter(area_code__startswith=q.code).count() == 48
        assert Household.objects.filter(area_code__startswith=q.code).count() == 2732
        assert q.households == 2732

    def test_grid_polygons_tile_each_community_without_overlap(self):
        grids = list(Area.objects.filter(level=AreaLevel.GRID).order_by("code"))
        shapes = [shape(g.geometry) for g in grids]
        assert all(s.is_valid for s in shapes)
        tree = shapely.STRtree(shapes)
        left, right = tree.query(shapes, predicate="intersects")
        overlaps = [
            (grids[i].code, grids[j].code)
            for i, j in zip(left, right, strict=True)
            if i < j and shapes[i].intersection(shapes[j]).area > 1e-12
        ]
        assert overlaps == []
        for community in Area.objects.filter(level=AreaLevel.COMMUNITY):
            poly = shape(community.geometry)
            union = shapely.union_all([s for g, s in zip(grids, shapes, strict=True) if g.parent_id == community.pk])
            assert union.area == pytest.approx(poly.area, rel=1e-9), community.code
            assert poly.symmetric_difference(union).area < 1e-12

    def test_staff_counts_and_bindings(self):
        chiefs = User.objects.filter(role=Role.GRID_CHIEF).select_related("area")
        assert chiefs.count() == 218
        assert set(chiefs.values_list("area__level", flat=True)) <= {AreaLevel.GRID, AreaLevel.COMMUNITY}
        road = User.objects.filter(role=Role.ROAD_CHIEF).select_related("area")
        assert road.count() == 139 and set(road.values_list("area__level", flat=True)) == {AreaLevel.STREET}
        xiaozhao = Area.objects.get(name="小召街道")
        assert road.filter(area=xiaozhao).count() == 26
        area_chiefs = User.objects.filter(role=Role.AREA_CHIEF).select_related("area")
        assert area_chiefs.count() == 36
        assert set(area_chiefs.values_list("area__parent_id", flat=True)) == {xiaozhao.pk}
        # Every grid has exactly one grid chief, whose scope covers it.
        grid_duties = Responsibility.objects.filter(duty=Duty.GRID_CHIEF).select_related("user__area", "area")
        assert grid_duties.count() == Area.objects.filter(level=AreaLevel.GRID).count() == 508
        assert len({d.area_id for d in grid_duties}) == 508
        assert all(d.area and d.user.area and d.area.code.startswith(d.user.area.code) for d in grid_duties)
        # Every road segment has a road chief; 小召's 26 road chiefs own 小召's segments.
        road_duties = Responsibility.objects.filter(duty=Duty.ROAD_CHIEF)
        assert sorted(road_duties.values_list("road_segment__code", flat=True)) == sorted(
            RoadSegment.objects.values_list("code", flat=True)
        )
        assert road_duties.filter(user__area=xiaozhao).values("user").distinct().count() == 26
        assert Responsibility.objects.filter(duty=Duty.AREA_CHIEF).values("user").distinct().count() == 36

    def test_roads_link_the_grids_they_cross(self):
        assert RoadSegment.objects.count() > 139
        assert not RoadSegment.objects.annotate(n=Count("grids")).filter(n=0).exists()
        segment = RoadSegment.objects.prefetch_related("grids")[0]
        line = shape(segment.geometry)
        for grid in segment.grids.all():
            assert shape(grid.geometry).intersection(line).length > 0

    def test_departments(self):
        q = Area.objects.get(name="清泉街社区")
        assert Department.objects.filter(kind="legal", area=q).exists()
        police = Department.objects.get(code="150104001-police")
        assert User.objects.get(username="demo_police").departments.get() == police
        assert {"police", "judicial", "fire", "governance", "legal"} <= set(
            Department.objects.values_list("kind", flat=True)
        )

    def test_totals_match_the_rows(self):
        district = Area.objects.get(code=data.DISTRICT_CODE)
        assert district.population == Person.objects.count() == SMALL
        assert district.households == Household.objects.count()
        for level, child in (
            (AreaLevel.DISTRICT, AreaLevel.STREET),
            (AreaLevel.STREET, AreaLevel.COMMUNITY),
            (AreaLevel.COMMUNITY, AreaLevel.GRID),
        ):
            for parent in Area.objects.filter(level=level):
                sums = Area.objects.filter(parent=parent, level=child).aggregate(
                    p=Sum("population"), h=Sum("households")
                )
                assert (parent.population, parent.households) == (sums["p"], sums["h"])
        for grid in Area.objects.filter(level=AreaLevel.GRID)[:40]:
            assert grid.population == Person.objects.filter(grid=grid).count()

    def test_residents_are_protected_and_placed(self):
        person = Person.objects.select_related("household__building", "grid")[0]
        assert person.id_number_cipher.startswith(("SM4-GCM$", "AES-GCM$")) and "*" in person.id_number_masked
        assert person.household is not None and person.building is not None
        assert person.household.building == person.building and person.building.grid == person.grid
        assert PersonTag.objects.exists()

    def test_every_demo_account_can_log_in(self):
        accounts = self.result.accounts
        assert sorted(a.role for a in accounts) == sorted(Role.values)
        for account in accounts:
            client = self.client_class()
            response = client.post(
                reverse("accounts:login"), {"username": account.username, "password": data.DEMO_PASSWORD}
            )
            assert response.status_code == 302, account.username
            assert int(client.session["_auth_user_id"]) == User.objects.get(username=account.username).pk
            user = User.objects.get(username=account.username)
            assert user.is_demo and user.password_changed_at is not None and user.role == account.role

    def test_other_staff_cannot_log_in_until_activated(self):
        chief = User.objects.filter(role=Role.GRID_CHIEF).exclude(username="demo_grid")[0]
        assert not chief.has_usable_password()

    def test_one_audit_record_per_step(self):
        steps = AuditEvent.objects.filter(object_type="demo.build").values_list("object_id", flat=True)
        assert sorted(steps) == sorted(["areas", "housing", "roads", "departments", "accounts", "totals", "cases"])
        assert AuditEvent.objects.filter(object_type="people.person").count() == 1

    def test_running_again_changes_nothing(self):
        before = current_counts()
        events = AuditEvent.objects.count()
        again = small_build()
        assert again.skipped and current_counts() == before
        assert AuditEvent.objects.count() == events

    def test_other_parameters_are_refused(self):
        with pytest.raises(DemoBuildError):
            build_demo(seed=SEED + 1, residents=SMALL, out=io.StringIO(), migrate=False)

    def test_progress_lines(self):
        text = self.out.getvalue()
        assert "[2/13] 辖区: 区/街道/社区/网格 575 个" in text
        assert "[7/13] 居民 300 人" in text
        assert "[11/13] 视频探头 58 个社区" in text and "[13/13] 统计汇总" in text


@pytest.mark.django_db
def test_partial_build_is_completed_not_duplicated():
    small_build(stop_after="housing")
    assert Household.objects.count() > 0 and not User.objects.exists()
    district = Area.objects.get(code=data.DISTRICT_CODE)
    assert district.properties["demo"]["complete"] is False
    partial = current_counts()
    result = small_build()
    assert not result.skipped
    full = current_counts()
    for key in ("streets", "communities", "grids", "compounds", "buildings", "households"):
        assert full[key] == partial[key]
    assert full["residents"] == SMALL and User.objects.filter(role=Role.GRID_CHIEF).count() == 218
    Area.objects.filter(code=data.DISTRICT_CODE).update(
        properties={"demo": {**district.properties["demo"], "complete": False}}
    )
    small_build()  # a build that lost its "complete" mark re-checks every step: nothing new
    assert current_counts() == full


@pytest.mark.django_db
def test_foreign_territory_is_not_overwritten():
    Area.objects.create(code=data.DISTRICT_CODE, name="玉泉区", level=AreaLevel.DISTRICT)
    with pytest.raises(DemoBuildError):
        small_build()


@pytest.mark.django_db
def test_demo_command_builds_prints_accounts_and_is_idempotent():
    out = io.StringIO()
    call_command(
        "demo",
        "--no-serve",
        "--no-migrate",
        "--residents",
        str(SMALL),
        "--seed",
        str(SEED),
        "--port",
        "8123",
        stdout=out,
    )
    text = out.getvalue()
    assert "http://127.0.0.1:8123/" in text and "DEMO ONLY" in text
    for username in ("demo_command", "demo_grid", "demo_road", "demo_area", "demo_auditor"):
        assert username in text
    assert text.count(data.DEMO_PASSWORD) == len(Role.values)
    counts = current_counts()
    out = io.StringIO()
    call_command("demo", "--no-serve", "--no-migrate", "--residents", str(SMALL), "--seed", str(SEED), stdout=out)
    assert "跳过构建" in out.getvalue() and current_counts() == counts
    with pytest.raises(CommandError):
        call_command(
            "demo", "--no-serve", "--no-migrate", "--residents", "301", "--seed", str(SEED), stdout=io.StringIO()
        )


@pytest.mark.django_db
def test_qingquan_gets_its_8800_residents():
    """The one full-size community: 8800 people in 2732 households (runs in `make test`)."""
    build_demo(seed=SEED, residents=data.QINGQUAN_RESIDENTS, out=io.StringIO(), migrate=False)
    q = Area.objects.get(name="清泉街社区")
    assert q.population == 8800 == Person.objects.filter(area_code__startswith=q.code).count()
    assert q.households == 2732
    assert (
        not Household.objects.filter(area_code__startswith=q.code).annotate(n=Count("members")).filter(n=0).exists()
    )  # every household lives somewhere
    assert Person.objects.values("id_number_digest").distinct().count() == 8800
    tags = dict(PersonTag.objects.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    assert tags["elderly"] > 800 and tags["minor"] > 500 and tags["disabled"] > 200 and tags["party_member"] > 50
