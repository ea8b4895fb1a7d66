"""API schemas of the people app. Protected fields only ever appear masked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class TagOut(Schema):
    kind: str
    label: str
    disability_category: str = ""
    disability_level: int | None = None


class TagIn(Schema):
    kind: str
    disability_category: str = ""
    disability_level: int | None = None
    note: str = ""


class PersonOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: dt.date
    ethnicity: str
    political_status: str
    residence_type: str
    id_number_masked: str
    phone_masked: str
    registered_address_masked: str
    current_address_masked: str
    area_code: str
    grid_id: int
    grid_name: str
    building_id: int | None
    household_id: int | None
    relation_to_head: str
    is_active: bool
    tags: list[TagOut]

    @staticmethod
    def resolve_grid_name(obj: Any) -> str:
        return str(obj.grid.name)

    @staticmethod
    def resolve_tags(obj: Any) -> list[dict[str, Any]]:
        return [
            {
                "kind": t.kind,
                "label": str(t.get_kind_display()),
                "disability_category": t.disability_category,
                "disability_level": t.disability_level,
            }
            for t in obj.tags.all()
        ]


class PersonCreateIn(Schema):
    name: str
    id_number: str
    grid: str = Field(..., description="grid id or grid code")
    gender: str = ""
    birth_date: dt.date | None = None
    phone: str = ""
    ethnicity: str = "汉族"
    political_status: str = "masses"
    residence_type: str = "registered"
    registered_address: str = ""
    current_address: str = ""
    building: int | None = None
    household: int | None = None
    relation_to_head: str = ""
    tags: list[TagIn] = []


class PersonPatchIn(Schema):
    name: str | None = None
    id_number: str | None = None
    grid: str | None = None
    gender: str | None = None
    birth_date: dt.date | None = None
    phone: str | None = None
    ethnicity: str | None = None
    political_status: str | None = None
    residence_type: str | None = None
    registered_address: str | None = None
    current_address: str | None = None
    building: int | None = None
    household: int | None = None
    relation_to_head: str | None = None
    tags: list[TagIn] | None = None


class RevealIn(Schema):
    field: str


class RevealOut(Schema):
    field: str
    value: str
