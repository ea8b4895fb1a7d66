"""Small geometry helpers shared by import, export and pages (WGS 84 lon/lat)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import shapely
import shapely.affinity
import shapely.geometry

# Metres per degree of latitude, and of longitude at the equator (WGS 84 mean values).
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0


def to_shape(geometry: Any) -> Any:
    """A shapely geometry from a GeoJSON geometry dict (no repair)."""
    return shapely.geometry.shape(geometry)


def area_m2(shape: Any) -> float:
    """Planar area in square metres, scaled at the shape's own latitude. Good to well
    under 1% for a district-sized shape, which is all tolerance checks and area_km2 need."""
    if shape is None or shape.is_empty:
        return 0.0
    lat = shape.centroid.y
    return float(shape.area) * M_PER_DEG_LAT * M_PER_DEG_LON * math.cos(math.radians(lat))


def length_m(shape: Any) -> float:
    """Approximate length in metres of a (multi)line."""
    if shape is None or shape.is_empty:
        return 0.0
    lat = shape.centroid.y
    scaled = shapely.affinity.scale(
        shape, xfact=M_PER_DEG_LON * math.cos(math.radians(lat)), yfact=M_PER_DEG_LAT, origin=(0, 0)
    )
    return float(scaled.length)


def area_km2(shape: Any) -> Decimal:
    return Decimal(area_m2(shape) / 1e6).quantize(Decimal("0.0001"))


def bounds(geometries: list[Any]) -> list[float] | None:
    shapes = [to_shape(g) for g in geometries if g]
    if not shapes:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(shapes)
    return [float(minx), float(miny), float(maxx), float(maxy)]
