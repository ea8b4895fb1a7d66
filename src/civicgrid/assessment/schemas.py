from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class SchemeOut(Schema):
    id: int
    name: str
    weight_on_time_sign_for: int
    weight_resolution: int
    weight_satisfaction: int
    weight_closure: int
    weight_rehandling: int
    is_active: bool
    effective_from: dt.date
    note: str


class SchemeIn(Schema):
    name: str = Field(..., max_length=100)
    weight_on_time_sign_for: int = Field(..., description="按时签收率权重 (0-100)")
    weight_resolution: int = Field(..., description="解决率权重 (0-100)")
    weight_satisfaction: int = Field(..., description="满意率权重 (0-100)")
    weight_closure: int = Field(..., description="办结率权重 (0-100)")
    weight_rehandling: int = Field(..., description="发回重办率权重 (0-100, 越低越好)")
    is_active: bool = True
    effective_from: dt.date
    note: str = Field("", max_length=500)


class SchemePatch(Schema):
    name: str | None = Field(None, max_length=100)
    weight_on_time_sign_for: int | None = None
    weight_resolution: int | None = None
    weight_satisfaction: int | None = None
    weight_closure: int | None = None
    weight_rehandling: int | None = None
    is_active: bool | None = None
    effective_from: dt.date | None = None
    note: str | None = Field(None, max_length=500)
