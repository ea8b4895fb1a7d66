"""Track geometry with shapely 2: distance, coverage, speed and out-of-area checks.

Coordinates are WGS 84 lon/lat. For buffers and lengths the shapes are projected to a local
equirectangular plane in metres around a reference latitude (error well under 1% over a
district-sized patch), which keeps everything in shapely without a projection library."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.geometry

EARTH_RADIUS_M = 6_371_008.8
# The swath (the band a track covers) is built from the track thinned (Douglas-Peucker) to this
# many metres: GPS jitter makes a dense track a zig-zag whose buffer costs 10x more to build, and
# the band moves by at most this much - within GPS error, well under the 30/50 m buffers.
SWATH_SIMPLIFY_M = 8.0


def haversine_m(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Great-circle distances (metres) between consecutive points."""
    lon = np.radians(lons)
    lat = np.radians(lats)
    dlon = np.diff(lon)
    dlat = np.diff(lat)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


class LocalPlane:
    """lon/lat -> metres on a plane tangent at ``lat0``."""

    def __init__(self, lat0: float) -> None:
        self.kx = EARTH_RADIUS_M * np.pi / 180.0 * np.cos(np.radians(lat0))
        self.ky = EARTH_RADIUS_M * np.pi / 180.0

    def xy(self, coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords, dtype=np.float64)
        out[:, 0] = coords[:, 0] * self.kx
        out[:, 1] = coords[:, 1] * self.ky
        return out

    def shape(self, geometry: Any) -> Any:
        shape = geometry if isinstance(geometry, shapely.Geometry) else shapely.geometry.shape(geometry)
        if not shape.is_valid:
            shape = shapely.make_valid(shape)
        return shapely.transform(shape, self.xy)


@dataclass(frozen=True)
class TrackFacts:
    distance_m: float
    coverage: float
    max_speed_kmh: float
    fast_segments: int
    outside_points: int
    point_count: int


def analyse(
    lons: Sequence[float] | np.ndarray,
    lats: Sequence[float] | np.ndarray,
    seconds: Sequence[float] | np.ndarray,
    *,
    targets: Iterable[Any],
    kind: str,
    buffer_m: float,
    max_speed_kmh: float,
    min_segment_m: float,
    outside_tolerance_m: float,
) -> TrackFacts:
    """``kind`` is "line" (road segments: share of their length within ``buffer_m`` of the
    track) or "area" (grids: share of their area within ``buffer_m`` of the track).
    ``targets`` are GeoJSON geometries (or shapely shapes) in lon/lat."""
    x = np.asarray(lons, dtype=np.float64)
    y = np.asarray(lats, dtype=np.float64)
    t = np.asarray(seconds, dtype=np.float64)
    n = int(x.shape[0])
    target_list = list(targets)
    if n == 0:
        return TrackFacts(0.0, 0.0, 0.0, 0, 0, 0)
    steps = haversine_m(x, y) if n > 1 else np.zeros(0)
    distance = float(steps.sum())
    dt = np.diff(t) if n > 1 else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        speeds = np.where(dt > 0, steps / np.where(dt > 0, dt, 1.0) * 3.6, 0.0)
    # GPS jitter over a second or two looks fast: only steps of some length count.
    fast = int(((speeds > max_speed_kmh) & (steps >= min_segment_m)).sum())
    max_speed = float(speeds[steps >= min_segment_m].max()) if (steps >= min_segment_m).any() else 0.0

    plane = LocalPlane(float(np.mean(y)))
    pts = plane.xy(np.column_stack([x, y]))
    track = shapely.linestrings(pts) if n > 1 else shapely.points(pts[0])
    coverage = 0.0
    outside = 0
    shapes = [plane.shape(g) for g in target_list if g]
    if shapes:
        target = shapely.union_all(shapes)
        swath = shapely.buffer(shapely.simplify(track, SWATH_SIMPLIFY_M), buffer_m, quad_segs=4)
        if kind == "line":
            total = target.length
            coverage = float(shapely.intersection(target, swath).length / total) if total > 0 else 0.0
        else:
            total = target.area
            coverage = float(shapely.intersection(target, swath).area / total) if total > 0 else 0.0
        shapely.prepare(target)
        distances = shapely.distance(target, shapely.points(pts))
        outside = int((distances > outside_tolerance_m).sum())
    return TrackFacts(
        distance_m=round(distance, 1),
        coverage=round(min(coverage, 1.0), 4),
        max_speed_kmh=round(max_speed, 1),
        fast_segments=fast,
        outside_points=outside,
        point_count=n,
    )


# About 3 m at the district's latitude: invisible on a street map.
SIMPLIFY_TOLERANCE_DEG = 0.00003
MAX_MAP_POINTS = 300


def simplify_track(
    lons: Sequence[float], lats: Sequence[float], *, max_points: int = MAX_MAP_POINTS
) -> list[list[float]]:
    """The track as [[lon, lat], ...] for a map: Douglas-Peucker (shapely.simplify, topology not
    preserved: a track may cross itself) at ~3 m, the tolerance doubled until at most
    ``max_points`` remain; 6 decimals (~0.1 m)."""
    n = len(lons)
    if n == 0:
        return []
    if n == 1:
        return [[round(float(lons[0]), 6), round(float(lats[0]), 6)]]
    xy = np.column_stack([np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)])
    line = shapely.linestrings(xy)
    tolerance = SIMPLIFY_TOLERANCE_DEG
    coords = shapely.get_coordinates(shapely.simplify(line, tolerance, preserve_topology=False))
    while len(coords) > max_points:
        tolerance *= 2
        coords = shapely.get_coordinates(shapely.simplify(line, tolerance, preserve_topology=False))
    return [[round(float(x), 6), round(float(y), 6)] for x, y in coords]
