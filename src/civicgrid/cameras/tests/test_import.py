"""Bulk registration from Excel (cameras/importing.py): the dry run, each kind of bad row,
the territorial scope, duplicates in the file and in the registry, the template, and the
all-or-nothing write."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook, load_workbook

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.cameras import importing, services
from civicgrid.cameras.enums import CameraKind, CameraStatus
from civicgrid.cameras.importing import HEADERS, camera_import_check, camera_import_excel, write_template
from civicgrid.cameras.models import Camera
from civicgrid.cases import webhooks
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = pytest.mark.django_db


def xlsx(rows: list[dict[str, Any]], headers: list[str] | None = None) -> io.BytesIO:
    """A workbook with the template's header and one row per dict (keys: Chinese headers)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    headers = headers or HEADERS
    sheet.append(headers)
    for values in rows:
        sheet.append([values.get(h) for h in headers])
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    out.name = "cameras.xlsx"
    return out


def cam(code: str, point: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {"探头编号": code, "名称": f"{code} 小区门口", "经度": point[0], "纬度": point[1], **extra}


@pytest.fixture
def admin(district: SampleDistrict) -> User:
    """The system administrator (capability cases.admin) of the whole district."""
    return make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")


@pytest.fixture
def street_admin(district: SampleDistrict) -> User:
    """A system administrator bound to street 0 (grids 0-3)."""
    return make_user(Role.SYSTEM_ADMIN, district.streets[0], username="sysadmin0")


def center(d: SampleDistrict, i: int) -> tuple[float, float]:
    return d.grid_center(d.grids[i])


def test_good_file_dry_run_writes_nothing_then_import_registers_all(district: SampleDistrict, admin: User) -> None:
    source, _secret = webhooks.webhook_source_create(name="hik-platform", label="海康视频平台")
    rows = [
        cam("CAM-A1", center(district, 0)),  # located
        cam("CAM-A2", center(district, 1), 类型="球机", 安装位置="东门岗亭", 接入平台="hik-platform"),
        cam("CAM-A3", center(district, 2), **{"社区/网格编码": district.communities[1].code, "类型": "ai_video"}),
        cam("CAM-A4", center(district, 5), **{"社区/网格编码": district.grids[5].code, "类型": "AI视频"}),
    ]
    check = camera_import_check(actor=admin, file=xlsx(rows))
    assert check.ok and check.error_count == 0 and check.total_rows == 4
    assert [r.grid.code for r in check.rows] == [district.grids[i].code for i in (0, 1, 2, 5)]
    assert Camera.objects.count() == 0 and not AuditEvent.objects.filter(object_type="cameras.camera").exists()
    preview = check.rows[1].preview()
    assert preview["kind"] == "球机" and preview["source"] == "hik-platform"
    assert preview["grid"] == district.grids[1].code
    assert preview["community"] == district.communities[0].name

    result = camera_import_excel(actor=admin, file=xlsx(rows), file_name="cameras.xlsx")
    assert result.ok and result.created == 4
    cameras = {c.code: c for c in Camera.objects.select_related("source")}
    assert set(cameras) == {"CAM-A1", "CAM-A2", "CAM-A3", "CAM-A4"}
    a2 = cameras["CAM-A2"]
    assert a2.kind == CameraKind.DOME and a2.address == "东门岗亭" and a2.source == source
    assert a2.grid == district.grids[1] and a2.area_code == district.grids[1].code
    assert a2.status == CameraStatus.OFFLINE and a2.status_changed_at is not None
    assert cameras["CAM-A1"].kind == CameraKind.BULLET and cameras["CAM-A1"].source is None
    assert cameras["CAM-A3"].kind == cameras["CAM-A4"].kind == CameraKind.AI_VIDEO
    created = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="cameras.camera")
    assert sorted(created.values_list("object_id", flat=True)) == sorted(str(c.pk) for c in cameras.values())
    assert created.get(object_id=str(a2.pk)).area_code == a2.area_code
    batch = AuditEvent.objects.get(action=AuditAction.IMPORT, object_type="cameras.camera")
    assert batch.changes == {"file": "cameras.xlsx", "rows": 4, "created": 4}
    assert batch.actor_id == admin.pk


def test_imported_camera_behaves_like_a_registered_one(district: SampleDistrict, admin: User) -> None:
    source, _secret = webhooks.webhook_source_create(name="hik-platform", label="海康视频平台")
    camera_import_excel(actor=admin, file=xlsx([cam("CAM-H1", center(district, 0), 接入平台="hik-platform")]))
    result = services.camera_heartbeat(source=source, codes=["CAM-H1"])
    assert result.came_online == ["CAM-H1"]


BAD_ROWS: list[tuple[str, dict[str, Any], str, str]] = [
    ("no code", {"探头编号": None}, "探头编号", "请填写探头编号"),
    ("bad code", {"探头编号": "摄像头 1"}, "探头编号", "只能包含字母"),
    ("no name", {"名称": None}, "名称", "请填写名称"),
    ("long name", {"名称": "名" * 101}, "名称", "不能超过100个字"),
    ("bad kind", {"类型": "红外"}, "类型", "类型无效"),
    ("no longitude", {"经度": None}, "经度", "请填写经度"),
    ("text longitude", {"经度": "东经111度"}, "经度", "经度必须是数字"),
    ("latitude out of range", {"纬度": 140.5}, "纬度", "纬度应在-90到90之间"),
    ("outside every grid", {"经度": 111.70, "纬度": 40.70}, "经度", "不在任何网格内"),
    ("swapped", {"经度": 40.765, "纬度": 111.605}, "经度", "经度和纬度可能填反了"),
    ("unknown area", {"社区/网格编码": "150104009009"}, "社区/网格编码", "不存在"),
    ("street code", {"社区/网格编码": "150104001"}, "社区/网格编码", "不是社区或网格编码"),
    ("wrong grid", {"社区/网格编码": "15010400200201"}, "社区/网格编码", "不在填写的"),
    ("wrong community", {"社区/网格编码": "150104001002"}, "社区/网格编码", "不在填写的"),
    ("unknown platform", {"接入平台": "nobody"}, "接入平台", "接入平台 nobody 不存在"),
    ("long address", {"安装位置": "址" * 201}, "安装位置", "不能超过200个字"),
]


@pytest.mark.parametrize(("label", "change", "column", "message"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_each_kind_of_bad_row_is_reported_and_nothing_is_written(
    district: SampleDistrict, admin: User, label: str, change: dict[str, Any], column: str, message: str
) -> None:
    good = cam("CAM-OK", center(district, 0))
    bad = {**cam("CAM-BAD", center(district, 0)), **change}
    result = camera_import_excel(actor=admin, file=xlsx([good, bad]))
    assert not result.ok and result.error_count == 1, result.errors
    error = result.errors[0]
    assert (error.row, error.column) == (3, column)
    assert message in error.message
    assert Camera.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="cameras.camera").exists()


def test_inactive_platform_is_refused(district: SampleDistrict, admin: User) -> None:
    source, _secret = webhooks.webhook_source_create(name="old-platform", label="旧平台")
    source.is_active = False
    source.save()
    result = camera_import_check(actor=admin, file=xlsx([cam("CAM-1", center(district, 0), 接入平台="old-platform")]))
    assert not result.ok and "已停用" in result.errors[0].message


def test_several_errors_of_one_row_are_all_listed(district: SampleDistrict, admin: User) -> None:
    row = {"探头编号": "bad code", "名称": None, "经度": "x", "纬度": None}
    result = camera_import_check(actor=admin, file=xlsx([row]))
    assert {e.column for e in result.errors} == {"探头编号", "名称", "经度", "纬度"}
    assert all(e.row == 2 for e in result.errors)


def test_point_on_a_shared_border_may_name_either_grid(district: SampleDistrict, admin: User) -> None:
    # x = 111.61 is the border of grids 0 and 1: locate answers grid 0 (lowest code).
    border = (111.61, 40.765)
    named = {"社区/网格编码": district.grids[1].code}
    result = camera_import_excel(actor=admin, file=xlsx([cam("CAM-B1", border), cam("CAM-B2", border, **named)]))
    assert result.ok, result.errors
    grids = dict(Camera.objects.values_list("code", "area_code"))
    assert grids == {"CAM-B1": district.grids[0].code, "CAM-B2": district.grids[1].code}


def test_rows_outside_the_users_territory_are_errors(district: SampleDistrict, street_admin: User) -> None:
    rows = [
        cam("CAM-IN", center(district, 3)),
        cam("CAM-OUT", center(district, 4)),  # street 1, located
        cam("CAM-OUT2", center(district, 5), **{"社区/网格编码": district.grids[5].code}),  # named, street 1
    ]
    result = camera_import_excel(actor=street_admin, file=xlsx(rows))
    assert not result.ok
    by_row = {e.row: e for e in result.errors}
    assert set(by_row) == {3, 4}
    assert by_row[3].column == "经度" and "不在您的辖区范围内" in by_row[3].message
    assert by_row[4].column == "社区/网格编码" and "不在您的辖区范围内" in by_row[4].message
    assert Camera.objects.count() == 0
    ok = camera_import_excel(actor=street_admin, file=xlsx(rows[:1]))
    assert ok.ok and Camera.objects.get().area_code == district.grids[3].code


def test_duplicate_codes_in_the_file_and_in_the_registry(district: SampleDistrict, admin: User) -> None:
    services.camera_register(code="CAM-OLD", name="已有探头", lon=111.605, lat=40.765)
    rows = [
        cam("CAM-1", center(district, 0)),
        cam("CAM-2", center(district, 1)),
        cam("CAM-1", center(district, 2)),
        cam("CAM-OLD", center(district, 3)),
    ]
    result = camera_import_excel(actor=admin, file=xlsx(rows))
    assert not result.ok
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert messages == {(4, "探头编号"): "与第 2 行的探头编号重复。", (5, "探头编号"): "探头编号 CAM-OLD 已登记。"}
    assert list(Camera.objects.values_list("code", flat=True)) == ["CAM-OLD"]


def test_a_failure_while_writing_rolls_everything_back(
    district: SampleDistrict, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(entries: Any) -> Any:
        raise RuntimeError("audit chain unavailable")

    monkeypatch.setattr(importing, "audit_record_many", broken)
    monkeypatch.setattr(importing, "WRITE_BATCH", 2)  # several INSERT batches before the failure
    rows = [cam(f"CAM-{n}", center(district, n % 8)) for n in range(5)]
    with pytest.raises(RuntimeError):
        camera_import_excel(actor=admin, file=xlsx(rows))
    assert Camera.objects.count() == 0


def test_a_code_registered_between_check_and_write_rolls_everything_back(
    district: SampleDistrict, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_check = importing.camera_import_check

    def check_then_race(**kwargs: Any) -> Any:
        result = real_check(**kwargs)
        services.camera_register(code="CAM-2", name="刚刚登记", lon=111.605, lat=40.765)
        return result

    monkeypatch.setattr(importing, "camera_import_check", check_then_race)
    rows = [cam(f"CAM-{n}", center(district, n)) for n in range(4)]
    result = camera_import_excel(actor=admin, file=xlsx(rows))
    assert not result.ok and "未写入任何数据" in result.errors[0].message
    assert list(Camera.objects.values_list("code", flat=True)) == ["CAM-2"]
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


@pytest.mark.parametrize("role", [Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.LEADER, Role.AUDIT_ADMIN])
def test_only_the_camera_administrator_may_import(district: SampleDistrict, role: Role) -> None:
    user = make_user(role, district.district, username=f"u-{role}")
    with pytest.raises(PermissionDenied):
        camera_import_check(actor=user, file=xlsx([cam("CAM-1", center(district, 0))]))


def test_unreadable_file_missing_columns_and_too_many_rows(
    district: SampleDistrict, admin: User, settings: Any
) -> None:
    with pytest.raises(ValidationError, match="无法读取该文件"):
        camera_import_check(actor=admin, file=io.BytesIO(b"code,name\nA,B\n"))
    with pytest.raises(ValidationError, match="经度"):
        camera_import_check(actor=admin, file=xlsx([], headers=["探头编号", "名称", "纬度"]))
    settings.CAMERAS_IMPORT_MAX_ROWS = 2
    rows = [cam(f"CAM-{n}", center(district, n)) for n in range(3)]
    with pytest.raises(ValidationError, match="一次最多导入 2 个探头"):
        camera_import_check(actor=admin, file=xlsx(rows))
    empty = camera_import_check(actor=admin, file=xlsx([]))
    assert not empty.ok and "没有数据行" in empty.errors[0].message


def test_template_lists_the_users_areas_and_round_trips(district: SampleDistrict, street_admin: User) -> None:
    webhooks.webhook_source_create(name="hik-platform", label="海康视频平台")
    out = io.BytesIO()
    write_template(out, actor=street_admin)
    out.seek(0)
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["探头", "填写说明", "辖区编码", "接入平台"]
    sheet = workbook["探头"]
    assert [c.value for c in sheet[1]] == HEADERS
    codes = [row[0] for row in workbook["辖区编码"].iter_rows(min_row=2, values_only=True)]
    assert codes == sorted(
        [c.code for c in district.communities[:2]] + [g.code for g in district.grids[:4]]
    )  # street 0 only
    assert [row[0] for row in workbook["接入平台"].iter_rows(min_row=2, values_only=True)] == ["hik-platform"]
    # Filled in as a person would (the area code typed into a text cell), it imports.
    lon, lat = center(district, 2)
    sheet.append(["CAM-T1", "清泉街小区东门", "全景摄像机", lon, lat, "东门", district.grids[2].code, "hik-platform"])
    filled = io.BytesIO()
    workbook.save(filled)
    filled.seek(0)
    result = camera_import_excel(actor=street_admin, file=filled)
    assert result.ok, result.errors
    assert Camera.objects.get().kind == CameraKind.PANORAMIC
