"""The metrics API's schemas are derived from the dataclasses of cases/metrics.py (one source of
truth): the OpenAPI contract keeps its field names and types, and a new dataclass field shows
up in the schema without a second edit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.cases.metrics import CaseMetrics, GroupedMetrics
from civicgrid.cases.schemas import schema_from_dataclass
from civicgrid.cases.tests.conftest import World

pytestmark = pytest.mark.django_db

INT = {"type": "integer"}
STR = {"type": "string"}
RATE = {"anyOf": [{"type": "number"}, {"type": "null"}]}
OPT_INT = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
OPT_STR = {"anyOf": [{"type": "string"}, {"type": "null"}]}
DATETIME = {"type": "string", "format": "date-time"}

# The published contract (as it was when the schemas were written by hand): every field keeps
# its name and JSON type; new metrics may be added.
COUNTS_AND_RATES = {
    "received": INT,
    "closed": INT,
    "closure_rate": RATE,
    "dispatched": INT,
    "signed_on_time": INT,
    "on_time_sign_for_rate": RATE,
    "closed_on_time": INT,
    "on_time_closing_rate": RATE,
    "evaluated": INT,
    "resolved": INT,
    "satisfied": INT,
    "resolution_rate": RATE,
    "satisfaction_rate": RATE,
    "rehandled": INT,
    "rehandling_rate": RATE,
    "repeat_complaints": INT,
    "repeat_complaint_rate": RATE,
}
CASE_METRICS_CONTRACT = {
    "start": DATETIME,
    "end": DATETIME,
    "area_code": OPT_STR,
    "department_id": OPT_INT,
    "category_code": OPT_STR,
    **COUNTS_AND_RATES,
    "response_median_hours": RATE,
    "response_p90_hours": RATE,
    "handling_median_hours": RATE,
    "handling_p90_hours": RATE,
}
GROUPED_CONTRACT = {"key": STR, "label": STR, "open": INT, **COUNTS_AND_RATES}


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    from civicgrid.config.api import api

    schemas: dict[str, Any] = api.get_openapi_schema()["components"]["schemas"]
    return schemas


def _types(component: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {k: v for k, v in prop.items() if k != "title"} for name, prop in component["properties"].items()}


@pytest.mark.parametrize(
    ("name", "contract"), [("CaseMetricsOut", CASE_METRICS_CONTRACT), ("GroupedMetricsOut", GROUPED_CONTRACT)]
)
def test_openapi_keeps_the_published_fields_and_types(
    components: dict[str, Any], name: str, contract: dict[str, Any]
) -> None:
    component = components[name]
    types = _types(component)
    assert {f: types.get(f) for f in contract} == contract
    assert set(contract) <= set(component["required"])
    assert component["properties"]["closure_rate"]["title"] == "Closure Rate"


def test_the_schemas_follow_the_dataclasses_field_by_field(components: dict[str, Any]) -> None:
    case_fields = [f.name for f in dataclasses.fields(CaseMetrics) if f.name != "extra"]
    assert list(components["CaseMetricsOut"]["properties"]) == case_fields
    grouped = [f.name for f in dataclasses.fields(GroupedMetrics)]
    grouped.insert(grouped.index("closed") + 1, "open")  # the property as_dict adds
    assert list(components["GroupedMetricsOut"]["properties"]) == grouped
    items = components["GroupedOut"]["properties"]["items"]["items"]
    assert items == {"$ref": "#/components/schemas/GroupedMetricsOut"}


def test_a_new_dataclass_field_needs_no_second_edit() -> None:
    @dataclass(frozen=True)
    class Toy:
        received: int
        closed: int
        closure_rate: float | None
        new_rate: float | None
        notes: dict[str, Any] = field(default_factory=dict)

    schema = schema_from_dataclass("ToyOut", Toy, exclude=("notes",), extra={"open": (int, "closed")})
    assert list(schema.model_fields) == ["received", "closed", "open", "closure_rate", "new_rate"]
    row = schema.model_validate({"received": 3, "closed": 1, "open": 2, "closure_rate": None, "new_rate": 0.5})
    assert row.model_dump()["new_rate"] == 0.5
    json_schema = schema.model_json_schema()
    assert json_schema["properties"]["new_rate"]["anyOf"] == RATE["anyOf"]
    assert json_schema["required"] == ["received", "closed", "open", "closure_rate", "new_rate"]


def test_bad_definitions_are_refused() -> None:
    with pytest.raises(TypeError):
        schema_from_dataclass("X", dict)
    with pytest.raises(ValueError, match="nope"):
        schema_from_dataclass("X", GroupedMetrics, extra={"open": (int, "nope")})


def test_the_api_answers_with_every_dataclass_field(client: Client, world: World) -> None:
    world.intake()
    today = timezone.localdate()
    client.force_login(world.operator)
    body = client.get(f"/api/cases/metrics?start={today}&end={today}").json()
    assert set(body) == set(CASE_METRICS_CONTRACT)
    assert body["received"] == 1 and body["closed"] == 0 and body["closure_rate"] == 0
    grouped = client.get(f"/api/cases/metrics/grouped?start={today}&end={today}&group_by=channel").json()
    [row] = grouped["items"]
    assert set(row) == set(GROUPED_CONTRACT)
    assert (row["key"], row["received"], row["open"]) == ("hotline", 1, 1)
