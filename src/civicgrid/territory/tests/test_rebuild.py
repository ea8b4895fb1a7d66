# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
"""The locate index follows boundary changes: at once in the process that made the change,
and within the check interval in every other process (simulated by changing rows without
signals, as another process's write looks from here)."""

from __future__ import annotations

import pytest

from civicgrid.territory import locate
from civicgrid.territory.models import Area, BoundaryVersion
from civicgrid.testing.factories import square

pytestmark = pytest.mark.django_db


def test_geometry_change_is_seen_at_once(district):
    grid = district.grids[0]  # lon 111.60-111.61, lat 40.76-40.77
    assert locate.locate(111.605, 40.765).grid.code == grid.code
    version = BoundaryVersion.current()
    grid.geometry = square(111.50, 40.76, 0.01, 0.01)  # moved west, out of the district
    grid.save()
    assert BoundaryVersion.current() == version + 1
    assert locate.locate(111.605, 40.765).status == "outside"
    assert locate.locate(111.505, 40.765).grid.code == grid.code


def test_rename_and_delete_are_seen(district):
    grid = district.grids[1]
    centre = district.grid_center(grid)
    grid.name = "新名字网格"
    grid.save(update_fields=["name"])
    assert locate.locate(*centre).grid.name == "新名字网格"
    grid.delete()
    assert locate.locate(*centre).status == "outside"
    assert locate.locate_many([centre[0]], [centre[1]])[0].status == "outside"


def test_population_only_save_does_not_bump(district):
    grid = district.grids[0]
    version = BoundaryVersion.current()
    grid.population = 999
    grid.save(update_fields=["population"])
    assert BoundaryVersion.current() == version
    grid.save()  # a full save may have changed anything
    assert BoundaryVersion.current() == version + 1


def test_other_process_change_is_seen_after_the_check_interval(district, monkeypatch, settings):
    settings.TERRITORY_LOCATE_CHECK_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(locate, "_clock", lambda: now[0])
    grid = district.grids[0]
    assert locate.locate(111.605, 40.765).grid.code == grid.code  # builds the index
    # Another process moves the grid and bumps the version: no signal reaches this process.
    Area.objects.filter(pk=grid.pk).update(geometry=square(111.50, 40.76, 0.01, 0.01))
    BoundaryVersion.objects.filter(pk=1).update(version=BoundaryVersion.current() + 1)
    now[0] += 1  # within the interval: the cheap path does not even look
    assert locate.locate(111.605, 40.765).grid.code == grid.code
    now[0] += 5  # past it: the version differs, so the index is rebuilt
    assert locate.locate(111.605, 40.765).status == "outside"
    assert locate.locate(111.505, 40.765).grid.code == grid.code


def test_unchanged_version_keeps_the_same_index(district, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(locate, "_clock", lambda: now[0])
    first = locate.get_index()
    now[0] += 100
    assert locate.get_index() is first  # version unchanged: no rebuild, only a version read


def test_version_check_costs_one_query_per_interval(district, monkeypatch, django_assert_num_queries):
    now = [0.0]
    monkeypatch.setattr(locate, "_clock", lambda: now[0])
    locate.get_index()
    with django_assert_num_queries(0):
        for _ in range(100):
            locate.locate(111.605, 40.765)
    now[0] += 100
    with django_assert_num_queries(1):
        for _ in range(100):
            locate.locate(111.605, 40.765)
