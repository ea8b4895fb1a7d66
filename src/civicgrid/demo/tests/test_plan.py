"""The demo plan (no database): the real full territory, tiling, determinism, people."""

from __future__ import annotations

from collections import Counter

import pytest
import shapely
from shapely.geometry import shape

from civicgrid.accounts.enums import Role
from civicgrid.common.idcard import validate_id_number
from civicgrid.demo import data
from civicgrid.demo.geometry import Lattice, Rect, polygon_area_km2, ring_area_units
from civicgrid.demo.plan import allocate, plan_territory, residents_split
from civicgrid.demo.population import household_sizes, plan_residents
from civicgrid.demo.staff import plan_staff


@pytest.fixture(scope="module")
def plan():
    return plan_territory(11, 2000)


def test_full_territory_counts(plan):
    assert [s.name for s in plan.streets] == [name for name, _, _ in data.STREETS]
    assert [s.code for s in plan.streets] == [f"150104{i:03d}" for i in range(1, 9)]
    assert [s.street_kind for s in plan.streets].count("town") == 1
    assert len(plan.communities) == 58
    assert len(plan.grids) == 508
    assert len({a.code for a in plan.areas}) == 1 + 8 + 58 + 508
    for grid in plan.grids:
        assert grid.code.startswith(str(grid.parent_code)) and len(grid.code) == 14


def test_named_communities_sit_in_their_streets(plan):
    street_of = {c.name: c.parent_code for c in plan.communities}
    expected = {"清泉街": 1, "四里营西": 1, "观音庙": 2, "小西街": 3, "友谊": 3, "五里营": 6, "富丽": 5}
    for name, street in expected.items():
        assert street_of[name + "社区"] == f"150104{street:03d}"


def test_qingquan_as_reported(plan):
    q = plan.qingquan
    assert q.code == "150104001001"
    assert q.area_km2 == pytest.approx(0.36, rel=0.01)
    assert polygon_area_km2(shape(q.geometry)) == pytest.approx(0.36, rel=0.01)
    compounds = [c for c in plan.compounds if c.code.startswith(q.code)]
    buildings = [b for b in plan.buildings if b.code.startswith(q.code)]
    households = [h for h in plan.households if h.code.startswith(q.code)]
    assert (len(compounds), len(buildings), len(households)) == (15, 48, 2732)
    assert plan.community_residents[q.code] == residents_split(2000)


def test_polygons_are_valid_and_tile_each_level(plan):
    grids = [shape(g.geometry) for g in plan.grids]
    assert all(g.is_valid and g.geom_type == "Polygon" for g in grids)
    tree = shapely.STRtree(grids)
    left, right = tree.query(grids, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            assert grids[i].intersection(grids[j]).area < 1e-12, (plan.grids[i].code, plan.grids[j].code)
    for parents, children in (
        (plan.communities, plan.grids),
        (plan.streets, plan.communities),
        ([plan.district], plan.streets),
    ):
        for parent in parents:
            poly = shape(parent.geometry)
            assert poly.is_valid
            union = shapely.union_all([shape(c.geometry) for c in children if c.parent_code == parent.code])
            assert union.area == pytest.approx(poly.area, rel=1e-9)
            assert poly.symmetric_difference(union).area < 1e-12


def test_jitter_keeps_area_and_shares_edges():
    cells = [Rect(0, 0, 5000, 4000), Rect(5000, 0, 9000, 4000), Rect(0, 4000, 9000, 7000)]
    lattice = Lattice(cells, seed=3)
    rings = [lattice.ring(c) for c in cells]
    for cell, ring in zip(cells, rings, strict=True):
        assert len(ring) > 5  # jittered, not a plain rectangle
        assert ring_area_units(ring) == pytest.approx(cell.area_units, rel=1e-3)
    polys = [shapely.Polygon(r) for r in rings]
    assert polys[0].intersection(polys[1]).area == 0
    assert shapely.union_all(polys).area == pytest.approx(9000 * 7000, rel=1e-3)


def test_same_seed_same_plan_other_seed_other_shapes():
    a, b, c = plan_territory(5, 500), plan_territory(5, 500), plan_territory(6, 500)
    assert [(x.code, x.name, x.geometry) for x in a.areas] == [(x.code, x.name, x.geometry) for x in b.areas]
    assert [(r.code, r.geometry, r.grid_codes) for r in a.roads] == [
        (r.code, r.geometry, r.grid_codes) for r in b.roads
    ]
    assert [h.code for h in a.households] == [h.code for h in b.households]
    assert list(plan_residents(a))[:50] == list(plan_residents(b))[:50]
    assert [x.code for x in a.communities] == [x.code for x in c.communities]  # codes are structural
    assert [x.geometry for x in a.grids] != [x.geometry for x in c.grids]


def test_roads_cross_grids_and_belong_to_streets(plan):
    codes = {g.code for g in plan.grids}
    assert len({r.code for r in plan.roads}) == len(plan.roads)
    for road in plan.roads:
        assert road.code.startswith(road.street_code) and road.grid_codes
        assert set(road.grid_codes) <= codes and road.length_m > 0


def test_staff_counts(plan):
    staff = plan_staff(plan, 11)
    roles = Counter(u.role for u in staff.users)
    assert roles[Role.GRID_CHIEF] == 218
    assert roles[Role.ROAD_CHIEF] == 139
    assert roles[Role.AREA_CHIEF] == 36
    xiaozhao = plan.streets[3].code
    assert sum(1 for u in staff.users if u.role == Role.ROAD_CHIEF and u.area_code == xiaozhao) == 26
    assert all(u.area_code.startswith(xiaozhao) for u in staff.users if u.role == Role.AREA_CHIEF)
    owned = [g for u in staff.users if u.role == Role.GRID_CHIEF for g in u.owns]
    assert sorted(owned) == sorted(g.code for g in plan.grids)  # every grid has exactly one chief
    segments = [s for u in staff.users if u.role == Role.ROAD_CHIEF for s in u.owns]
    assert sorted(segments) == sorted(r.code for r in plan.roads)
    assert all(u.owns for u in staff.users if u.role in (Role.ROAD_CHIEF, Role.GRID_CHIEF, Role.AREA_CHIEF))
    demo = staff.demo_accounts()
    assert sorted(u.role for u in demo) == sorted(Role.values)
    assert len({u.username for u in staff.users}) == len(staff.users)


def test_residents_are_consistent(plan):
    people = list(plan_residents(plan))
    assert len(people) == 2000
    assert len({p.id_number for p in people}) == 2000
    for p in people[:300]:
        assert validate_id_number(p.id_number) == p.id_number
    q = plan.qingquan.code
    assert sum(1 for p in people if p.grid_code.startswith(q)) == residents_split(2000)
    heads = Counter(p.household_code for p in people if p.relation_to_head == "户主")
    assert set(heads.values()) == {1}  # one head per household
    ethnicities = Counter(p.ethnicity for p in people)
    assert ethnicities.most_common(1)[0][0] == "汉族" and ethnicities["蒙古族"] > 0.05 * len(people)


def test_household_sizes_sum_exactly():
    import random

    rng = random.Random(1)
    sizes = household_sizes(rng, 8800, 2732)
    assert sum(sizes) == 8800 and len(sizes) == 2732 and min(sizes) >= 1
    sizes = household_sizes(rng, 10, 40)
    assert sum(sizes) == 10 and max(sizes) == 1


def test_allocate_is_exact():
    assert allocate(139 - 26, [9, 7, 8, 7, 8, 7, 4]) == [20, 16, 18, 16, 18, 16, 9]
    assert sum(allocate(218, [1.0] * 58, minimum=1)) == 218
    assert residents_split(20000) == 8800 and residents_split(8800) == 8800 and residents_split(300) == 132
