from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import load_workbook

from civicgrid.audit.models import AuditEvent
from civicgrid.indicators import services
from civicgrid.indicators.importing import MAX_ROWS, write_template
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.selectors import enterable_indicators
from civicgrid.indicators.tests.conftest import World, xlsx

pytestmark = pytest.mark.django_db


def test_good_file_writes_every_row_with_versions_and_audit(world: World) -> None:
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=4800)
    before = AuditEvent.objects.count()
    file = xlsx(
        [
            ["employment.urban_new", "城镇新增就业", "人", "2026-H1", 4878, "更正"],  # correction
            ["employment.urban_new", "", "", "2025年下半年", "5000", ""],  # new, Chinese spelling
            ["insurance.pension", "", "", dt.datetime(2026, 5, 1), 10303, ""],  # a date cell is its month
            ["insurance.pension", "", "", None, None, None],  # template row left empty: skipped
        ]
    )
    result = services.indicator_value_import(actor=world.hr_handler, file=file, file_name="上半年.xlsx")
    assert result.ok, result.errors
    assert (result.total_rows, result.created, result.corrected, result.unchanged, result.skipped) == (4, 2, 1, 0, 1)
    assert IndicatorValue.objects.get(indicator=world.jobs, period_key="2026-H1", is_current=True).version == 2
    assert IndicatorValue.objects.get(indicator=world.pension, period_key="2026-05").value == Decimal(10303)
    assert IndicatorValue.objects.filter(source="import").count() == 3
    events = list(AuditEvent.objects.filter(id__gt=0).order_by("id"))[before:]
    assert [e.action for e in events] == ["update", "create", "create", "import"]
    assert events[-1].changes["rows"] == 4 and events[-1].changes["file"] == "上半年.xlsx"
    # Importing the same file again changes nothing.
    file.seek(0)
    again = services.indicator_value_import(actor=world.hr_handler, file=file, file_name="上半年.xlsx")
    assert (again.ok, again.created, again.corrected, again.unchanged) == (True, 0, 0, 3)


def test_any_bad_row_writes_nothing_and_reports_every_row(world: World) -> None:
    file = xlsx(
        [
            ["employment.urban_new", "", "", "2026-H1", 4878, ""],  # fine
            ["employment.urban_new", "", "", "2026-05", 10, ""],  # wrong period kind
            ["insurance.pension", "", "", "2026-06", -3, ""],  # negative
            ["health.family_doctor_rate", "", "", "2026-Q2", 80, ""],  # another department's
            ["no.such", "", "", "2026", 1, ""],  # unknown code
            ["employment.urban_new", "", "", "2026-H1", 4900, ""],  # duplicate of row 2
            ["", "", "", "2026-H1", 5, ""],  # no code
            ["insurance.pension", "", "", "2026-07", "1.5", "x" * 201],  # not whole, note too long
            ["insurance.pension", "", "", "2027-01", 1, ""],  # not started
        ]
    )
    result = services.indicator_value_import(actor=world.hr_handler, file=file, file_name="bad.xlsx")
    assert not result.ok
    got = {(e.row, e.column) for e in result.errors}
    assert got == {
        (3, "统计期"),
        (4, "数值"),
        (5, "指标编码"),
        (6, "指标编码"),
        (7, "统计期"),
        (8, "指标编码"),
        (9, "数值"),
        (9, "说明"),
        (10, "统计期"),
    }
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "统计周期(半年)不符" in messages[(3, "统计期")]
    assert "不能为负数" in messages[(4, "数值")]
    assert "玉泉区卫生健康委员会" in messages[(5, "指标编码")]
    assert "不存在" in messages[(6, "指标编码")]
    assert "与第 2 行重复" in messages[(7, "统计期")]
    assert result.error_count == 9
    assert not IndicatorValue.objects.exists()
    assert not AuditEvent.objects.filter(action="import").exists()


def test_unreadable_files_and_missing_headers(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        services.indicator_value_import(actor=world.hr_handler, file=BytesIO(b"not a zip"), file_name="x.xlsx")
    assert "无法读取" in exc.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as exc:
        services.indicator_value_import(
            actor=world.hr_handler, file=xlsx([["a", 1]], headers=["指标编码", "数值"]), file_name="x.xlsx"
        )
    assert "统计期" in exc.value.message_dict["file"][0]


def test_too_many_rows(world: World) -> None:
    rows = [["insurance.pension", "", "", "2026-01", 1, ""]] * (MAX_ROWS + 1)
    with pytest.raises(ValidationError) as exc:
        services.indicator_value_import(actor=world.hr_handler, file=xlsx(rows), file_name="big.xlsx")
    assert str(MAX_ROWS) in exc.value.message_dict["file"][0]
    assert not IndicatorValue.objects.exists()


def test_only_entering_roles_may_import(world: World) -> None:
    for actor in (world.leader, world.sysadmin):
        with pytest.raises(PermissionDenied):
            services.indicator_value_import(actor=actor, file=xlsx([]), file_name="x.xlsx")


def test_template_lists_the_persons_indicators_and_round_trips(world: World) -> None:
    out = BytesIO()
    write_template(out, list(enterable_indicators(world.hr_handler)), today=dt.date(2026, 11, 15))
    out.seek(0)
    book = load_workbook(out)
    sheet = book["指标数值"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("指标编码", "指标名称", "单位", "统计期", "数值", "说明")
    assert [r[0] for r in rows[1:]] == ["employment.urban_new", "insurance.pension"]
    catalogue = list(book["可填报指标"].iter_rows(values_only=True))
    assert catalogue[1][4:6] == ("2026-H1", "2026-H1") and catalogue[2][5] == "2026-10"
    assert "填写说明" in book.sheetnames
    # Fill in one row and import the template itself.
    sheet["D2"], sheet["E2"] = "2026-H1", 4878
    filled = BytesIO()
    book.save(filled)
    filled.seek(0)
    result = services.indicator_value_import(actor=world.hr_handler, file=filled, file_name="模板.xlsx")
    assert (result.ok, result.created, result.skipped) == (True, 1, 1)
