"""What every Excel import shares: a cell's text as a person typed it, and an error located by
row and column (the error report shows both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
