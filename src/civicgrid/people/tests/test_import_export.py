"""Excel import (validation-first, all-or-nothing, idempotent), export (masked), CLI."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from openpyxl import Workbook, load_workbook

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.common.protected import reveal
from civicgrid.people.importing import HEADERS, people_export_excel, people_import_excel, write_template
from civicgrid.people.models import Person, PersonTag
from civicgrid.people.tests.conftest import make_number
from civicgrid.territory.models import Household

pytestmark = pytest.mark.django_db


def row(grid_code, seq, **over):
    values = {
        "姓名": f"居民{seq}",
        "性别": "",
        "出生日期": "",
        "身份证号": make_number(seq),
        "电话": f"1390000{seq:04d}",
        "民族": "汉族",
        "政治面貌": "群众",
        "人口类型": "户籍人口",
        "户籍地址": "玉泉区清泉街社区1号楼",
        "现住址": "玉泉区清泉街社区1号楼101",
        "网格编码": grid_code,
        "小区": "",
        "楼栋": "",
        "单元": "",
        "室": "",
        "与户主关系": "",
        "标签": "",
    }
    values.update(over)
    return [values.get(h, "") for h in HEADERS]


def xlsx(rows, headers=HEADERS):
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_template_is_documented_and_importable(district, worker, tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    wb = load_workbook(path)
    assert [c.value for c in wb["居民"][1]] == HEADERS
    assert {r[0] for r in wb["填写说明"].iter_rows(values_only=True)} >= set(HEADERS)


def test_import_error_report_by_row_and_column(district, worker):
    grid = district.grids[0].code
    good = make_number(31)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        row(grid, 30),
        row(grid, 31, 身份证号=bad),
        row(grid, 32, 电话="12"),
        row(district.grids[2].code, 33),  # another community: outside the worker's scope
        row(grid, 34, 身份证号=make_number(30)),  # duplicate of row 2
        row(grid, 35, 标签="残疾人"),
        row("99999999999999", 36),
    ]
    result = people_import_excel(actor=worker, file=xlsx(rows))
    assert not result.ok
    report = {(e.row, e.column): e.message for e in result.errors}
    assert f"应为 {good[17]}" in report[(3, "身份证号")]
    assert "电话号码格式不正确" in report[(4, "电话")]
    assert "不在您的辖区" in report[(5, "网格编码")]
    assert "与第 2 行的身份证号重复" in report[(6, "身份证号")]
    assert "残疾人:类别:等级" in report[(7, "标签")]
    assert "不存在" in report[(8, "网格编码")]
    assert result.error_count == 6
    assert not Person.objects.exists()  # nothing written, not even the valid first row


def test_missing_required_column(district, worker):
    result = people_import_excel(actor=worker, file=xlsx([["张三"]], headers=["姓名"]))
    assert not result.ok
    assert {e.column for e in result.errors} == {"身份证号", "网格编码"}


def test_import_writes_everything_and_is_idempotent(district, worker, homes):
    grid = district.grids[0].code
    rows = [row(grid, n, 标签="老年人、残疾人:肢体残疾:二级" if n == 40 else "") for n in range(40, 50)]
    rows.append(row(grid, 50, 小区=homes["compound0"].name, 楼栋="1号楼", 单元="2", 室="202"))
    rows.append(row(grid, 51, 小区=homes["compound0"].name, 楼栋="1号楼", 单元="2", 室="202"))
    first = people_import_excel(actor=worker, file=xlsx(rows), file_name="a.xlsx")
    assert first.ok, first.errors
    assert (first.created, first.updated, first.unchanged) == (12, 0, 0)
    assert Person.objects.count() == 12
    p = Person.objects.get(name="居民40")
    assert reveal(p.id_number_cipher, context="people.person.id_number") == make_number(40)
    assert p.birth_date == dt.date(1980, 5, 17) and p.gender == "male"
    assert set(PersonTag.objects.filter(person=p).values_list("kind", flat=True)) == {"elderly", "disabled"}
    hh = Household.objects.get(unit="2", room="202")
    assert set(Person.objects.filter(household=hh).values_list("name", flat=True)) == {"居民50", "居民51"}

    second = people_import_excel(actor=worker, file=xlsx(rows))
    assert second.ok
    assert (second.created, second.updated, second.unchanged) == (0, 0, 12)
    assert Person.objects.count() == 12
    assert Household.objects.filter(unit="2", room="202").count() == 1

    rows[0] = row(grid, 40, 姓名="改名了", 标签="老年人")
    third = people_import_excel(actor=worker, file=xlsx(rows))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 11)
    p.refresh_from_db()
    assert p.name == "改名了"
    assert list(PersonTag.objects.filter(person=p).values_list("kind", flat=True)) == ["elderly"]
    events = AuditEvent.objects.filter(action=AuditAction.IMPORT).order_by("id")
    assert [e.changes["created"] for e in events] == [12, 0, 0]
    text = json.dumps(list(AuditEvent.objects.values("changes")), ensure_ascii=False)
    assert make_number(40) not in text


def test_import_refuses_a_resident_registered_elsewhere(district, worker, residents):
    # residents[2] (李五) lives in the other community; the worker may not overwrite it.
    result = people_import_excel(actor=worker, file=xlsx([row(district.grids[0].code, 13)]))
    assert not result.ok
    assert "其他辖区" in result.errors[0].message
    assert Person.objects.get(pk=residents[2].pk).name == "李五"


def test_import_is_all_or_nothing_on_database_failure(district, worker, monkeypatch):
    from civicgrid.people import importing
    from civicgrid.people.models import Person as PersonModel

    real = importing._raw_insert
    calls = {"people": 0}

    def failing(model, objs, now):
        if model is PersonModel:
            calls["people"] += 1
            if calls["people"] == 2:  # the second batch, after the first one was written
                raise RuntimeError("disk full")
        real(model, objs, now)

    monkeypatch.setattr(importing, "_raw_insert", failing)
    rows = [row(district.grids[0].code, n, 标签="老年人") for n in range(60, 65)]
    with pytest.raises(RuntimeError):
        people_import_excel(actor=worker, file=xlsx(rows), batch_size=2)
    assert calls["people"] == 2
    assert not PersonModel.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


def test_progress_callback(district, worker):
    seen = []
    rows = [row(district.grids[0].code, n) for n in range(70, 75)]
    people_import_excel(actor=worker, file=xlsx(rows), progress=lambda *a: seen.append(a), batch_size=2)
    assert ("validate", 5, 5) in seen
    assert [s for s in seen if s[0] == "write"] == [("write", 0, 5), ("write", 2, 5), ("write", 4, 5), ("write", 5, 5)]


def test_export_is_scoped_masked_and_audited(district, worker, residents, tmp_path):
    path = tmp_path / "out.xlsx"
    assert people_export_excel(actor=worker, out=path) == 2
    wb = load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    body = json.dumps([list(map(str, r)) for r in rows[1:]], ensure_ascii=False)
    assert {r[0] for r in rows[1:]} == {"张三", "张小四"}
    for seq in (11, 12, 13):
        assert make_number(seq, male=seq != 12) not in body
    assert make_number(11)[:6] + "********" + make_number(11)[-4:] in body
    assert "138****8000" in body and "13800138000" not in body
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.changes["count"] == 2 and event.changes["masked"] is True


def test_cli_import_and_export(district, worker, tmp_path, capsys):
    src = tmp_path / "in.xlsx"
    src.write_bytes(xlsx([row(district.grids[0].code, n) for n in range(80, 83)]).getvalue())
    call_command("people", "import", str(src), "--user", worker.username)
    assert "3 created" in capsys.readouterr().out
    out = tmp_path / "out.xlsx"
    call_command("people", "export", str(out), "--area", district.grids[0].code)
    assert "3 residents exported" in capsys.readouterr().out
    assert load_workbook(out).worksheets[0].max_row == 4
