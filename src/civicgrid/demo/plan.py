"""The demo district as plain data, computed from a seed without touching the database.

``plan_territory(seed, residents)`` returns every area, compound, building, household and
road segment with its code and geometry; ``plan_accounts(plan, seed)`` the departments and
staff accounts. The same arguments always give the same plan (random.Random(f"{seed}:...")
streams, one per concern, so changing one part never reshuffles another)."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import LineString, shape

from civicgrid.demo import data
from civicgrid.demo.geometry import KM2_PER_UNIT2 as _KM2_PER_UNIT2
from civicgrid.demo.geometry import (
    KM_PER_DEG_LAT,
    KM_PER_DEG_LON,
    UNITS_PER_DEGREE,
    Lattice,
    Point,
    Rect,
    km2_to_units2,
    line_geojson,
    point_geojson,
    ring_area_units,
    split_rect,
    to_degrees,
)

# District box (micro-degrees): lon 111.56-111.74, lat 40.70-40.83 (about 15 x 14 km,
# centred near 111.65E 40.77N). Streets are north-south strips of the northern, urban
# band; the town (小黑河镇) covers the southern, rural part.
DISTRICT_RECT = Rect(111_560_000, 40_700_000, 111_740_000, 40_830_000)
URBAN_SOUTH = 40_795_000
STREET_WIDTHS = [18_000, 16_000, 20_000, 26_000, 22_000, 36_000, 42_000]

# 清泉街's ratios (report) size the other communities' compounds, buildings, households.
PEOPLE_PER_COMPOUND = data.QINGQUAN_RESIDENTS / data.QINGQUAN_COMPOUNDS
PEOPLE_PER_BUILDING = data.QINGQUAN_RESIDENTS / data.QINGQUAN_BUILDINGS
PEOPLE_PER_HOUSEHOLD = data.QINGQUAN_RESIDENTS / data.QINGQUAN_HOUSEHOLDS
FLOOR_CHOICES = (6, 7, 11, 18, 26, 33)
MAX_SEGMENT_M = 1300


@dataclass
class AreaSpec:
    code: str
    name: str
    level: str
    parent_code: str | None
    rect: Rect
    geometry: dict[str, Any]
    area_km2: float
    street_kind: str = ""


@dataclass
class CompoundSpec:
    code: str
    grid_code: str
    name: str
    address: str
    geometry: dict[str, Any]
    has_property_management: bool


@dataclass
class BuildingSpec:
    code: str
    compound_code: str
    grid_code: str
    name: str
    floors: int
    units: int
    geometry: dict[str, Any]


@dataclass
class HouseholdSpec:
    code: str
    building_code: str
    grid_code: str
    unit: str
    room: str


@dataclass
class RoadSpec:
    code: str
    street_code: str
    name: str
    a: Point
    b: Point
    geometry: dict[str, Any]
    length_m: int
    grid_codes: list[str] = field(default_factory=list)


@dataclass
class TerritoryPlan:
    seed: int
    residents: int
    district: AreaSpec
    streets: list[AreaSpec]
    communities: list[AreaSpec]
    grids: list[AreaSpec]
    community_residents: dict[str, int]
    compounds: list[CompoundSpec]
    buildings: list[BuildingSpec]
    households: list[HouseholdSpec]
    roads: list[RoadSpec]

    @property
    def areas(self) -> list[AreaSpec]:
        return [self.district, *self.streets, *self.communities, *self.grids]

    def by_code(self) -> dict[str, AreaSpec]:
        return {a.code: a for a in self.areas}

    @property
    def qingquan(self) -> AreaSpec:
        return next(c for c in self.communities if c.name == data.QINGQUAN_NAME + "社区")

    def grids_of(self, community_code: str) -> list[AreaSpec]:
        return [g for g in self.grids if g.parent_code == community_code]

    def communities_of(self, street_code: str) -> list[AreaSpec]:
        return [c for c in self.communities if c.parent_code == street_code]


def _rng(seed: int, topic: str) -> random.Random:
    return random.Random(f"civicgrid-demo:{seed}:{topic}")


def allocate(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder),
    each at least ``minimum``."""
    n = len(weights)
    base = [minimum] * n
    rest = total - minimum * n
    if rest < 0:
        raise ValueError("total is smaller than the minimum allocation")
    s = sum(weights)
    shares = [rest * w / s for w in weights]
    ints = [math.floor(x) for x in shares]
    order = sorted(range(n), key=lambda i: (-(shares[i] - ints[i]), i))
    for i in order[: rest - sum(ints)]:
        ints[i] += 1
    return [b + i for b, i in zip(base, ints, strict=True)]


def residents_split(residents: int) -> int:
    """How many of ``residents`` live in 清泉街: the reported 8800 when the build is big
    enough, else 44% (a small test or trial build)."""
    if residents >= data.QINGQUAN_RESIDENTS:
        return data.QINGQUAN_RESIDENTS
    return residents * 44 // 100


def _area_spec(
    lattice: Lattice, code: str, name: str, level: str, parent: str | None, rect: Rect, street_kind: str = ""
) -> AreaSpec:
    ring = lattice.ring(rect)
    return AreaSpec(
        code=code,
        name=name,
        level=level,
        parent_code=parent,
        rect=rect,
        geometry={"type": "Polygon", "coordinates": [[[to_degrees(x), to_degrees(y)] for x, y in ring]]},
        area_km2=round(ring_area_units(ring) * _KM2_PER_UNIT2, 4),
        street_kind=street_kind,
    )


def plan_territory(seed: int, residents: int) -> TerritoryPlan:
    """The whole territory for ``seed`` and a population of ``residents``."""
    rng = _rng(seed, "territory")
    d = DISTRICT_RECT
    street_rects: list[Rect] = []
    x = d.x0
    for width in STREET_WIDTHS:
        street_rects.append(Rect(x, URBAN_SOUTH, x + width, d.y1))
        x += width
    street_rects.append(Rect(d.x0, d.y0, d.x1, URBAN_SOUTH))  # the town
    assert x == d.x1

    # Communities: rectangles inside each street; 清泉街 first (north-west of 兴隆巷).
    names_pool = list(data.OTHER_COMMUNITY_NAMES)
    rng.shuffle(names_pool)
    community_cells: list[tuple[int, Rect, str]] = []
    for s_index, (rect, (_, _, count)) in enumerate(zip(street_rects, data.STREETS, strict=True)):
        first_area = km2_to_units2(data.QINGQUAN_AREA_KM2) if s_index == 0 else None
        cells = split_rect(rect, count, rng, first_area=first_area)
        named = list(data.NAMED_COMMUNITIES.get(s_index, []))
        others = [names_pool.pop() for _ in range(count - len(named))]
        if s_index == 0:
            rest = named[1:] + others
            rng.shuffle(rest)
            names = [named[0], *rest]
        else:
            names = named + others
            rng.shuffle(names)
        community_cells += [(s_index, cell, name) for cell, name in zip(cells, names, strict=True)]
    assert len(community_cells) == data.TOTAL_COMMUNITIES

    # Grid counts: 8 in 清泉街, 6-12 elsewhere, 508 in all.
    counts = [data.QINGQUAN_GRIDS if i == 0 else rng.randint(7, 11) for i in range(len(community_cells))]
    while sum(counts) != data.TOTAL_GRIDS:
        i = rng.randrange(1, len(counts))
        step = 1 if sum(counts) < data.TOTAL_GRIDS else -1
        if 6 <= counts[i] + step <= 12:
            counts[i] += step
    grid_cells: list[list[Rect]] = [
        split_rect(cell, n, rng) for (_, cell, _), n in zip(community_cells, counts, strict=True)
    ]
    lattice = Lattice([g for cells in grid_cells for g in cells], seed)

    district = _area_spec(lattice, data.DISTRICT_CODE, data.DISTRICT_NAME, "district", None, d)
    streets = [
        _area_spec(lattice, f"{data.DISTRICT_CODE}{i + 1:03d}", name, "street", data.DISTRICT_CODE, rect, kind)
        for i, (rect, (name, kind, _)) in enumerate(zip(street_rects, data.STREETS, strict=True))
    ]
    communities: list[AreaSpec] = []
    grids: list[AreaSpec] = []
    per_street: dict[int, int] = defaultdict(int)
    for (s_index, cell, name), cells in zip(community_cells, grid_cells, strict=True):
        per_street[s_index] += 1
        street = streets[s_index]
        c_code = f"{street.code}{per_street[s_index]:03d}"
        community = _area_spec(lattice, c_code, name + "社区", "community", street.code, cell)
        communities.append(community)
        for k, g in enumerate(cells, start=1):
            grids.append(_area_spec(lattice, f"{c_code}{k:02d}", f"{name}第{k}网格", "grid", c_code, g))

    # Residents per community.
    pop_rng = _rng(seed, "allocation")
    qingquan_people = residents_split(residents)
    weights = [
        pop_rng.uniform(0.4, 0.8) if c.code.startswith(streets[-1].code) else pop_rng.uniform(0.7, 1.3)
        for c in communities[1:]
    ]
    others_people = allocate(residents - qingquan_people, weights)
    community_residents = {communities[0].code: qingquan_people}
    community_residents.update({c.code: n for c, n in zip(communities[1:], others_people, strict=True)})

    compounds, buildings, households = _plan_housing(seed, streets, communities, grids, community_residents)
    roads = _plan_roads(seed, streets, communities, grids, community_cells)
    return TerritoryPlan(
        seed=seed,
        residents=residents,
        district=district,
        streets=streets,
        communities=communities,
        grids=grids,
        community_residents=community_residents,
        compounds=compounds,
        buildings=buildings,
        households=households,
        roads=roads,
    )


def _inner_point(rng: random.Random, rect: Rect, margin: float = 0.2) -> tuple[float, float]:
    """A point well inside a grid's rectangle: further from the edges than any jitter."""
    mx, my = rect.width * margin, rect.height * margin
    return (
        to_degrees(round(rng.uniform(rect.x0 + mx, rect.x1 - mx))),
        to_degrees(round(rng.uniform(rect.y0 + my, rect.y1 - my))),
    )


def _spread(rng: random.Random, total: int, bins: int, weights: list[float] | None = None) -> list[int]:
    """``total`` items into ``bins`` bins, each at least one (total >= bins)."""
    counts = [1] * bins
    if total > bins:
        for i in rng.choices(range(bins), weights=weights, k=total - bins):
            counts[i] += 1
    return counts


def _plan_housing(
    seed: int,
    streets: list[AreaSpec],
    communities: list[AreaSpec],
    grids: list[AreaSpec],
    community_residents: dict[str, int],
) -> tuple[list[CompoundSpec], list[BuildingSpec], list[HouseholdSpec]]:
    rng = _rng(seed, "housing")
    street_names = {s.code: s.name for s in streets}
    road_names = data.NS_ROAD_NAMES + data.EW_ROAD_NAMES
    compounds: list[CompoundSpec] = []
    buildings: list[BuildingSpec] = []
    households: list[HouseholdSpec] = []
    grids_by_parent: dict[str, list[AreaSpec]] = defaultdict(list)
    for g in grids:
        grids_by_parent[str(g.parent_code)].append(g)
    for community in communities:
        cgrids = grids_by_parent[community.code]
        people = community_residents[community.code]
        if community.name == data.QINGQUAN_NAME + "社区":
            n_comp, n_bld, n_hh = data.QINGQUAN_COMPOUNDS, data.QINGQUAN_BUILDINGS, data.QINGQUAN_HOUSEHOLDS
        else:
            n_comp = max(len(cgrids), round(people / PEOPLE_PER_COMPOUND))
            n_bld = max(n_comp, round(people / PEOPLE_PER_BUILDING))
            n_hh = max(n_bld, round(people / PEOPLE_PER_HOUSEHOLD))
        # Compounds: one per grid first, the rest in random grids.
        comp_grids = (
            [*cgrids, *rng.choices(cgrids, k=n_comp - len(cgrids))]
            if n_comp >= len(cgrids)
            else rng.sample(cgrids, n_comp)
        )
        comp_grids.sort(key=lambda g: g.code)
        name_pool = [f + s for f in data.COMPOUND_FIRST for s in data.COMPOUND_SUFFIX]
        names = rng.sample(name_pool, n_comp)
        per_grid: dict[str, int] = defaultdict(int)
        comp_specs: list[CompoundSpec] = []
        for grid, name in zip(comp_grids, names, strict=True):
            per_grid[grid.code] += 1
            x, y = _inner_point(rng, grid.rect)
            road = rng.choice(road_names)
            address = f"{data.CITY_PREFIX}{street_names[str(community.parent_code)]}{road}{rng.randint(1, 199)}号"
            comp_specs.append(
                CompoundSpec(
                    code=f"{grid.code}{per_grid[grid.code]:02d}",
                    grid_code=grid.code,
                    name=name,
                    address=address,
                    geometry=point_geojson(x, y),
                    has_property_management=rng.random() < 0.8,
                )
            )
        compounds += comp_specs
        # Buildings per compound, households per building.
        bld_counts = _spread(rng, n_bld, n_comp)
        bld_specs: list[tuple[BuildingSpec, float]] = []
        grid_rect = {g.code: g.rect for g in cgrids}
        for comp, count in zip(comp_specs, bld_counts, strict=True):
            cx, cy = comp.geometry["coordinates"]
            rect = grid_rect[comp.grid_code]
            for k in range(1, count + 1):
                dx = rng.uniform(-1, 1) * rect.width * 0.1 / UNITS_PER_DEGREE
                dy = rng.uniform(-1, 1) * rect.height * 0.1 / UNITS_PER_DEGREE
                bld_specs.append(
                    (
                        BuildingSpec(
                            code=f"{comp.code}{k:02d}",
                            compound_code=comp.code,
                            grid_code=comp.grid_code,
                            name=f"{k}号楼",
                            floors=6,
                            units=rng.choice((1, 2, 2, 3, 3, 4)),
                            geometry=point_geojson(cx + dx, cy + dy),
                        ),
                        rng.uniform(0.6, 1.4),
                    )
                )
        hh_counts = _spread(rng, n_hh, n_bld, [w for _, w in bld_specs])
        for (bld, _), count in zip(bld_specs, hh_counts, strict=True):
            units = max(bld.units, math.ceil(count / (2 * FLOOR_CHOICES[-1])))
            floors = next((f for f in FLOOR_CHOICES if f * units * 2 >= count), FLOOR_CHOICES[-1])
            bld.units, bld.floors = units, floors
            per_unit = floors * 2
            for slot in sorted(rng.sample(range(units * per_unit), count)):
                unit, rest = divmod(slot, per_unit)
                floor, door = divmod(rest, 2)
                households.append(
                    HouseholdSpec(
                        code=f"{bld.code}{unit + 1}{floor + 1:02d}{door + 1:02d}",
                        building_code=bld.code,
                        grid_code=bld.grid_code,
                        unit=str(unit + 1),
                        room=f"{floor + 1}{door + 1:02d}",
                    )
                )
            buildings.append(bld)
    return compounds, buildings, households


def _segment_length_m(a: Point, b: Point) -> float:
    dx = (b[0] - a[0]) / UNITS_PER_DEGREE * KM_PER_DEG_LON
    dy = (b[1] - a[1]) / UNITS_PER_DEGREE * KM_PER_DEG_LAT
    return math.hypot(dx, dy) * 1000


def _plan_roads(
    seed: int,
    streets: list[AreaSpec],
    communities: list[AreaSpec],
    grids: list[AreaSpec],
    community_cells: list[tuple[int, Rect, str]],
) -> list[RoadSpec]:
    """Road segments run along the community lattice (roads bound communities): each
    community owns its south and west sides (and its north/east sides on the district's
    edge), cut at every community corner and into pieces of at most ~1.3 km."""
    d = DISTRICT_RECT
    corners_h: dict[int, set[int]] = defaultdict(set)
    corners_v: dict[int, set[int]] = defaultdict(set)
    for _, rect, _ in community_cells:
        for x, y in rect.corners():
            corners_h[y].add(x)
            corners_v[x].add(y)
    xs = sorted(corners_v)
    ys = sorted(corners_h)
    ns_name = {x: data.NS_ROAD_NAMES[i % len(data.NS_ROAD_NAMES)] for i, x in enumerate(xs)}
    ew_name = {y: data.EW_ROAD_NAMES[i % len(data.EW_ROAD_NAMES)] for i, y in enumerate(ys)}

    # (street index, line key, a, b)
    pieces: dict[int, list[tuple[Point, Point]]] = defaultdict(list)
    for s_index, rect, _ in community_cells:
        sides: list[tuple[Point, Point]] = [
            ((rect.x0, rect.y0), (rect.x1, rect.y0)),
            ((rect.x0, rect.y0), (rect.x0, rect.y1)),
        ]
        if rect.y1 == d.y1:
            sides.append(((rect.x0, rect.y1), (rect.x1, rect.y1)))
        if rect.x1 == d.x1:
            sides.append(((rect.x1, rect.y0), (rect.x1, rect.y1)))
        for a, b in sides:
            if a[1] == b[1]:
                stops = sorted(x for x in corners_h[a[1]] if a[0] <= x <= b[0])
                cut = [((p, a[1]), (q, a[1])) for p, q in itertools.pairwise(stops)]
            else:
                stops = sorted(y for y in corners_v[a[0]] if a[1] <= y <= b[1])
                cut = [((a[0], p), (a[0], q)) for p, q in itertools.pairwise(stops)]
            for p, q in cut:
                n = max(1, math.ceil(_segment_length_m(p, q) / MAX_SEGMENT_M))
                for k in range(n):
                    pa = (p[0] + (q[0] - p[0]) * k // n, p[1] + (q[1] - p[1]) * k // n)
                    pb = (p[0] + (q[0] - p[0]) * (k + 1) // n, p[1] + (q[1] - p[1]) * (k + 1) // n)
                    pieces[s_index].append((pa, pb))

    chiefs = road_chiefs_per_street()
    for s_index in range(len(streets)):
        items = pieces[s_index]
        target = math.ceil(chiefs[s_index] * 1.4)
        while len(items) < target:  # split the longest piece in two
            i = max(range(len(items)), key=lambda j: (_segment_length_m(*items[j]), -j))
            p, q = items.pop(i)
            mid = ((p[0] + q[0]) // 2, (p[1] + q[1]) // 2)
            items[i:i] = [(p, mid), (mid, q)]

    grid_shapes = [shape(g.geometry) for g in grids]
    tree = shapely.STRtree(grid_shapes)
    roads: list[RoadSpec] = []
    for s_index, street in enumerate(streets):
        items = sorted(pieces[s_index], key=lambda pq: (pq[0][1] != pq[1][1], pq[0], pq[1]))
        counters: dict[str, int] = defaultdict(int)
        for i, (a, b) in enumerate(items, start=1):
            road = ew_name[a[1]] if a[1] == b[1] else ns_name[a[0]]
            counters[road] += 1
            geometry = line_geojson(a, b)
            line = LineString(geometry["coordinates"])
            crossed = sorted(
                grids[j].code
                for j in tree.query(line, predicate="intersects")
                if grid_shapes[j].intersection(line).length > 1e-9
            )
            roads.append(
                RoadSpec(
                    code=f"{street.code}L{i:03d}",
                    street_code=street.code,
                    name=f"{road}{counters[road]}段",
                    a=a,
                    b=b,
                    geometry=geometry,
                    length_m=round(_segment_length_m(a, b)),
                    grid_codes=crossed,
                )
            )
    return roads


def road_chiefs_per_street() -> list[int]:
    """139 road chiefs: 26 in 小召 (report), the rest in proportion to communities."""
    others = [i for i in range(len(data.STREETS)) if i != data.XIAOZHAO_STREET_INDEX]
    split = allocate(data.ROAD_CHIEFS - data.XIAOZHAO_ROAD_CHIEFS, [data.STREETS[i][2] for i in others])
    out = [0] * len(data.STREETS)
    out[data.XIAOZHAO_STREET_INDEX] = data.XIAOZHAO_ROAD_CHIEFS
    for i, n in zip(others, split, strict=True):
        out[i] = n
    return out
