"""Point-in-grid location: which grid (and community, street, district) holds a point.

One shapely 2 STRtree over every grid polygon is built once per process and reused.
``locate(lon, lat)`` answers one point, ``locate_many(lons, lats)`` answers numpy arrays
with one vectorised envelope query plus one vectorised exact test on prepared
polygons (equivalent to ``STRtree.query(points, predicate="covered_by")``, faster).

Semantics:
- A grid holds a point when the grid polygon *covers* it (boundary included), so a
  point on a border is never lost; when several grids cover it (a shared border or a
  shared corner) the grid with the lowest code wins, deterministically. The tree keeps
  the grids sorted by code, so "lowest code" is simply the lowest tree index.
- A point outside every grid gets ``status == "outside"`` ("不在辖区范围内"), impossible
  coordinates (NaN, infinities, |lat| > 90, |lon| > 180, non-numbers) get
  ``status == "invalid"``; neither raises.
- Results are immutable and shared: the per-grid result objects are built with the
  index, so answering a point allocates nothing but the query point.

Freshness: every Area save/delete bumps ``BoundaryVersion`` (see signals.py) and marks
this process's index stale at once; other processes compare their index's version with
the database at most once every ``TERRITORY_LOCATE_CHECK_SECONDS`` (default 5) and
rebuild when it differs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from django.conf import settings
from django.utils.translation import gettext

from civicgrid.territory.enums import AreaLevel

logger = logging.getLogger(__name__)

DEFAULT_CHECK_SECONDS = 5.0

INSIDE = "inside"
OUTSIDE = "outside"
INVALID = "invalid"
OUT_OF_SCOPE = "out_of_scope"

# Positions in LocateBatch.index that are not grids (they index the two trailing
# entries of the index's result array).
OUTSIDE_INDEX = -1
INVALID_INDEX = -2


@dataclass(frozen=True, slots=True)
class AreaRef:
    id: int
    code: str
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True)
class LocateResult:
    """Where a point is. ``grid`` and its chain are None unless ``inside``."""

    status: str
    grid: AreaRef | None = None
    community: AreaRef | None = None
    street: AreaRef | None = None
    district: AreaRef | None = None

    @property
    def inside(self) -> bool:
        return self.status == INSIDE

    @property
    def message(self) -> str:
        if self.status == INSIDE:
            return gettext("位于%(name)s") % {"name": self.grid.name if self.grid else ""}
        if self.status == OUTSIDE:
            return gettext("不在辖区范围内")
        if self.status == OUT_OF_SCOPE:
            return gettext("该位置不在您的辖区范围内")
        return gettext("坐标无效：经度应在-180到180之间，纬度应在-90到90之间")

    def as_dict(self) -> dict[str, Any]:
        def ref(value: AreaRef | None) -> dict[str, Any] | None:
            return value.as_dict() if value else None

        return {
            "inside": self.inside,
            "status": self.status,
            "message": self.message,
            "grid": ref(self.grid),
            "community": ref(self.community),
            "street": ref(self.street),
            "district": ref(self.district),
        }


RESULT_OUTSIDE = LocateResult(status=OUTSIDE)
RESULT_INVALID = LocateResult(status=INVALID)
RESULT_OUT_OF_SCOPE = LocateResult(status=OUT_OF_SCOPE)


@dataclass(frozen=True, slots=True)
class GridEntry:
    """One grid for the index: its polygon and the result that locating into it gives."""

    geometry: Any  # shapely Polygon / MultiPolygon
    result: LocateResult

    @property
    def code(self) -> str:
        assert self.result.grid is not None
        return self.result.grid.code


class LocateBatch:
    """The answer to ``locate_many``: one tree index per input point, vectorised.

    ``index[i]`` is the position of point i's grid in the index (>= 0), or
    ``OUTSIDE_INDEX`` / ``INVALID_INDEX``. Per-point results are materialised lazily."""

    __slots__ = ("_codes", "_results", "index")

    def __init__(self, index: np.ndarray, results: np.ndarray, codes: np.ndarray) -> None:
        self.index = index
        self._results = results
        self._codes = codes

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def inside(self) -> np.ndarray:
        return self.index >= 0

    def grid_codes(self) -> np.ndarray:
        """An object array of grid codes, None where the point is in no grid."""
        codes: np.ndarray = self._codes[self.index]
        return codes

    def results(self) -> list[LocateResult]:
        return list(self._results[self.index])

    def __getitem__(self, i: int) -> LocateResult:
        return self._results[self.index[i]]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[LocateResult]:
        return iter(self.results())


def _to_shape(geometry: Any) -> Any:
    shape = shapely.geometry.shape(geometry)
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
    return shape


class LocateIndex:
    """An immutable STRtree over grid polygons, sorted by grid code."""

    def __init__(self, entries: Iterable[GridEntry], *, version: int = 0) -> None:
        ordered = sorted(entries, key=lambda e: e.code)
        self.version = version
        self.size = len(ordered)
        geoms = np.empty(len(ordered), dtype=object)
        geoms[:] = [e.geometry for e in ordered]
        shapely.prepare(geoms)
        self.geometries = geoms
        self._geometry_list: list[Any] = list(geoms)
        self._tree = shapely.STRtree(geoms)
        self._results: list[LocateResult] = [e.result for e in ordered]
        # Trailing entries make OUTSIDE_INDEX (-1) and INVALID_INDEX (-2) index directly.
        results = np.empty(len(ordered) + 2, dtype=object)
        results[:] = [*self._results, RESULT_INVALID, RESULT_OUTSIDE]
        self._result_array = results
        codes = np.empty(len(ordered) + 2, dtype=object)
        codes[:] = [e.code for e in ordered] + [None, None]
        self._code_array = codes

    def __len__(self) -> int:
        return self.size

    @property
    def tree(self) -> shapely.STRtree:
        return self._tree

    def result_at(self, position: int) -> LocateResult:
        """The result of the grid at ``position`` in the tree (code order)."""
        return self._results[position]

    # --- construction ------------------------------------------------------------------
    @classmethod
    def from_database(cls) -> LocateIndex:
        from civicgrid.territory.models import Area, BoundaryVersion

        # Read the version first: if boundaries change while we read, the stored version
        # is older than the data's and the next check rebuilds again (never the reverse).
        version = BoundaryVersion.current()
        nodes: dict[int, tuple[str, str, str, int | None]] = {
            pk: (code, name, level, parent_id)
            for pk, code, name, level, parent_id in Area.objects.exclude(level=AreaLevel.GRID).values_list(
                "id", "code", "name", "level", "parent_id"
            )
        }
        refs: dict[int, AreaRef] = {}

        def ref(pk: int) -> AreaRef:
            if pk not in refs:
                refs[pk] = AreaRef(pk, nodes[pk][0], nodes[pk][1])
            return refs[pk]

        entries: list[GridEntry] = []
        rows = Area.objects.filter(level=AreaLevel.GRID, geometry__isnull=False).values_list(
            "id", "code", "name", "parent_id", "geometry"
        )
        for pk, code, name, parent_id, geometry in rows.iterator(chunk_size=5000):
            try:
                shape = _to_shape(geometry)
            except Exception:  # a broken row must not take locate down for everyone
                logger.warning("grid %s has an unreadable geometry; left out of the locate index", code)
                continue
            if shape.is_empty:
                continue
            chain: dict[str, AreaRef] = {}
            seen: set[int] = set()
            current: int | None = parent_id
            while current is not None and current in nodes and current not in seen:
                seen.add(current)
                chain.setdefault(nodes[current][2], ref(current))
                current = nodes[current][3]
            result = LocateResult(
                status=INSIDE,
                grid=AreaRef(pk, code, name),
                community=chain.get(AreaLevel.COMMUNITY),
                street=chain.get(AreaLevel.STREET),
                district=chain.get(AreaLevel.DISTRICT),
            )
            entries.append(GridEntry(shape, result))
        return cls(entries, version=version)

    @classmethod
    def from_geometries(cls, grids: Iterable[tuple[str, str, Any]], *, version: int = 0) -> LocateIndex:
        """An index from (code, name, geometry) triples (GeoJSON dict or shapely); ids are
        sequence numbers. For tests and tools that have no database rows."""
        entries = []
        for i, (code, name, geometry) in enumerate(grids):
            shape = geometry if isinstance(geometry, shapely.Geometry) else _to_shape(geometry)
            entries.append(GridEntry(shape, LocateResult(status=INSIDE, grid=AreaRef(i + 1, code, name))))
        return cls(entries, version=version)

    # --- queries -------------------------------------------------------------------------
    def locate(self, lon: Any, lat: Any) -> LocateResult:
        try:
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):  # NaN fails too
                return RESULT_INVALID
            point = shapely.points((lon, lat))
        except (TypeError, ValueError):
            return RESULT_INVALID
        # Envelope candidates from the tree, then the exact test on prepared polygons
        # (faster than the tree's own predicate pass, which prepares the query point).
        candidates = self._tree.query(point)
        n = candidates.shape[0]
        if n == 1:
            i = candidates[0]
            return self._results[i] if self._geometry_list[i].covers(point) else RESULT_OUTSIDE
        if n == 0:
            return RESULT_OUTSIDE
        for i in np.sort(candidates).tolist():
            if self._geometry_list[i].covers(point):
                return self._results[int(i)]
        return RESULT_OUTSIDE

    def locate_many(self, lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray) -> LocateBatch:
        x = np.asarray(lons, dtype=np.float64).ravel()
        y = np.asarray(lats, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError("lons and lats must have the same length")
        n = x.shape[0]
        valid = (x >= -180.0) & (x <= 180.0) & (y >= -90.0) & (y <= 90.0)  # NaN -> False
        if valid.all():
            selected = None
            xs, ys = x, y
        else:
            selected = np.flatnonzero(valid)
            xs, ys = x[selected], y[selected]
        point_idx, tree_idx = self._tree.query(shapely.points(xs, ys))
        # For a point, "intersects" is exactly "covered by" (boundary included); the _xy
        # form tests raw coordinates against the prepared polygons without new geometries.
        covered = shapely.intersects_xy(self.geometries[tree_idx], xs[point_idx], ys[point_idx])
        point_idx, tree_idx = point_idx[covered], tree_idx[covered]
        if selected is not None:
            point_idx = selected[point_idx]
        # Lowest tree index (= lowest code) per point, OUTSIDE where nothing covers it.
        big = np.iinfo(np.intp).max
        best = np.full(n, big, dtype=np.intp)
        np.minimum.at(best, point_idx, tree_idx)
        index = np.where(best != big, best, np.where(valid, OUTSIDE_INDEX, INVALID_INDEX))
        return LocateBatch(index, self._result_array, self._code_array)


# --- the process-wide index ----------------------------------------------------------------
_lock = threading.Lock()
_index: LocateIndex | None = None
_stale = True
_next_check = 0.0
_clock = time.monotonic  # tests replace it to step past the check interval


def check_interval() -> float:
    return float(getattr(settings, "TERRITORY_LOCATE_CHECK_SECONDS", DEFAULT_CHECK_SECONDS))


def mark_stale() -> None:
    """Rebuild this process's index before the next answer (boundaries changed here)."""
    global _stale
    _stale = True


def get_index() -> LocateIndex:
    index = _index
    if index is not None and not _stale and _clock() < _next_check:
        return index
    return _refresh()


def _refresh() -> LocateIndex:
    global _index, _stale, _next_check
    with _lock:
        index = _index
        if index is None or _stale:
            _stale = False  # before reading: a change during the build marks it stale again
            index = LocateIndex.from_database()
        elif _stored_version() != index.version:
            index = LocateIndex.from_database()
        _index = index
        _next_check = _clock() + check_interval()
        return index


def _stored_version() -> int:
    from civicgrid.territory.models import BoundaryVersion

    return BoundaryVersion.current()


def locate(lon: Any, lat: Any) -> LocateResult:
    """The grid (and its community, street, district) holding the point (WGS 84)."""
    return get_index().locate(lon, lat)


def locate_many(lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray) -> LocateBatch:
    """``locate`` for arrays of points, in one vectorised tree query."""
    return get_index().locate_many(lons, lats)
