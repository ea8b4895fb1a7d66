# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import copy
import json

import pytest
from django.core.management import CommandError, call_command

from civicgrid.audit.models import AuditEvent
from civicgrid.territory import locate
from civicgrid.territory.models import Area, RoadSegment
from civicgrid.territory.services import territory_import_geojson
from civicgrid.testing.factories import square

from .helpers import (
    COMMUNITIES,
    STREET,
    collection,
    feature,
    index_of,
    sample_collection,
    sample_features,
    with_geometry,
)

pytestmark = pytest.mark.django_db

GRID1 = COMMUNITIES[0] + "01"
GRID2 = COMMUNITIES[0] + "02"


def kinds(report):
    return {(p.kind, p.code) for p in report.problems}


def test_valid_import_creates_everything_and_audits():
    report = territory_import_geojson(data=sample_collection())
    assert report.ok, report.problems
    assert len(report.created) == 8 and not report.updated
    grid = Area.objects.get(code=GRID1)
    assert grid.level == "grid" and grid.parent.code == COMMUNITIES[0] and grid.parent.parent.code == STREET
    assert grid.population == 100 and grid.households == 40 and float(grid.area_km2) == 0.42
    street = Area.objects.get(code=STREET)
    assert street.street_kind == "street" and street.parent.code == "150199"
    # area_km2 is computed when the file has none: 0.01 x 0.01 degrees at 41N ~ 0.93 km2
    assert 0.9 < float(Area.objects.get(code=COMMUNITIES[0]).area_km2) < 0.96
    assert AuditEvent.objects.filter(action="create", object_type="territory.area").count() == 8
    assert AuditEvent.objects.filter(action="import").count() == 1
    # The locate index sees the new grids at once.
    assert locate.locate(112.0025, 41.005).grid.code == GRID1


def test_reimport_is_idempotent():
    assert territory_import_geojson(data=sample_collection()).ok
    before = list(Area.objects.order_by("code").values())
    report = territory_import_geojson(data=sample_collection())
    assert report.ok and not report.created and not report.updated
    assert len(report.unchanged) == 8
    assert list(Area.objects.order_by("code").values()) == before


def test_reimport_with_changes_updates_by_code():
    assert territory_import_geojson(data=sample_collection()).ok
    data = sample_collection()
    data["features"][index_of(data, GRID1)]["properties"]["name"] = "改名网格"
    data["features"][index_of(data, GRID2)]["properties"]["population"] = 321
    report = territory_import_geojson(data=data)
    assert sorted(report.updated) == [GRID1, GRID2] and len(report.unchanged) == 6
    assert Area.objects.get(code=GRID1).name == "改名网格"
    assert Area.objects.get(code=GRID2).population == 321
    assert locate.locate(112.0025, 41.005).grid.name == "改名网格"
    event = AuditEvent.objects.filter(action="update", object_id=str(Area.objects.get(code=GRID2).pk)).get()
    assert event.changes["population"] == [100, 321]


def test_dry_run_writes_nothing_but_reports_the_plan():
    report = territory_import_geojson(data=sample_collection(), dry_run=True)
    assert report.ok and report.dry_run and len(report.created) == 8
    assert not Area.objects.exists()
    assert not AuditEvent.objects.exists()
    assert "试运行" in report.summary()


def test_partial_import_against_existing_parents():
    assert territory_import_geojson(data=sample_collection()).ok
    grid = next(f for f in sample_features() if f["properties"]["code"] == GRID1)
    grid = copy.deepcopy(grid)
    grid["properties"]["households"] = 41
    report = territory_import_geojson(data=collection(grid))
    assert report.ok and report.updated == [GRID1]


def test_accepts_wgs84_crs_members():
    for crs in ("urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"):
        data = sample_collection()
        data["crs"] = {"type": "name", "properties": {"name": crs}}
        assert territory_import_geojson(data=data, dry_run=True).ok, crs


def test_rejects_other_crs_clearly():
    data = sample_collection()
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    report = territory_import_geojson(data=data)
    assert [p.kind for p in report.problems] == ["crs"]
    assert "EPSG::3857" in report.problems[0].message and "WGS 84" in report.problems[0].message
    assert not Area.objects.exists()


def _only_problem(data, kind, code):
    report = territory_import_geojson(data=data)
    assert not report.ok
    assert (kind, code) in kinds(report), report.problems
    assert not Area.objects.exists(), "nothing may be written when any feature is invalid"
    assert not AuditEvent.objects.exists()
    return report


def test_unclosed_ring():
    ring = [[112.0, 41.0], [112.005, 41.0], [112.005, 41.01], [112.0, 41.01]]
    data = with_geometry(sample_collection(), GRID1, {"type": "Polygon", "coordinates": [[*ring, [112.0, 41.0001]]]})
    report = _only_problem(data, "ring_unclosed", GRID1)
    problem = next(p for p in report.problems if p.kind == "ring_unclosed")
    assert problem.index == index_of(data, GRID1) and "未闭合" in problem.message
    assert f"要素#{problem.index}" in str(problem)


def test_ring_with_too_few_points():
    data = with_geometry(
        sample_collection(),
        GRID1,
        {"type": "Polygon", "coordinates": [[[112.0, 41.0], [112.005, 41.0], [112.0, 41.0]]]},
    )
    _only_problem(data, "ring_too_short", GRID1)


def test_self_intersection():
    bowtie = [[112.0, 41.0], [112.005, 41.01], [112.005, 41.0], [112.0, 41.01], [112.0, 41.0]]
    data = with_geometry(sample_collection(), GRID1, {"type": "Polygon", "coordinates": [bowtie]})
    report = _only_problem(data, "self_intersection", GRID1)
    assert "Self-intersection" in next(p.message for p in report.problems if p.kind == "self_intersection")


def test_overlapping_sibling_grids():
    data = with_geometry(sample_collection(), GRID2, square(112.004, 41.0, 0.006, 0.01))  # 0.001 deg into GRID1
    report = _only_problem(data, "overlap", GRID2)
    message = next(p.message for p in report.problems if p.kind == "overlap")
    assert GRID1 in message and "重叠" in message


def test_overlap_with_an_existing_grid_in_the_database():
    assert territory_import_geojson(data=sample_collection()).ok
    grid2 = next(f for f in sample_features() if f["properties"]["code"] == GRID2)
    grid2["geometry"] = square(112.004, 41.0, 0.006, 0.01)
    report = territory_import_geojson(data=collection(grid2))
    assert ("overlap", GRID2) in kinds(report)
    assert Area.objects.get(code=GRID2).geometry == square(112.005, 41.0, 0.005, 0.01)  # untouched


def test_gap_inside_a_community():
    data = with_geometry(sample_collection(), GRID2, square(112.005, 41.0, 0.004, 0.01))  # leaves a strip
    _only_problem(data, "gap", COMMUNITIES[0])


def test_grid_outside_its_community():
    data = with_geometry(sample_collection(), GRID2, square(112.005, 41.0, 0.005, 0.012))
    _only_problem(data, "outside_parent", GRID2)


def test_code_that_does_not_fit_the_parent():
    data = sample_collection()
    data["features"][index_of(data, GRID1)]["properties"]["parent_code"] = COMMUNITIES[1]
    _only_problem(data, "code_parent_mismatch", GRID1)


def test_code_length_not_matching_the_level():
    data = sample_collection()
    data["features"][index_of(data, GRID1)]["properties"]["code"] = COMMUNITIES[0] + "0001"  # 16 digits
    _only_problem(data, "code_length", COMMUNITIES[0] + "0001")
    data = sample_collection()
    data["features"][index_of(data, COMMUNITIES[0])]["properties"]["level"] = "grid"
    _only_problem(data, "code_length", COMMUNITIES[0])


def test_duplicate_codes():
    data = sample_collection()
    data["features"].append(copy.deepcopy(data["features"][index_of(data, GRID1)]))
    report = _only_problem(data, "duplicate_code", GRID1)
    dup = next(p for p in report.problems if p.kind == "duplicate_code")
    assert dup.index == len(data["features"]) - 1 and f"#{index_of(data, GRID1)}" in dup.message


def test_unknown_parent():
    data = collection(feature("15019900900101", "孤儿网格", square(112.0, 41.0, 0.005, 0.01)))
    report = _only_problem(data, "unknown_parent", "15019900900101")
    assert "150199009001" in report.problems[0].message


def test_every_problem_is_listed_at_once():
    data = sample_collection()
    bowtie = [[112.0, 41.0], [112.005, 41.01], [112.005, 41.0], [112.0, 41.01], [112.0, 41.0]]
    data = with_geometry(data, GRID1, {"type": "Polygon", "coordinates": [bowtie]})
    data["features"][index_of(data, COMMUNITIES[1] + "01")]["properties"]["population"] = -5
    data["features"].append(feature("15019900100103", "", square(113.0, 41.0, 0.001, 0.001)))
    data["features"].append({"type": "Feature", "properties": {"name": "无编码"}, "geometry": None})
    report = territory_import_geojson(data=data)
    found = kinds(report)
    assert ("self_intersection", GRID1) in found
    assert ("bad_number", COMMUNITIES[1] + "01") in found
    assert ("missing_field", "15019900100103") in found  # no name
    assert ("outside_parent", "15019900100103") in found
    assert ("missing_field", "") in found  # no code
    assert len({p.index for p in report.problems}) >= 4
    assert not Area.objects.exists()


def test_not_geojson_at_all():
    assert territory_import_geojson(data="not json").problems[0].kind == "invalid_json"
    assert territory_import_geojson(data={"type": "Feature"}).problems[0].kind == "not_feature_collection"
    report = territory_import_geojson(
        data=collection(feature("150199", "区", {"type": "Point", "coordinates": [1, 2]}))
    )
    assert report.problems[0].kind == "geometry_type"


def test_multipolygon_and_qgis_style_properties():
    data = sample_collection()
    grid = data["features"][index_of(data, GRID1)]
    grid["geometry"] = {"type": "MultiPolygon", "coordinates": [grid["geometry"]["coordinates"]]}
    grid["properties"].update({"population": 100.0, "fid": 7, "level": "网格"})  # QGIS writes reals and fid
    del grid["properties"]["households"]
    report = territory_import_geojson(data=data)
    assert report.ok, report.problems
    area = Area.objects.get(code=GRID1)
    assert area.geometry["type"] == "MultiPolygon" and area.population == 100 and area.properties == {"fid": 7}
    assert locate.locate(112.0025, 41.005).grid.code == GRID1


def test_road_segments_get_the_grids_they_cross():
    data = sample_collection()
    data["features"].append(
        {
            "type": "Feature",
            "properties": {"code": "R150199001001", "name": "测试路", "street_code": STREET},
            "geometry": {"type": "LineString", "coordinates": [[112.001, 41.002], [112.008, 41.002]]},
        }
    )
    report = territory_import_geojson(data=data)
    assert report.ok and report.roads_created == ["R150199001001"]
    road = RoadSegment.objects.get(code="R150199001001")
    assert sorted(road.grids.values_list("code", flat=True)) == [GRID1, GRID2]
    assert road.area_code == STREET and 550 < road.length_m < 610  # 0.007 deg of longitude at 41N


def test_road_along_a_border_belongs_to_both_grids_and_unknown_street_is_rejected():
    assert territory_import_geojson(data=sample_collection()).ok
    road = {
        "type": "Feature",
        "properties": {"code": "R1", "name": "界路", "street_code": STREET},
        "geometry": {"type": "LineString", "coordinates": [[112.005, 41.001], [112.005, 41.009]]},
    }
    assert territory_import_geojson(data=collection(road)).ok
    assert sorted(RoadSegment.objects.get(code="R1").grids.values_list("code", flat=True)) == [GRID1, GRID2]
    bad = copy.deepcopy(road)
    bad["properties"].update({"code": "R2", "street_code": "150199777"})
    assert ("unknown_parent", "R2") in kinds(territory_import_geojson(data=collection(bad)))


def test_command_import_dry_run_and_errors(tmp_path, capsys):
    path = tmp_path / "district.geojson"
    path.write_text(json.dumps(sample_collection(), ensure_ascii=False), encoding="utf-8")
    call_command("territory", "import", str(path), "--dry-run")
    assert not Area.objects.exists()
    call_command("territory", "import", str(path))
    assert Area.objects.count() == 8
    bad = with_geometry(sample_collection(), GRID2, square(112.004, 41.0, 0.006, 0.01))
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(CommandError, match="未写入"):
        call_command("territory", "import", str(path))
    assert "重叠" in capsys.readouterr().err
