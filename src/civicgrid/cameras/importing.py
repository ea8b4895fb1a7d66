"""Bulk registration of cameras from Excel (openpyxl).

Validation-first, like the residents' and indicators' imports: every row of the file is
checked (code format and uniqueness in the file and in the registry, name, type,
coordinates, the grid found by ``territory.locate`` or named in the file, the actor's
territorial scope, the signing platform) before anything is written. ``camera_import_check``
is the dry run (nothing written: the preview and the errors by row and column);
``camera_import_excel`` checks again and, when every row is clean, writes every camera in
ONE transaction with one audit record per camera (新增, as the single registration) and one
for the file (导入). Any error: nothing written.

A camera has no signing secret of its own: alerts and heartbeats are signed with the secret
of the platform (``cases.WebhookSource``) that sends them, so an import creates no secret.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import shapely
import shapely.geometry
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from civicgrid.accounts.permissions import has_capability, is_read_only
from civicgrid.accounts.scope import code_range_q, code_within, user_scope_code
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import AuditEntry, audit_record_many
from civicgrid.cameras import conf
from civicgrid.cameras.enums import CameraKind, CameraStatus
from civicgrid.cameras.models import Camera
from civicgrid.cameras.services import CODE_RE
from civicgrid.cases.models import WebhookSource
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common.excel import RowError, cell_text, column_maps, iter_sheet_rows
from civicgrid.common.text import join_list
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.locate import locate
from civicgrid.territory.models import Area

IMPORT_CAPABILITY = CaseCapability.ADMIN  # the capability of the single registration (admin)
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
WRITE_BATCH = 500
NAME_MAX = 100
ADDRESS_MAX = 200
MAX_TEMPLATE_TEXT_ROWS = 1001  # rows of the data sheet pre-formatted as text for the code columns

ProgressCallback = Callable[[str, int, int], None]

# (header, key, required, help)
COLUMNS: list[tuple[str, str, bool, str]] = [
    ("探头编号", "code", True, "必填, 字母、数字、点、横线和下划线, 最长50个字符, 全区唯一, 如 YQ-001001-07"),
    ("名称", "name", True, "必填, 不超过100字, 如 清泉街小区东门"),
    ("类型", "kind", False, "/".join(str(c.label) for c in CameraKind) + "; 空则为枪机"),
    ("经度", "lon", True, "必填, WGS 84 十进制度数, 如 111.6512"),
    ("纬度", "lat", True, "必填, WGS 84 十进制度数, 如 40.7703"),
    ("安装位置", "address", False, "不超过200字"),
    (
        "社区/网格编码",
        "area",
        False,
        "12位社区编码或14位网格编码, 须在您的辖区内; 空则按坐标自动定位网格; 填写时坐标须位于该社区/网格内",
    ),
    (
        "接入平台",
        "source",
        False,
        "告警接入源的名称(如 yuquan-video): 只接受该平台发来的告警和心跳; 空则任何已登记的平台均可",
    ),
]
HEADERS, HEADER_TO_KEY, KEY_TO_HEADER, REQUIRED_HEADERS = column_maps(COLUMNS)


def _kinds() -> dict[str, str]:
    out: dict[str, str] = {}
    for choice in CameraKind:
        label = str(choice.label)
        for text in (label, label.replace(" ", ""), label.upper(), str(choice.value)):
            out[text] = str(choice.value)
    return out


@dataclass(frozen=True, slots=True)
class CameraRow:
    """One checked row: what will be written."""

    row: int
    code: str
    name: str
    kind: str
    lon: float
    lat: float
    address: str
    grid: Area
    community_name: str
    source: WebhookSource | None

    def preview(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "code": self.code,
            "name": self.name,
            "kind": str(CameraKind(self.kind).label),
            "lon": self.lon,
            "lat": self.lat,
            "address": self.address,
            "grid": self.grid.code,
            "grid_name": self.grid.name,
            "community": self.community_name,
            "source": self.source.name if self.source else "",
        }


@dataclass
class ImportResult:
    ok: bool
    file_name: str = ""
    total_rows: int = 0
    created: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: list[CameraRow] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)

    def error(self, row: int, key: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, KEY_TO_HEADER.get(key, key), message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "file_name": self.file_name,
            "total_rows": self.total_rows,
            "created": self.created,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors],
        }


def require_import(actor: Any) -> None:
    """The actor may register cameras in bulk (``actor`` None: a trusted operator)."""
    if actor is None:
        return
    if is_read_only(actor) or not has_capability(actor, IMPORT_CAPABILITY):
        raise PermissionDenied(_("您没有批量登记探头的权限。"))
    if user_scope_code(actor) is None:
        raise PermissionDenied(_("您的账号未绑定辖区, 不能登记探头。"))


# --- reading -----------------------------------------------------------------------------------


def read_rows(file: IO[bytes] | str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number, {key: cell value}) for every non-empty data row of the first sheet.
    Raises ValidationError ({"file": ...}) for an unreadable file, missing columns or too
    many rows."""
    limit = conf.import_max_rows()
    return list(
        iter_sheet_rows(
            file,
            header_to_key=HEADER_TO_KEY,
            required_headers=REQUIRED_HEADERS,
            max_rows=limit,
            too_many_message=_("一次最多导入 %(n)d 个探头, 请拆分文件。") % {"n": limit},
        )
    )


# --- checking ----------------------------------------------------------------------------------


def _coordinate(value: Any) -> float | None:
    """A number from a numeric cell or typed text (None if it is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(cell_text(value).replace("，", ".").replace("°", ""))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _swapped(lon: float, lat: float) -> bool:
    """The point is inside a grid once longitude and latitude are exchanged."""
    return locate(lat, lon).inside


def _swapped_message(lon: float, lat: float) -> str:
    return _("经度和纬度可能填反了: 经度 %(lon)s、纬度 %(lat)s 交换后位于辖区内。") % {"lon": lon, "lat": lat}


class _Checker:
    """What every row is checked against, loaded once: the communities and grids, the
    signing platforms, the codes already registered."""

    def __init__(self, actor: Any, codes: Iterable[str]) -> None:
        self.scope = "" if actor is None else (user_scope_code(actor) or "")
        self.areas: dict[str, Area] = {
            a.code: a
            for a in Area.objects.filter(level__in=[AreaLevel.COMMUNITY, AreaLevel.GRID]).only(
                "id", "code", "name", "level", "parent_id"
            )
        }
        self.sources = {s.name: s for s in WebhookSource.objects.all()}
        wanted = sorted({c for c in codes if c})
        self.registered: set[str] = set()
        for start in range(0, len(wanted), 500):
            self.registered.update(
                Camera.objects.filter(code__in=wanted[start : start + 500]).values_list("code", flat=True)
            )
        self.kinds = _kinds()
        self.seen: dict[str, int] = {}
        self._shapes: dict[str, Any] = {}

    def covers(self, grid: Area, lon: float, lat: float) -> bool:
        """The grid's own polygon covers the point (a point on a shared border is located
        into the neighbour with the lower code; the grid named in the file wins there)."""
        shape = self._shapes.get(grid.code)
        if shape is None:
            geometry = Area.objects.filter(pk=grid.pk).values_list("geometry", flat=True).first()
            shape = self._shapes[grid.code] = shapely.geometry.shape(geometry) if geometry else shapely.Point()
        return bool(shape.covers(shapely.Point(lon, lat)))

    def in_scope(self, code: str) -> bool:
        return code_within(code, self.scope)

    def check(self, rownum: int, values: dict[str, Any], result: ImportResult) -> CameraRow | None:
        before = result.error_count

        def err(key: str, message: str) -> None:
            result.error(rownum, key, message)

        code = cell_text(values.get("code"))
        if not code:
            err("code", _("请填写探头编号。"))
        elif not CODE_RE.match(code):
            err("code", _("探头编号只能包含字母、数字、点、横线和下划线, 最长50个字符。"))
        elif code in self.seen:
            err("code", _("与第 %(row)d 行的探头编号重复。") % {"row": self.seen[code]})
        else:
            self.seen[code] = rownum
            if code in self.registered:
                err("code", _("探头编号 %(code)s 已登记。") % {"code": code})

        name = cell_text(values.get("name"))
        if not name:
            err("name", _("请填写名称。"))
        elif len(name) > NAME_MAX:
            err("name", _("名称不能超过%(n)d个字。") % {"n": NAME_MAX})

        kind_text = cell_text(values.get("kind"))
        kind = self.kinds.get(kind_text) if kind_text else str(CameraKind.BULLET)
        if kind is None:
            err(
                "kind",
                _("类型无效, 可选: %(options)s。") % {"options": join_list(str(c.label) for c in CameraKind)},
            )

        address = cell_text(values.get("address"))
        if len(address) > ADDRESS_MAX:
            err("address", _("安装位置不能超过%(n)d个字。") % {"n": ADDRESS_MAX})

        source: WebhookSource | None = None
        source_name = cell_text(values.get("source"))
        if source_name:
            source = self.sources.get(source_name)
            if source is None:
                err("source", _("接入平台 %(name)s 不存在。") % {"name": source_name[:40]})
            elif not source.is_active:
                err("source", _("接入平台 %(name)s 已停用。") % {"name": source_name})
                source = None

        lon, lat = _coordinate(values.get("lon")), _coordinate(values.get("lat"))
        in_range = lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90
        coordinates: tuple[tuple[str, float | None, Any, float], ...] = (
            ("lon", lon, values.get("lon"), 180.0),
            ("lat", lat, values.get("lat"), 90.0),
        )
        if lon is not None and lat is not None and not in_range and _swapped(lon, lat):
            err("lon", _swapped_message(lon, lat))  # one error for the pair, not a range error
            lon = lat = None
            coordinates = ()
        for key, value, raw, limit in coordinates:
            label = KEY_TO_HEADER[key]
            if cell_text(raw) == "":
                err(key, _("请填写%(column)s。") % {"column": label})
            elif value is None:
                err(key, _("%(column)s必须是数字(十进制度数)。") % {"column": label})
            elif not -limit <= value <= limit:
                err(key, _("%(column)s应在-%(n)d到%(n)d之间。") % {"column": label, "n": int(limit)})

        area_code = cell_text(values.get("area"))
        named: Area | None = None
        if area_code:
            named = self.areas.get(area_code)
            if named is None:
                if Area.objects.filter(code=area_code).exists():
                    err("area", _("%(code)s 不是社区或网格编码。") % {"code": area_code})
                else:
                    err("area", _("社区/网格编码 %(code)s 不存在。") % {"code": area_code[:20]})
            elif not self.in_scope(named.code):
                err("area", _("%(name)s(%(code)s)不在您的辖区范围内。") % {"name": named.name, "code": named.code})
                named = None

        grid: Area | None = None
        usable_area = named is not None or not area_code
        if lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90 and usable_area:
            grid = self._grid(rownum, lon, lat, named, result)

        if result.error_count != before or grid is None or kind is None or lon is None or lat is None:
            return None
        community = self.areas.get(grid.code[:12])
        return CameraRow(
            row=rownum,
            code=code,
            name=name,
            kind=kind,
            lon=lon,
            lat=lat,
            address=address,
            grid=grid,
            community_name=community.name if community else "",
            source=source,
        )

    def _grid(self, rownum: int, lon: float, lat: float, named: Area | None, result: ImportResult) -> Area | None:
        """The camera's grid: the one holding the point, which must lie inside the
        community or grid named in the file (if any) and inside the actor's scope."""
        located = locate(lon, lat)
        grid = self.areas.get(located.grid.code) if located.inside and located.grid else None
        if grid is None:
            message = (
                _swapped_message(lon, lat)
                if _swapped(lon, lat)
                else _("坐标 (%(lon)s, %(lat)s) 不在任何网格内。") % {"lon": lon, "lat": lat}
            )
            result.error(rownum, "lon", message)
            return None
        if named is not None and named.level == AreaLevel.GRID and grid.pk != named.pk:
            if not self.covers(named, lon, lat):
                result.error(
                    rownum,
                    "area",
                    _("坐标位于%(grid)s(%(code)s), 不在填写的%(named)s(%(named_code)s)内。")
                    % {"grid": grid.name, "code": grid.code, "named": named.name, "named_code": named.code},
                )
                return None
            grid = named
        elif named is not None and named.level == AreaLevel.COMMUNITY and not grid.code.startswith(named.code):
            result.error(
                rownum,
                "area",
                _("坐标位于%(grid)s(%(code)s), 不在填写的%(named)s(%(named_code)s)内。")
                % {"grid": grid.name, "code": grid.code, "named": named.name, "named_code": named.code},
            )
            return None
        if not self.in_scope(grid.code):
            result.error(
                rownum,
                "lon",
                _("该位置位于%(grid)s(%(code)s), 不在您的辖区范围内。") % {"grid": grid.name, "code": grid.code},
            )
            return None
        return grid


def camera_import_check(
    *,
    actor: Any,
    file: IO[bytes] | str | Path,
    file_name: str = "",
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """The dry run: every row checked, nothing written. ``ok`` with the rows that would be
    registered, or the errors by row and column (Chinese). Raises ValidationError for a
    file that cannot be read as the template."""
    require_import(actor)
    report = progress or (lambda phase, done, total: None)
    raw = read_rows(file)
    result = ImportResult(ok=False, file_name=file_name, total_rows=len(raw))
    checker = _Checker(actor, (cell_text(values.get("code")) for _rownum, values in raw))
    report("validate", 0, len(raw))
    for done, (rownum, values) in enumerate(raw, start=1):
        row = checker.check(rownum, values, result)
        if row is not None and not result.error_count:
            result.rows.append(row)
        elif result.error_count:
            result.rows.clear()  # nothing will be written
        if done % 100 == 0:
            report("validate", done, len(raw))
    report("validate", len(raw), len(raw))
    if not raw:
        result.error(2, "code", _("文件中没有数据行。"))
    result.ok = result.error_count == 0
    return result


def camera_import_excel(
    *,
    actor: Any,
    file: IO[bytes] | str | Path,
    file_name: str = "",
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Check every row again (the registry may have changed since the preview); if all are
    clean, register every camera in ONE transaction, audited; else write nothing."""
    result = camera_import_check(actor=actor, file=file, file_name=file_name, progress=progress)
    if not result.ok:
        return result
    try:
        result.cameras = _write(actor, result.rows, file_name=file_name, progress=progress)
    except IntegrityError:
        # Someone registered one of these codes between the check and the write.
        result.ok = False
        result.rows = []
        result.error(0, "code", _("导入期间有相同编号的探头被登记, 未写入任何数据, 请重新上传。"))
        return result
    result.created = len(result.cameras)
    return result


@transaction.atomic
def _write(actor: Any, rows: list[CameraRow], *, file_name: str, progress: ProgressCallback | None) -> list[Camera]:
    report = progress or (lambda phase, done, total: None)
    now = timezone.now()
    total = len(rows)
    cameras: list[Camera] = []
    report("write", 0, total)
    for start in range(0, total, WRITE_BATCH):
        batch = [
            Camera(
                code=r.code,
                name=r.name,
                kind=r.kind,
                lon=r.lon,
                lat=r.lat,
                address=r.address,
                grid=r.grid,
                area_code=r.grid.code,
                source=r.source,
                status=CameraStatus.OFFLINE,
                status_changed_at=now,
            )
            for r in rows[start : start + WRITE_BATCH]
        ]
        cameras.extend(Camera.objects.bulk_create(batch))
        report("write", len(cameras), total)
    if any(c.pk is None for c in cameras):  # a backend that cannot return ids from a bulk INSERT
        ids = dict(Camera.objects.filter(code__in=[c.code for c in cameras]).values_list("code", "pk"))
        for camera in cameras:
            camera.pk = ids[camera.code]
    name = Path(file_name).name or "-"
    scope = "" if actor is None else (user_scope_code(actor) or "")
    entries = [
        AuditEntry(
            action=AuditAction.CREATE,
            obj=camera,
            area_code=camera.area_code,
            changes={
                "code": {"before": None, "after": camera.code},
                "grid": {"before": None, "after": camera.area_code},
                "status": {"before": None, "after": str(camera.status)},
            },
            message=f"camera {camera.code} (import {name})",
            actor=actor,
        )
        for camera in cameras
    ]
    entries.append(
        AuditEntry(
            action=AuditAction.IMPORT,
            object_type="cameras.camera",
            object_repr=_("探头导入: %(name)s") % {"name": name},
            area_code=scope,
            changes={"file": name, "rows": total, "created": len(cameras)},
            actor=actor,
        )
    )
    audit_record_many(entries)  # the last write: it holds the chain's head until commit
    return cameras


# --- the template ------------------------------------------------------------------------------


def write_template(out: str | Path | IO[bytes], *, actor: Any) -> None:
    """The import template: the header row (codes as text), a sheet explaining every column
    with an example, the communities and grids of the actor's territory, and the platforms."""
    scope = "" if actor is None else (user_scope_code(actor) or "")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "探头"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGH", (18, 24, 12, 12, 12, 30, 18, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2, max_row=MAX_TEMPLATE_TEXT_ROWS):
        for index in (0, 6):
            row[index].number_format = "@"

    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for header, _key, required, help_text in COLUMNS:
        notes.append([header, "是" if required else "否", help_text])
    notes.append([])
    notes.append(
        [
            "示例",
            "",
            "YQ-001001-07 | 清泉街小区东门 | 球机 | 111.6512 | 40.7703 | 清泉街小区东门岗亭 | (空) | yuquan-video",
        ]
    )
    notes.append(
        [
            "整体说明",
            "",
            "上传后先校验全部行并显示预览: 有任何错误时按行、列列出错误, 不写入任何数据; "
            "全部通过后由您确认, 在一个事务中全部登记(全部成功或全部不写入)。新登记的探头为离线状态, "
            "收到第一次心跳后变为在线。探头没有单独的签名密钥: 告警和心跳使用接入平台的密钥签名。"
            f"一次最多 {conf.import_max_rows()} 个探头。",
        ]
    )
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["C"].width = 90

    areas = workbook.create_sheet("辖区编码")
    areas.append(["编码", "名称", "层级", "所属社区"])
    for cell in areas[1]:
        cell.font = Font(bold=True)
    qs = Area.objects.filter(level__in=[AreaLevel.COMMUNITY, AreaLevel.GRID]).only("code", "name", "level")
    qs = qs.filter(code_range_q("code", scope))
    communities: dict[str, str] = {}
    for area in qs.order_by("code"):
        if area.level == AreaLevel.COMMUNITY:
            communities[area.code] = area.name
        areas.append([area.code, area.name, area.get_level_display(), communities.get(area.code[:12], "")])
    for row in areas.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "@"
    areas.column_dimensions["A"].width = 18
    areas.column_dimensions["B"].width = 30

    platforms = workbook.create_sheet("接入平台")
    platforms.append(["名称", "说明"])
    for cell in platforms[1]:
        cell.font = Font(bold=True)
    for source in WebhookSource.objects.filter(is_active=True).order_by("name"):
        platforms.append([source.name, source.label])
    workbook.save(out)
