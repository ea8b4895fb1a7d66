"""Tiling geometry for the demo district.

Every node is first an axis-aligned rectangle in integer micro-degrees (1 unit = 1e-6
degree), so a street is split into community rectangles and a community into grid
rectangles exactly, with no floating-point gaps. Each rectangle side is then cut at every
lattice vertex lying on it (including the T-junctions of neighbours) into "pieces", and
each piece is replaced by a jittered polyline that depends only on the piece's two end
points and the seed. Two neighbours therefore share the very same polyline, so the
polygons still tile exactly, and the jitter offsets of a piece sum to zero, so a
rectangle's area is unchanged by the jitter (up to one unit of rounding).

Areas in km² use a local equal-area approximation at the district's latitude."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

UNITS_PER_DEGREE = 1_000_000
REFERENCE_LATITUDE = 40.78
KM_PER_DEG_LON = 111.320 * math.cos(math.radians(REFERENCE_LATITUDE))
KM_PER_DEG_LAT = 110.574
KM2_PER_DEG2 = KM_PER_DEG_LON * KM_PER_DEG_LAT
KM2_PER_UNIT2 = KM2_PER_DEG2 / UNITS_PER_DEGREE**2

# Jitter: pieces shorter than this stay straight; otherwise one wiggle point every
# JITTER_SPACING units, displaced by at most JITTER_MAX units (and 22% of the spacing).
JITTER_MIN_PIECE = 1500
JITTER_SPACING = 1100
JITTER_MAX = 200

Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Rect:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area_units(self) -> int:
        return self.width * self.height

    def corners(self) -> list[Point]:
        return [(self.x0, self.y0), (self.x1, self.y0), (self.x1, self.y1), (self.x0, self.y1)]


def km2_to_units2(km2: float) -> float:
    return km2 / KM2_PER_UNIT2


def polygon_area_km2(geometry: Any) -> float:
    """Area of a shapely geometry in lon/lat degrees, in km² (local equal-area)."""
    return float(geometry.area) * KM2_PER_DEG2


def line_length_m(geometry: Any) -> float:
    """Length of a lon/lat LineString in metres (local approximation)."""
    coords = list(geometry.coords)
    total = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(coords):
        total += math.hypot((x1 - x0) * KM_PER_DEG_LON, (y1 - y0) * KM_PER_DEG_LAT)
    return total * 1000


def _cuts(total: int, weights: Sequence[float]) -> list[int]:
    """Integer cut positions 0 = c0 < c1 < ... < cn = total proportional to weights."""
    s = sum(weights)
    acc = 0.0
    cuts = [0]
    for w in weights[:-1]:
        acc += w
        cuts.append(round(total * acc / s))
    cuts.append(total)
    return cuts


def split_rect(rect: Rect, count: int, rng: random.Random, *, first_area: float | None = None) -> list[Rect]:
    """Split a rectangle into ``count`` rectangles: a few rows (north to south), each cut
    into columns (west to east), with randomised widths. With ``first_area`` the first
    cell (north-west) gets exactly that area (in units²)."""
    rows = max(1, min(count, round(math.sqrt(count * rect.height / rect.width))))
    per_row = [count // rows] * rows
    for i in range(count - sum(per_row)):
        per_row[i % rows] += 1
    rng.shuffle(per_row)
    row_cuts = _cuts(rect.height, [rng.uniform(0.85, 1.15) for _ in range(rows)])
    cells: list[Rect] = []
    for r in range(rows):
        # Row r counted from the north.
        y1 = rect.y1 - row_cuts[r]
        y0 = rect.y1 - row_cuts[r + 1]
        n = per_row[r]
        if r == 0 and first_area is not None:
            first_width = round(first_area / (y1 - y0))
            if n == 1:
                raise ValueError("first_area needs at least two cells in the first row")
            rest = _cuts(rect.width - first_width, [rng.uniform(0.8, 1.2) for _ in range(n - 1)])
            xs = [rect.x0, *(rect.x0 + first_width + c for c in rest)]
        else:
            xs = [rect.x0 + c for c in _cuts(rect.width, [rng.uniform(0.8, 1.2) for _ in range(n)])]
        for c in range(n):
            cells.append(Rect(xs[c], y0, xs[c + 1], y1))
    return cells


class Lattice:
    """All the finest rectangles (grids) of the tiling, and the jittered rings built
    from them. Any rectangle that is a union of finest rectangles (a community, a street,
    the district) gets a ring from the same pieces, so the levels nest exactly."""

    def __init__(self, cells: Iterable[Rect], seed: int) -> None:
        self.seed = seed
        self._on_h: dict[int, list[int]] = defaultdict(list)  # y -> sorted xs of vertices
        self._on_v: dict[int, list[int]] = defaultdict(list)  # x -> sorted ys of vertices
        points: set[Point] = set()
        for cell in cells:
            points.update(cell.corners())
        for x, y in points:
            self._on_h[y].append(x)
            self._on_v[x].append(y)
        for values in (*self._on_h.values(), *self._on_v.values()):
            values.sort()
        self._pieces: dict[tuple[Point, Point], list[Point]] = {}

    def _breaks(self, a: Point, b: Point) -> list[Point]:
        """Lattice vertices strictly between a and b on an axis-aligned side."""
        if a[1] == b[1]:
            xs = self._on_h[a[1]]
            lo, hi = sorted((a[0], b[0]))
            inner = xs[bisect.bisect_right(xs, lo) : bisect.bisect_left(xs, hi)]
            pts = [(x, a[1]) for x in inner]
        else:
            ys = self._on_v[a[0]]
            lo, hi = sorted((a[1], b[1]))
            inner = ys[bisect.bisect_right(ys, lo) : bisect.bisect_left(ys, hi)]
            pts = [(a[0], y) for y in inner]
        return pts if a < b else pts[::-1]

    def piece(self, a: Point, b: Point) -> list[Point]:
        """Interior points of the jittered polyline from a to b (in that direction)."""
        key = (a, b) if a < b else (b, a)
        inner = self._pieces.get(key)
        if inner is None:
            inner = self._jitter(*key)
            self._pieces[key] = inner
        return inner if a < b else inner[::-1]

    def _jitter(self, a: Point, b: Point) -> list[Point]:
        horizontal = a[1] == b[1]
        length = (b[0] - a[0]) if horizontal else (b[1] - a[1])
        if length < JITTER_MIN_PIECE:
            return []
        n = max(2, length // JITTER_SPACING)
        spacing = length / (n + 1)
        amp = int(min(JITTER_MAX, 0.22 * spacing))
        rng = random.Random(f"{self.seed}:{a[0]}:{a[1]}:{b[0]}:{b[1]}")
        # Zero sum (the piece moves no area across it): offsets come in +v/-v pairs.
        offsets = [0] * (n % 2)
        for _ in range(n // 2):
            v = rng.randint(-amp, amp)
            offsets += [v, -v]
        rng.shuffle(offsets)
        pts: list[Point] = []
        for i, off in enumerate(offsets, start=1):
            along = round(spacing * i)
            pts.append((a[0] + along, a[1] + off) if horizontal else (a[0] + off, a[1] + along))
        return pts

    def ring(self, rect: Rect) -> list[Point]:
        """The closed, counter-clockwise jittered ring of a lattice rectangle."""
        corners = rect.corners()
        ring: list[Point] = []
        for i in range(4):
            a, b = corners[i], corners[(i + 1) % 4]
            ring.append(a)
            stops = [a, *self._breaks(a, b), b]
            for p, q in itertools.pairwise(stops):
                if p != a:
                    ring.append(p)
                ring.extend(self.piece(p, q))
        ring.append(ring[0])
        return ring

    def polygon_geojson(self, rect: Rect) -> dict[str, Any]:
        return ring_geojson(self.ring(rect))


def to_degrees(value: int) -> float:
    return value / UNITS_PER_DEGREE


def ring_geojson(ring: Sequence[Point]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[to_degrees(x), to_degrees(y)] for x, y in ring]]}


def ring_area_units(ring: Sequence[Point]) -> float:
    """Shoelace area of a closed ring, in units² (exact integer arithmetic)."""
    total = 0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


def point_geojson(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]}


def line_geojson(a: Point, b: Point) -> dict[str, Any]:
    return {
        "type": "LineString",
        "coordinates": [[to_degrees(a[0]), to_degrees(a[1])], [to_degrees(b[0]), to_degrees(b[1])]],
    }
