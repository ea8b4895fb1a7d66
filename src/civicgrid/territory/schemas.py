from typing import Any

from ninja import Field, Schema


class AreaOut(Schema):
    id: int
    code: str
    name: str
    level: str
    parent_code: str | None = None
    street_kind: str
    population: int
    households: int
    area_km2: float | None

    @staticmethod
    def resolve_parent_code(obj: Any) -> str | None:
        parent = getattr(obj, "parent", None)
        return parent.code if parent is not None else None


class AreaDetailOut(AreaOut):
    geometry: dict[str, Any] | None
    child_count: int


class AreaRefOut(Schema):
    id: int
    code: str
    name: str


class LocateOut(Schema):
    inside: bool
    status: str = Field(..., description="inside | outside | invalid | out_of_scope")
    message: str
    grid: AreaRefOut | None
    community: AreaRefOut | None
    street: AreaRefOut | None
    district: AreaRefOut | None


class BulkLocateIn(Schema):
    points: list[tuple[float, float]] = Field(..., description="[[lon, lat], ...] (WGS 84), at most 10000")


class BulkLocateOut(Schema):
    count: int
    inside: int
    results: list[LocateOut]
