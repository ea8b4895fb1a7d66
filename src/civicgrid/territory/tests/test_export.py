# mypy: disable-error-code="union-attr, arg-type, index, attr-defined"
from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.territory.models import Area
from civicgrid.territory.selectors import COMMAND_LINE_USER, area_feature_collection
from civicgrid.territory.services import territory_export_geojson, territory_import_geojson

from .helpers import sample_collection

pytestmark = pytest.mark.django_db

FIELDS = (
    "code",
    "name",
    "level",
    "parent__code",
    "street_kind",
    "geometry",
    "area_km2",
    "population",
    "households",
    "properties",
)


def rows():
    return list(Area.objects.order_by("code").values(*FIELDS))


def delete_all():
    for level in ("grid", "community", "street", "district"):
        Area.objects.filter(level=level).delete()


def test_round_trip_of_the_sample_district(district):
    before = rows()
    exported = territory_export_geojson(user=COMMAND_LINE_USER)
    assert exported["type"] == "FeatureCollection" and len(exported["features"]) == len(before) == 15
    # Re-importing the export changes nothing ...
    report = territory_import_geojson(data=json.loads(json.dumps(exported)))
    assert report.ok and not report.created and not report.updated, report.problems
    # ... and importing it into an empty database gives the same rows back.
    delete_all()
    report = territory_import_geojson(data=json.loads(json.dumps(exported)))
    assert report.ok and len(report.created) == 15
    after = rows()
    assert [dict(r, area_km2=None) for r in after] == before  # the sample district has no areas ...
    assert all(r["area_km2"] > 0 for r in after)  # ... so the import computed them from the geometry
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_round_trip_of_an_imported_file_with_roads():
    data = sample_collection()
    data["features"].append(
        {
            "type": "Feature",
            "properties": {"code": "R1", "name": "测试路", "street_code": "150199001"},
            "geometry": {"type": "LineString", "coordinates": [[112.001, 41.002], [112.008, 41.002]]},
        }
    )
    assert territory_import_geojson(data=data).ok
    exported = area_feature_collection(COMMAND_LINE_USER, roads=True)
    by_code = {f["properties"]["code"]: f for f in exported["features"]}
    assert by_code["R1"]["properties"]["kind"] == "road" and by_code["R1"]["geometry"]["type"] == "LineString"
    for original in data["features"][:-1]:
        got = by_code[original["properties"]["code"]]
        assert got["geometry"] == original["geometry"]
        assert got["properties"]["name"] == original["properties"]["name"]
    assert territory_import_geojson(data=exported).unchanged


def test_level_and_under_filters(district):
    community = district.communities[0]
    exported = area_feature_collection(COMMAND_LINE_USER, level="grid", under=community.code)
    assert [f["properties"]["code"] for f in exported["features"]] == [community.code + "01", community.code + "02"]
    assert all(f["properties"]["parent_code"] == community.code for f in exported["features"])


def test_export_is_scoped(district, user_factory):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[1])
    codes = {f["properties"]["code"] for f in area_feature_collection(worker)["features"]}
    assert codes == {district.communities[1].code} | {
        g.code for g in district.grids if g.parent_id == district.communities[1].pk
    }


def test_command_export(district, tmp_path):
    path = tmp_path / "out.geojson"
    call_command("territory", "export", str(path), "--level", "community")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["crs"]["properties"]["name"].endswith("CRS84")
    assert sorted(f["properties"]["code"] for f in data["features"]) == sorted(c.code for c in district.communities)
