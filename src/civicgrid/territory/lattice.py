"""A fixed square lattice over lon/lat: the heat map's cells and the public generalisation
of locations (a point is shown as the centre of its cell, never itself)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, QuerySet
from django.db.models.functions import Floor

from civicgrid.territory.geo import M_PER_DEG_LAT, M_PER_DEG_LON
from civicgrid.territory.models import Area


@dataclass(frozen=True)
class Lattice:
    """A fixed square lattice of ``cell_m`` metres: latitude steps of ``cell_m`` metres, and
    longitude steps of ``cell_m`` metres at the reference latitude ``ref_lat`` (so the cells
    stay square enough over a district). Cell (i, j) is [i*dlon, (i+1)*dlon) x [j*dlat, ...)."""

    cell_m: int
    ref_lat: float

    @property
    def dlat(self) -> float:
        return self.cell_m / M_PER_DEG_LAT

    @property
    def dlon(self) -> float:
        return self.cell_m / (M_PER_DEG_LON * max(math.cos(math.radians(self.ref_lat)), 0.01))

    def centre(self, i: float, j: float) -> tuple[float, float]:
        return (round((i + 0.5) * self.dlon, 6), round((j + 0.5) * self.dlat, 6))

    def cell_of(self, lon: float, lat: float) -> tuple[int, int]:
        return (math.floor(lon / self.dlon), math.floor(lat / self.dlat))

    def snap(self, lon: float, lat: float) -> tuple[float, float]:
        """The centre of the cell holding (lon, lat): never the point itself."""
        return self.centre(*self.cell_of(lon, lat))

    def counts(self, qs: QuerySet[Any], **extra: Any) -> list[dict[str, Any]]:
        """One GROUP BY in the database: the rows of ``qs`` (with ``lon``/``lat``) per cell, with
        any extra conditional counts (``name=Count(..., filter=...)``)."""
        rows = (
            qs.filter(lon__isnull=False, lat__isnull=False)
            .annotate(cell_i=Floor(F("lon") / self.dlon), cell_j=Floor(F("lat") / self.dlat))
            .values("cell_i", "cell_j")
            .annotate(n=Count("id"), **extra)
            .order_by()
        )
        out = []
        for row in rows:
            r: dict[str, Any] = dict(row)
            lon, lat = self.centre(r["cell_i"], r["cell_j"])
            item = {"lon": lon, "lat": lat, "count": int(r["n"])}
            for key in extra:
                item[key] = int(r[key] or 0)
            out.append(item)
        out.sort(key=lambda p: (p["lat"], p["lon"]))
        return out


def reference_latitude(node: Area) -> float:
    """The node's middle latitude (its geometry's bounds), rounded to 0.1° so the lattice
    of a node never moves when a boundary is edited slightly; 0 without a geometry."""
    geometry = Area.objects.filter(pk=node.pk).values_list("geometry", flat=True).first()
    lats: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, list | tuple) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords):
            lats.append(float(coords[1]))
        elif isinstance(coords, list | tuple):
            for c in coords:
                walk(c)

    if isinstance(geometry, dict):
        walk(geometry.get("coordinates"))
    if not lats:
        return 0.0
    return round((min(lats) + max(lats)) / 2, 1)
