from __future__ import annotations

from ninja import Schema


class AreaRef(Schema):
    code: str
    name: str
    level: str


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    area: AreaRef | None
    scope_chain: list[AreaRef]
    departments: list[str]
    capabilities: list[str]
    is_demo: bool
