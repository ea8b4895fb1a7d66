# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.territory import locate
from civicgrid.territory.locate import LocateIndex

pytestmark = pytest.mark.django_db

G = "15010400100101"  # grid 1 of community 1 of street 1


def test_inside_returns_grid_and_whole_chain(district):
    grid = district.grids[0]
    result = locate.locate(*district.grid_center(grid))
    assert result.inside and result.status == "inside"
    assert result.grid is not None and result.grid.code == grid.code == G
    assert result.grid.id == grid.pk and result.grid.name == grid.name
    assert result.community is not None and result.community.code == "150104001001"
    assert result.street is not None and result.street.code == "150104001"
    assert result.district is not None and result.district.code == "150104"
    assert result.as_dict()["community"]["name"] == district.communities[0].name


def test_every_grid_centre_locates_to_its_grid(district):
    for grid in district.grids:
        assert locate.locate(*district.grid_center(grid)).grid.code == grid.code


def test_outside_is_a_result_not_an_exception(district):
    result = locate.locate(111.0, 40.0)
    assert not result.inside
    assert result.status == "outside"
    assert result.grid is None and result.district is None
    assert result.message == "不在辖区范围内"


@pytest.mark.parametrize(
    "lon,lat",
    [
        (math.nan, 40.77),
        (111.61, math.nan),
        (math.inf, 40.0),
        (111.6, 90.5),
        (111.6, -91),
        (181, 40),
        (-180.5, 0),
        (None, 40.0),
        ("111.6", 40.77),
        ([1], 2),
    ],
)
def test_impossible_coordinates_are_invalid_results(district, lon, lat):
    result = locate.locate(lon, lat)
    assert result.status == "invalid" and not result.inside and result.grid is None
    assert "坐标无效" in result.message


def test_shared_border_gets_the_lowest_code_deterministically(district):
    # x = 111.61 is the border between grids 01 and 02 of community 150104001001.
    results = {locate.locate(111.61, 40.765).grid.code for _ in range(5)}
    assert results == {"15010400100101"}
    # (111.62, 40.77) is the corner shared by four grids of two streets.
    assert locate.locate(111.62, 40.77).grid.code == "15010400100102"
    # The district's own outer boundary is covered too (covers, not contains).
    assert locate.locate(111.60, 40.765).grid.code == "15010400100101"
    assert locate.locate(111.64, 40.78).grid.code == "15010400200202"


def test_bulk_equals_single_including_borders_and_bad_points(district):
    lons = [111.605, 111.61, 111.62, 111.0, math.nan, 111.63, 200.0, 111.64]
    lats = [40.765, 40.765, 40.77, 40.0, 40.77, 40.775, 40.77, 40.78]
    batch = locate.locate_many(np.array(lons), np.array(lats))
    singles = [locate.locate(x, y) for x, y in zip(lons, lats, strict=True)]
    assert batch.results() == singles
    assert list(batch.grid_codes()) == [r.grid.code if r.grid else None for r in singles]
    assert list(batch.inside) == [r.inside for r in singles]
    assert [r.status for r in batch] == [
        "inside",
        "inside",
        "inside",
        "outside",
        "invalid",
        "inside",
        "invalid",
        "inside",
    ]
    assert len(batch) == 8 and batch[3].status == "outside"


def test_bulk_with_lists_and_empty_input(district):
    assert len(locate.locate_many([], [])) == 0
    assert locate.locate_many([111.605], [40.765])[0].grid.code == G
    with pytest.raises(ValueError):
        locate.locate_many([1.0, 2.0], [1.0])


def test_no_grids_at_all_locates_outside(db):
    assert locate.locate(111.6, 40.77).status == "outside"
    assert locate.locate_many([111.6], [40.77])[0].status == "outside"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_point_inside_a_grid_locates_to_that_grid(district, data):
    grid = data.draw(st.sampled_from(district.grids))
    ring = grid.geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    u = data.draw(st.floats(min_value=0.001, max_value=0.999))
    v = data.draw(st.floats(min_value=0.001, max_value=0.999))
    lon = min(xs) + u * (max(xs) - min(xs))
    lat = min(ys) + v * (max(ys) - min(ys))
    assert locate.locate(lon, lat).grid.code == grid.code
    assert locate.locate_many([lon], [lat]).grid_codes()[0] == grid.code


# --- irregular polygons, no database: locate must equal a brute-force "lowest covering code" ---
def _voronoi_index(seed: int = 7, n: int = 60) -> tuple[LocateIndex, list[tuple[str, object]]]:
    rng = np.random.default_rng(seed)
    pts = shapely.multipoints(rng.uniform(0, 1, size=(n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=shapely.box(-1, -1, 2, 2)))
    frame = shapely.box(0, 0, 1, 1)
    cells = [shapely.intersection(c, frame) for c in cells]
    grids = [(f"G{i:04d}", f"网格{i}", c) for i, c in enumerate(cells)]
    return LocateIndex.from_geometries(grids), [(code, geom) for code, _n, geom in grids]


VORONOI, VORONOI_GRIDS = _voronoi_index()


def _brute_force(lon: float, lat: float) -> str | None:
    p = shapely.Point(lon, lat)
    covering = sorted(code for code, geom in VORONOI_GRIDS if geom.covers(p))
    return covering[0] if covering else None


coordinate = st.floats(min_value=-0.2, max_value=1.2, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(lon=coordinate, lat=coordinate)
def test_property_irregular_polygons_match_brute_force(lon, lat):
    result = VORONOI.locate(lon, lat)
    assert (result.grid.code if result.grid else None) == _brute_force(lon, lat)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_property_points_on_polygon_vertices_are_deterministic(data):
    code, geom = data.draw(st.sampled_from(VORONOI_GRIDS))
    vertices = shapely.get_coordinates(geom)
    x, y = vertices[data.draw(st.integers(min_value=0, max_value=len(vertices) - 1))]
    result = VORONOI.locate(float(x), float(y))
    assert result.inside
    assert result.grid.code == _brute_force(float(x), float(y))
    assert result.grid.code <= code


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(coordinate, st.just(math.nan), st.just(500.0)), coordinate), max_size=40))
def test_property_bulk_equals_single(points):
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    batch = VORONOI.locate_many(lons, lats)
    assert batch.results() == [VORONOI.locate(x, y) for x, y in points]
