"""Territory writes: GeoJSON import (validate everything, then upsert in one transaction),
GeoJSON export (audited), road segment to grid assignment."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import shapely
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.text import join_list
from civicgrid.territory import geo
from civicgrid.territory.enums import LEVEL_CODE_LENGTHS, LEVEL_ORDER, AreaLevel, StreetKind
from civicgrid.territory.models import Area, RoadSegment
from civicgrid.territory.signals import boundaries_changed, boundary_bumps_suspended

DEFAULT_TOPOLOGY_TOLERANCE_M2 = 1.0

# CRS names that mean WGS 84 longitude/latitude (GeoJSON 2008 "crs" member, as QGIS writes it).
WGS84_CRS_NAMES = frozenset(
    {
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:epsg::4326",
        "urn:ogc:def:crs:epsg:4326",
        "epsg:4326",
        "ogc:crs84",
        "crs84",
        "wgs84",
        "http://www.opengis.net/def/crs/ogc/1.3/crs84",
        "http://www.opengis.net/def/crs/epsg/0/4326",
    }
)

KNOWN_PROPERTIES = frozenset(
    {
        "code",
        "name",
        "level",
        "parent_code",
        "population",
        "households",
        "area_km2",
        "street_kind",
        "kind",
        "street_code",
        "length_m",
    }
)

LEVEL_ALIASES: dict[str, str] = {
    "district": AreaLevel.DISTRICT,
    "区": AreaLevel.DISTRICT,
    "县": AreaLevel.DISTRICT,
    "street": AreaLevel.STREET,
    "街道": AreaLevel.STREET,
    "镇": AreaLevel.STREET,
    "town": AreaLevel.STREET,
    "community": AreaLevel.COMMUNITY,
    "社区": AreaLevel.COMMUNITY,
    "村": AreaLevel.COMMUNITY,
    "grid": AreaLevel.GRID,
    "网格": AreaLevel.GRID,
}
STREET_KIND_ALIASES: dict[str, str] = {
    "street": StreetKind.STREET,
    "街道": StreetKind.STREET,
    "town": StreetKind.TOWN,
    "镇": StreetKind.TOWN,
}
AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})
ROAD_TYPES = frozenset({"LineString", "MultiLineString"})
COORD_DECIMALS = 7


def topology_tolerance_m2() -> float:
    return float(getattr(settings, "TERRITORY_TOPOLOGY_TOLERANCE_M2", DEFAULT_TOPOLOGY_TOLERANCE_M2))


def level_for_code(code: str) -> str | None:
    for level in LEVEL_ORDER:
        if len(code) in LEVEL_CODE_LENGTHS[level]:
            return str(level)
    return None


def parent_level(level: str) -> str | None:
    position = [str(lv) for lv in LEVEL_ORDER].index(level)
    return str(LEVEL_ORDER[position - 1]) if position > 0 else None


def derived_parent_code(code: str, level: str) -> str | None:
    above = parent_level(level)
    if above is None:
        return None
    return code[: LEVEL_CODE_LENGTHS[above][0]]


# --- report -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportProblem:
    index: int | None  # 0-based feature index; None for the file as a whole
    code: str
    kind: str
    message: str

    def __str__(self) -> str:
        where = _("文件") if self.index is None else _("要素#%(index)d") % {"index": self.index}
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{code}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "kind": self.kind, "message": self.message}


@dataclass
class ImportReport:
    dry_run: bool
    features: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    roads_created: list[str] = field(default_factory=list)
    roads_updated: list[str] = field(default_factory=list)
    roads_unchanged: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return _("发现%(n)d个问题，未写入任何数据") % {"n": len(self.problems)}
        text = _("区域：新增%(c)d，修改%(u)d，未变%(s)d；路段：新增%(rc)d，修改%(ru)d，未变%(rs)d") % {
            "c": len(self.created),
            "u": len(self.updated),
            "s": len(self.unchanged),
            "rc": len(self.roads_created),
            "ru": len(self.roads_updated),
            "rs": len(self.roads_unchanged),
        }
        return (_("试运行(未写入)：") + text) if self.dry_run else text

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "features": self.features,
            "summary": self.summary(),
            "problems": [p.as_dict() for p in self.problems],
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "roads_created": self.roads_created,
            "roads_updated": self.roads_updated,
            "roads_unchanged": self.roads_unchanged,
        }


# --- parsed features --------------------------------------------------------------------------
@dataclass
class _AreaFeature:
    index: int
    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: dict[str, Any]
    shape: Any = None  # valid shapely geometry, or None when invalid
    street_kind: str = ""
    population: int | None = None
    households: int | None = None
    area_km2: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _RoadFeature:
    index: int
    code: str
    name: str
    street_code: str
    geometry: dict[str, Any]
    shape: Any = None
    length_m: int | None = None


class _Collector:
    def __init__(self) -> None:
        self.problems: list[ImportProblem] = []

    def add(self, index: int | None, code: str, kind: str, message: str) -> None:
        self.problems.append(ImportProblem(index, code, kind, message))


def _crs_problem(data: dict[str, Any]) -> str | None:
    crs = data.get("crs")
    if crs is None:
        return None
    name = ""
    if isinstance(crs, dict):
        props = crs.get("properties") or {}
        name = str(props.get("name", "") if isinstance(props, dict) else "")
    if name.strip().lower() in WGS84_CRS_NAMES:
        return None
    return _("不支持的坐标系“%(crs)s”：请先在QGIS中将图层转换为WGS 84 (EPSG:4326) 经纬度再导入") % {
        "crs": name or json.dumps(crs, ensure_ascii=False)[:80]
    }


def _as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        value = int(value)
    result = int(str(value).strip())
    if result < 0:
        raise ValueError
    return result


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError from exc
    if not result.is_finite() or result < 0 or result >= Decimal("1000000"):
        raise ValueError
    return result.quantize(Decimal("0.0001"))


def _check_position(pos: Any) -> list[float] | str:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        return _("坐标点格式错误(应为[经度, 纬度])")
    try:
        lon, lat = float(pos[0]), float(pos[1])
    except (TypeError, ValueError):
        return _("坐标不是数字")
    if isinstance(pos[0], bool) or isinstance(pos[1], bool) or not (math.isfinite(lon) and math.isfinite(lat)):
        return _("坐标不是数字")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return _("坐标(%(lon)s, %(lat)s)超出经纬度范围：是否未转换为WGS 84经纬度？") % {"lon": pos[0], "lat": pos[1]}
    return [round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)]


def _check_rings(rings: Any, label: str, out: list[str]) -> list[list[list[float]]] | None:
    """Validate and normalise a polygon's rings, appending problems ("kind|message") to out."""
    if not isinstance(rings, list) or not rings:
        out.append("geometry|" + _("%(p)s没有坐标环") % {"p": label})
        return None
    result = []
    for r, ring in enumerate(rings):
        ring_label = _("%(p)s第%(n)d个环") % {"p": label, "n": r + 1}
        if not isinstance(ring, list):
            out.append("geometry|" + _("%(r)s格式错误") % {"r": ring_label})
            return None
        positions = []
        for pos in ring:
            checked = _check_position(pos)
            if isinstance(checked, str):
                out.append("coordinates|" + f"{ring_label}: {checked}")
                return None
            positions.append(checked)
        if len(positions) < 4:
            out.append(
                "ring_too_short|"
                + _("%(r)s只有%(k)d个点，闭合环至少需要4个点") % {"r": ring_label, "k": len(positions)}
            )
            return None
        if positions[0] != positions[-1]:
            out.append("ring_unclosed|" + _("%(r)s未闭合：首尾坐标不同") % {"r": ring_label})
            return None
        result.append(positions)
    return result


def _normalise_area_geometry(geometry: Any, out: list[str]) -> dict[str, Any] | None:
    if not isinstance(geometry, dict) or geometry.get("type") not in AREA_TYPES:
        gtype = geometry.get("type") if isinstance(geometry, dict) else None
        out.append("geometry_type|" + _("边界必须是Polygon或MultiPolygon(当前：%(t)s)") % {"t": gtype or _("无")})
        return None
    coords = geometry.get("coordinates")
    if geometry["type"] == "Polygon":
        rings = _check_rings(coords, _("多边形"), out)
        return {"type": "Polygon", "coordinates": rings} if rings is not None else None
    if not isinstance(coords, list) or not coords:
        out.append("geometry|" + _("MultiPolygon没有多边形"))
        return None
    polygons = []
    for p, polygon in enumerate(coords):
        rings = _check_rings(polygon, _("第%(n)d个多边形") % {"n": p + 1}, out)
        if rings is None:
            return None
        polygons.append(rings)
    return {"type": "MultiPolygon", "coordinates": polygons}


def _normalise_line_geometry(geometry: dict[str, Any], out: list[str]) -> dict[str, Any] | None:
    coords = geometry.get("coordinates")
    lines = [coords] if geometry["type"] == "LineString" else coords
    if not isinstance(lines, list) or not lines:
        out.append("geometry|" + _("路段没有坐标"))
        return None
    result = []
    for line in lines:
        if not isinstance(line, list) or len(line) < 2:
            out.append("geometry|" + _("路段至少需要2个点"))
            return None
        positions = []
        for pos in line:
            checked = _check_position(pos)
            if isinstance(checked, str):
                out.append("coordinates|" + checked)
                return None
            positions.append(checked)
        result.append(positions)
    if geometry["type"] == "LineString":
        return {"type": "LineString", "coordinates": result[0]}
    return {"type": "MultiLineString", "coordinates": result}


def _parse(data: Any, c: _Collector) -> tuple[list[_AreaFeature], list[_RoadFeature], int]:
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            c.add(None, "", "invalid_json", _("不是有效的JSON：%(e)s") % {"e": exc})
            return [], [], 0
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        c.add(None, "", "not_feature_collection", _("文件必须是GeoJSON FeatureCollection"))
        return [], [], 0
    crs = _crs_problem(data)
    if crs:
        c.add(None, "", "crs", crs)
        return [], [], 0
    features = data.get("features")
    if not isinstance(features, list):
        c.add(None, "", "not_feature_collection", _("FeatureCollection缺少features数组"))
        return [], [], 0
    if not features:
        c.add(None, "", "empty", _("文件中没有任何要素"))
    areas: list[_AreaFeature] = []
    roads: list[_RoadFeature] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            c.add(i, "", "not_feature", _("不是GeoJSON Feature"))
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            c.add(i, "", "properties", _("properties必须是对象"))
            continue
        raw_code = props.get("code")
        code = str(raw_code).strip() if raw_code is not None and not isinstance(raw_code, bool) else ""
        if not code:
            c.add(i, "", "missing_field", _("缺少编码(code)"))
            continue
        name = str(props.get("name") or "").strip()
        if not name:
            c.add(i, code, "missing_field", _("缺少名称(name)"))
        elif len(name) > 100:
            c.add(i, code, "field_too_long", _("名称过长(最多100字)"))
        geometry = feature.get("geometry")
        gtype = geometry.get("type") if isinstance(geometry, dict) else None
        problems: list[str] = []
        if gtype in ROAD_TYPES or str(props.get("kind", "")).lower() in {"road", "路段"}:
            roads.append(_parse_road(i, code, name, props, geometry, c))
            continue
        if not code.isdigit() or not code.isascii():
            c.add(i, code, "code_format", _("编码只能包含数字"))
            continue
        by_length = level_for_code(code)
        raw_level = str(props.get("level") or "").strip()
        level = LEVEL_ALIASES.get(raw_level.lower(), LEVEL_ALIASES.get(raw_level)) if raw_level else by_length
        if raw_level and level is None:
            c.add(i, code, "level", _("未知层级“%(l)s”(应为district/street/community/grid)") % {"l": raw_level})
            continue
        if level is None or len(code) not in LEVEL_CODE_LENGTHS[level]:
            expected = join_list(
                _("%(level)s%(lengths)s位")
                % {"level": AreaLevel(lv).label, "lengths": "/".join(map(str, LEVEL_CODE_LENGTHS[lv]))}
                for lv in LEVEL_ORDER
            )
            c.add(i, code, "code_length", _("编码长度%(n)d位与层级不符(%(e)s)") % {"n": len(code), "e": expected})
            continue
        derived = derived_parent_code(code, level)
        raw_parent = props.get("parent_code")
        parent_code = str(raw_parent).strip() if raw_parent not in (None, "") else derived
        if parent_code is not None and parent_code != derived:
            c.add(
                i,
                code,
                "code_parent_mismatch",
                _("编码%(c)s与上级编码%(p)s不符：下级编码应为上级编码加%(n)s位")
                % {
                    "c": code,
                    "p": parent_code,
                    "n": "/".join(str(n - len(derived or "")) for n in LEVEL_CODE_LENGTHS[level]),
                },
            )
            continue
        if level == AreaLevel.DISTRICT and raw_parent not in (None, ""):
            c.add(i, code, "code_parent_mismatch", _("区级节点不能有上级"))
            continue
        kind_raw = str(props.get("street_kind") or "").strip()
        street_kind = ""
        if level == AreaLevel.STREET:
            street_kind = STREET_KIND_ALIASES.get(kind_raw.lower(), STREET_KIND_ALIASES.get(kind_raw, ""))
            if kind_raw and not street_kind:
                c.add(i, code, "bad_value", _("街道类型应为street或town"))
            if not street_kind:
                street_kind = StreetKind.TOWN if name.endswith("镇") else StreetKind.STREET
        numbers: dict[str, Any] = {}
        for key, parser in (("population", _as_int), ("households", _as_int), ("area_km2", _as_decimal)):
            try:
                numbers[key] = parser(props.get(key))
            except (TypeError, ValueError):
                c.add(i, code, "bad_number", _("%(k)s必须是非负数(当前：%(v)s)") % {"k": key, "v": props.get(key)})
        normalised = _normalise_area_geometry(geometry, problems)
        for item in problems:
            kind, message = item.split("|", 1)
            c.add(i, code, kind, message)
        if normalised is None:
            continue
        shape = geo.to_shape(normalised)
        reason = shapely.is_valid_reason(shape)
        if reason != "Valid Geometry":
            kind = "self_intersection" if "self-intersection" in reason.lower() else "invalid_geometry"
            label = _("边界自相交") if kind == "self_intersection" else _("边界无效")
            c.add(i, code, kind, f"{label}: {reason}")
            shape = None
        elif shape.is_empty or geo.area_m2(shape) <= 0:
            c.add(i, code, "invalid_geometry", _("边界面积为零"))
            shape = None
        extra = {k: v for k, v in props.items() if k not in KNOWN_PROPERTIES}
        areas.append(
            _AreaFeature(
                index=i,
                code=code,
                name=name,
                level=level,
                parent_code=parent_code,
                geometry=normalised,
                shape=shape,
                street_kind=street_kind,
                population=numbers.get("population"),
                households=numbers.get("households"),
                area_km2=numbers.get("area_km2"),
                extra=extra,
            )
        )
    return areas, roads, len(features)


def _parse_road(i: int, code: str, name: str, props: dict[str, Any], geometry: Any, c: _Collector) -> _RoadFeature:
    street_code = str(props.get("street_code") or props.get("parent_code") or "").strip()
    road = _RoadFeature(index=i, code=code, name=name, street_code=street_code, geometry={})
    if len(code) > 24:
        c.add(i, code, "field_too_long", _("路段编码过长(最多24位)"))
    if not street_code:
        c.add(i, code, "missing_field", _("路段缺少所属街道编码(street_code)"))
    if not isinstance(geometry, dict) or geometry.get("type") not in ROAD_TYPES:
        c.add(i, code, "geometry_type", _("路段走向必须是LineString或MultiLineString"))
        return road
    problems: list[str] = []
    normalised = _normalise_line_geometry(geometry, problems)
    for item in problems:
        kind, message = item.split("|", 1)
        c.add(i, code, kind, message)
    if normalised is not None:
        road.geometry = normalised
        road.shape = geo.to_shape(normalised)
    try:
        road.length_m = _as_int(props.get("length_m"))
    except (TypeError, ValueError):
        c.add(i, code, "bad_number", _("length_m必须是非负整数"))
    return road


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class _DbArea:
    id: int
    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: Any


def _load_db_areas(codes: set[str], parent_codes: set[str]) -> tuple[dict[str, _DbArea], dict[str, list[_DbArea]]]:
    """Existing areas with the given codes, and existing children of the given parents."""
    fields = ("id", "code", "name", "level", "parent__code", "geometry")
    by_code: dict[str, _DbArea] = {}
    for chunk in _chunks(sorted(codes)):
        for row in Area.objects.filter(code__in=chunk).values_list(*fields):
            by_code[row[1]] = _DbArea(*row)
    children: dict[str, list[_DbArea]] = defaultdict(list)
    for chunk in _chunks(sorted(parent_codes)):
        for row in Area.objects.filter(parent__code__in=chunk).values_list(*fields):
            children[row[4]].append(_DbArea(*row))
    return by_code, children


def _validate_references(areas: list[_AreaFeature], roads: list[_RoadFeature], c: _Collector) -> dict[str, _DbArea]:
    first_index: dict[str, int] = {}
    for feature in areas:
        if feature.code in first_index:
            c.add(
                feature.index,
                feature.code,
                "duplicate_code",
                _("编码%(c)s重复(与要素#%(i)d相同)") % {"c": feature.code, "i": first_index[feature.code]},
            )
        else:
            first_index[feature.code] = feature.index
    road_first: dict[str, int] = {}
    for road in roads:
        if road.code in road_first:
            c.add(
                road.index,
                road.code,
                "duplicate_code",
                _("路段编码%(c)s重复(与要素#%(i)d相同)") % {"c": road.code, "i": road_first[road.code]},
            )
        else:
            road_first[road.code] = road.index

    file_by_code = {f.code: f for f in areas}
    wanted = {f.code for f in areas} | {f.parent_code for f in areas if f.parent_code}
    wanted |= {r.street_code for r in roads if r.street_code}
    db_by_code, _children = _load_db_areas(wanted, set())
    for feature in areas:
        if feature.parent_code is None:
            continue
        parent_file = file_by_code.get(feature.parent_code)
        parent_db = db_by_code.get(feature.parent_code)
        if parent_file is None and parent_db is None:
            c.add(
                feature.index,
                feature.code,
                "unknown_parent",
                _("上级%(p)s不存在(文件和系统中都没有)") % {"p": feature.parent_code},
            )
        existing = db_by_code.get(feature.code)
        if existing is not None and existing.level != feature.level:
            c.add(
                feature.index,
                feature.code,
                "level",
                _("编码%(c)s在系统中是%(l)s，不能改为其他层级") % {"c": feature.code, "l": existing.level},
            )
    for road in roads:
        if not road.street_code:
            continue
        target_level = (
            file_by_code[road.street_code].level
            if road.street_code in file_by_code
            else db_by_code[road.street_code].level
            if road.street_code in db_by_code
            else None
        )
        if target_level is None:
            c.add(
                road.index,
                road.code,
                "unknown_parent",
                _("所属街道%(p)s不存在(文件和系统中都没有)") % {"p": road.street_code},
            )
        elif target_level != AreaLevel.STREET:
            c.add(
                road.index, road.code, "code_parent_mismatch", _("路段的上级%(p)s不是街道/镇") % {"p": road.street_code}
            )
    return db_by_code


def _db_shape(area: _DbArea) -> Any:
    if not area.geometry:
        return None
    try:
        shape = geo.to_shape(area.geometry)
    except Exception:
        return None
    return shape if shape.is_valid else shapely.make_valid(shape)


def _validate_topology(areas: list[_AreaFeature], db_by_code: dict[str, _DbArea], c: _Collector) -> None:
    """Sibling overlaps, children outside their parent, and gaps inside a parent."""
    tolerance = topology_tolerance_m2()
    file_by_code = {f.code: f for f in areas}
    parent_codes = {f.parent_code for f in areas if f.parent_code} | set(file_by_code)
    _by_code, db_children = _load_db_areas(set(), parent_codes)

    def members(parent_code: str) -> list[tuple[str, str, Any, _AreaFeature | None]]:
        """(code, name, shape, file feature or None) for the parent's children, file first."""
        result: list[tuple[str, str, Any, _AreaFeature | None]] = [
            (f.code, f.name, f.shape, f) for f in areas if f.parent_code == parent_code
        ]
        in_file = {m[0] for m in result}
        result += [
            (d.code, d.name, _db_shape(d), None) for d in db_children.get(parent_code, []) if d.code not in in_file
        ]
        return result

    def parent_shape(code: str) -> Any:
        if code in file_by_code:
            return file_by_code[code].shape
        return _db_shape(db_by_code[code]) if code in db_by_code else None

    for parent_code in sorted({f.parent_code for f in areas if f.parent_code}):
        group = [m for m in members(parent_code) if m[2] is not None]
        if len(group) > 1:
            tree = shapely.STRtree([m[2] for m in group])
            left, right = tree.query([m[2] for m in group], predicate="intersects")
            for a, b in zip(left.tolist(), right.tolist(), strict=True):
                if a >= b:
                    continue
                first, second = group[a], group[b]
                if first[3] is None and second[3] is None:
                    continue
                overlap = geo.area_m2(shapely.intersection(first[2], second[2]))
                if overlap > tolerance:
                    target = second if second[3] is not None else first
                    other = first if target is second else second
                    assert target[3] is not None
                    c.add(
                        target[3].index,
                        target[0],
                        "overlap",
                        _("与同级%(o)s(%(n)s)重叠约%(a).1f平方米") % {"o": other[0], "n": other[1], "a": overlap},
                    )
        outer = parent_shape(parent_code)
        if outer is not None:
            for code, _name, shape, feature in group:
                if feature is None:
                    continue
                outside = geo.area_m2(shapely.difference(shape, outer))
                if outside > tolerance:
                    c.add(
                        feature.index,
                        code,
                        "outside_parent",
                        _("超出上级%(p)s边界约%(a).1f平方米") % {"p": parent_code, "a": outside},
                    )

    # Gaps: every parent in the file whose children are known must be fully covered.
    for feature in areas:
        if feature.shape is None or feature.level == AreaLevel.GRID:
            continue
        children = members(feature.code)
        if not children:
            continue
        if any(m[2] is None for m in children):
            continue  # an invalid child was already reported; a gap figure would be noise
        gap = shapely.difference(feature.shape, shapely.union_all([m[2] for m in children]))
        gap_area = geo.area_m2(gap)
        if gap_area > tolerance:
            c.add(
                feature.index,
                feature.code,
                "gap",
                _("下级区域未完全覆盖本区域：有约%(a).1f平方米的空隙") % {"a": gap_area},
            )


def territory_validate_geojson(*, data: Any) -> tuple[list[_AreaFeature], list[_RoadFeature], ImportReport]:
    collector = _Collector()
    areas, roads, count = _parse(data, collector)
    report = ImportReport(dry_run=True, features=count)
    if areas or roads:
        db_by_code = _validate_references(areas, roads, collector)
        if not any(p.kind in {"duplicate_code"} for p in collector.problems):
            _validate_topology(areas, db_by_code, collector)
    report.problems = sorted(collector.problems, key=lambda p: (p.index is not None, p.index or 0))
    return areas, roads, report


# --- import -----------------------------------------------------------------------------------
def _area_changes(area: Area, values: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in values.items():
        old = getattr(area, key)
        if key == "area_km2" and old is not None:
            old = Decimal(old).quantize(Decimal("0.0001"))
        if old != value:
            changes[key] = ["…", "…"] if key == "geometry" else [_json_safe(old), _json_safe(value)]
    return changes


def _audit_actor(actor: Any) -> dict[str, Any]:
    """Keyword arguments for audit_record: a real account, or a label for the command line."""
    if actor is not None and getattr(actor, "pk", None) is None:
        return {"actor": None, "actor_label": str(getattr(actor, "username", "") or "")}
    return {"actor": actor}


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def territory_import_geojson(*, data: Any, actor: Any = None, dry_run: bool = False) -> ImportReport:
    """Validate a GeoJSON FeatureCollection of areas (and road segments) and, when every
    feature is valid and this is not a dry run, upsert all of them by code."""
    areas, roads, report = territory_validate_geojson(data=data)
    report.dry_run = dry_run
    who = _audit_actor(actor)
    if report.problems:
        return report

    existing = {a.code: a for chunk in _chunks([f.code for f in areas]) for a in Area.objects.filter(code__in=chunk)}
    parents: dict[str, Area] = {}
    wanted_parents = sorted({f.parent_code for f in areas if f.parent_code} - set(existing))
    for chunk in _chunks(wanted_parents):
        parents.update({a.code: a for a in Area.objects.filter(code__in=chunk)})
    parents.update(existing)
    order = {str(level): n for n, level in enumerate(LEVEL_ORDER)}
    geometry_changed = False
    audit_codes: list[str] = []
    with boundary_bumps_suspended():
        for feature in sorted(areas, key=lambda f: (order[f.level], f.code)):
            parent = parents.get(feature.parent_code) if feature.parent_code else None
            values: dict[str, Any] = {
                "name": feature.name,
                "level": feature.level,
                "parent_id": parent.pk if parent else None,
                "street_kind": feature.street_kind,
                "geometry": feature.geometry,
            }
            area = existing.get(feature.code)
            # area_km2 from the file; without one, computed for new or reshaped areas only.
            if feature.area_km2 is not None:
                values["area_km2"] = feature.area_km2
            elif area is None or area.geometry != feature.geometry:
                values["area_km2"] = geo.area_km2(feature.shape)
            if feature.population is not None:
                values["population"] = feature.population
            if feature.households is not None:
                values["households"] = feature.households
            if area is None:
                report.created.append(feature.code)
                if not dry_run:
                    area = Area.objects.create(code=feature.code, properties=feature.extra, **values)
                    audit_record(
                        action=AuditAction.CREATE,
                        obj=area,
                        area_code=area.code,
                        **who,
                        changes={k: _json_safe(v) for k, v in values.items() if k not in {"geometry", "parent_id"}}
                        | {"parent": feature.parent_code},
                    )
                    geometry_changed = True
                else:
                    area = Area(code=feature.code, **values)
                parents[feature.code] = area
                continue
            if feature.extra:
                values["properties"] = {**area.properties, **feature.extra}
            changes = _area_changes(area, values)
            if not changes:
                report.unchanged.append(feature.code)
                continue
            report.updated.append(feature.code)
            if dry_run:
                continue
            for key, value in values.items():
                setattr(area, key, value)
            area.save()
            if changes.keys() & {"geometry", "name", "parent_id", "level"}:
                geometry_changed = True
            if "parent_id" in changes:
                changes["parent_id"] = feature.parent_code
            audit_record(action=AuditAction.UPDATE, obj=area, area_code=area.code, **who, changes=changes)
            audit_codes.append(area.code)
    if dry_run:
        _plan_roads(roads, report)
        return report
    if geometry_changed:
        boundaries_changed()
    _import_roads(roads, report, who=who, reassign_all=geometry_changed)
    all_codes = [f.code for f in areas] + [r.street_code for r in roads]
    audit_record(
        action=AuditAction.IMPORT,
        object_type="territory.area",
        object_repr="GeoJSON",
        area_code=_common_prefix(all_codes),
        **who,
        message=report.summary(),
        changes={
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "roads_created": len(report.roads_created),
            "roads_updated": len(report.roads_updated),
        },
    )
    return report


def _common_prefix(codes: list[str]) -> str:
    if not codes:
        return ""
    low, high = min(codes), max(codes)
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    prefix = low[:n]
    # Only a whole node code is a meaningful scope.
    for lengths in (LEVEL_CODE_LENGTHS[lv] for lv in reversed(LEVEL_ORDER)):
        for length in lengths:
            if len(prefix) >= length:
                return prefix[:length]
    return ""


def _road_values(road: _RoadFeature, street: Area) -> dict[str, Any]:
    return {
        "name": road.name,
        "street": street,
        "area_code": street.code,
        "geometry": road.geometry,
        "length_m": road.length_m if road.length_m is not None else round(geo.length_m(road.shape)),
    }


def _plan_roads(roads: list[_RoadFeature], report: ImportReport) -> None:
    existing = {r.code: r for r in RoadSegment.objects.filter(code__in=[r.code for r in roads])}
    for road in roads:
        segment = existing.get(road.code)
        if segment is None:
            report.roads_created.append(road.code)
        elif segment.name != road.name or segment.geometry != road.geometry or segment.area_code != road.street_code:
            report.roads_updated.append(road.code)
        else:
            report.roads_unchanged.append(road.code)


def _import_roads(roads: list[_RoadFeature], report: ImportReport, *, who: dict[str, Any], reassign_all: bool) -> None:
    streets = {a.code: a for a in Area.objects.filter(code__in={r.street_code for r in roads})}
    existing = {r.code: r for r in RoadSegment.objects.filter(code__in=[r.code for r in roads])}
    touched: list[RoadSegment] = []
    for road in roads:
        values = _road_values(road, streets[road.street_code])
        segment = existing.get(road.code)
        if segment is None:
            segment = RoadSegment.objects.create(code=road.code, **values)
            audit_record(
                action=AuditAction.CREATE,
                obj=segment,
                **who,
                changes={"name": road.name, "street": road.street_code, "length_m": values["length_m"]},
            )
            report.roads_created.append(road.code)
            touched.append(segment)
            continue
        changes = {
            k: ["…", "…"] if k == "geometry" else [str(getattr(segment, k)), str(v)]
            for k, v in values.items()
            if getattr(segment, k) != v
        }
        if not changes:
            report.roads_unchanged.append(road.code)
            continue
        for key, value in values.items():
            setattr(segment, key, value)
        segment.save()
        audit_record(action=AuditAction.UPDATE, obj=segment, **who, changes=changes)
        report.roads_updated.append(road.code)
        touched.append(segment)
    if reassign_all:
        touched = list(RoadSegment.objects.all())
    for segment in touched:
        road_segment_assign_grids(segment=segment)


@transaction.atomic
def road_segment_assign_grids(*, segment: RoadSegment) -> list[str]:
    """Set ``segment.grids`` to every grid the road runs through or along (a shared stretch
    of positive length; touching a grid at a single point does not count). Returns codes."""
    from civicgrid.territory.locate import get_index

    index = get_index()
    line = geo.to_shape(segment.geometry) if segment.geometry else None
    if line is None or line.is_empty or len(index) == 0:
        segment.grids.clear()
        return []
    candidates = index.tree.query(line, predicate="intersects")
    hits = []
    for i in sorted(candidates.tolist()):
        if shapely.intersection(index.geometries[i], line).length > 1e-9:
            result = index.result_at(i)
            assert result.grid is not None
            hits.append(result.grid)
    segment.grids.set([ref.id for ref in hits])
    return [ref.code for ref in hits]


# --- export -----------------------------------------------------------------------------------
def territory_export_geojson(
    *, user: Any, level: str | None = None, under: str | None = None, roads: bool = False
) -> dict[str, Any]:
    """The user's territory (optionally one level, optionally below a code) as a GeoJSON
    FeatureCollection in the import format. Audited."""
    from civicgrid.territory.selectors import area_feature_collection

    collection = area_feature_collection(user, level=level, under=under, roads=roads)
    audit_record(
        action=AuditAction.EXPORT,
        object_type="territory.area",
        object_repr="GeoJSON",
        area_code=under or "",
        **_audit_actor(user),
        message=_("导出GeoJSON：%(n)d个要素") % {"n": len(collection["features"])},
        changes={"level": level or "", "under": under or "", "features": len(collection["features"])},
    )
    return collection
