"""What every Excel import shares: a cell's text as a person typed it, and an error located by
row and column (the error report shows both)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from civicgrid.common.text import join_list


def cell_text(value: Any) -> str:
    """A cell as text: empty for None, 12 (not 12.0) for a whole number Excel stored as a
    float, stripped otherwise."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ColumnMaps(NamedTuple):
    """What an importer derives from its column table of (header, key, required, help)."""

    headers: list[str]
    header_to_key: dict[str, str]
    key_to_header: dict[str, str]
    required: list[str]


def column_maps(columns: Sequence[tuple[str, str, bool, str]]) -> ColumnMaps:
    return ColumnMaps(
        headers=[c[0] for c in columns],
        header_to_key={c[0]: c[1] for c in columns},
        key_to_header={c[1]: c[0] for c in columns},
        required=[c[0] for c in columns if c[2]],
    )


def iter_sheet_rows(
    file: IO[bytes] | str | Path,
    *,
    header_to_key: Mapping[str, str],
    required_headers: Sequence[str],
    max_rows: int,
    too_many_message: str,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {key: cell value}) for every non-empty data row of the first sheet, the
    columns found by their headers in row 1. Raises ValidationError ({"file": ...}) for an
    unreadable file, missing required columns, or more than ``max_rows`` rows
    (``too_many_message``, already translated)."""
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationError(
            {"file": [_("无法读取该文件, 请上传由模板填写的 .xlsx 格式 Excel 文件。")]}, code="file"
        ) from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        headers = [cell_text(h) for h in (next(rows, None) or ())]
        missing = [h for h in required_headers if h not in headers]
        if missing:
            raise ValidationError(
                {"file": [_("表头缺少必填列: %(columns)s。请使用导入模板。") % {"columns": join_list(missing)}]},
                code="headers",
            )
        positions = {header_to_key[h]: i for i, h in enumerate(headers) if h in header_to_key}
        count = 0
        for rownum, row in enumerate(rows, start=2):
            values = {key: (row[i] if i < len(row) else None) for key, i in positions.items()}
            if all(cell_text(v) == "" for v in values.values()):
                continue
            count += 1
            if count > max_rows:
                raise ValidationError({"file": [too_many_message]}, code="too_many_rows")
            yield rownum, values
    finally:
        workbook.close()
