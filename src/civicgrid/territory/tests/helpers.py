"""GeoJSON builders for the import/export tests: a small district on a lattice."""

from __future__ import annotations

import copy
from typing import Any

from civicgrid.testing.factories import square

DISTRICT = "150199"
STREET = "150199001"
COMMUNITIES = ["150199001001", "150199001002"]


def feature(code: str, name: str, geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": name, **props}, "geometry": geometry}


def collection(*features: dict[str, Any], crs: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    return data


def sample_features() -> list[dict[str, Any]]:
    """District 150199 (lon 112.00-112.02, lat 41.00-41.01): one street, two communities
    side by side, two grids in each (each grid 0.005 x 0.01 degrees)."""
    x0, y0 = 112.0, 41.0
    features = [
        feature(DISTRICT, "测试区", square(x0, y0, 0.02, 0.01), level="district"),
        feature(STREET, "测试街道", square(x0, y0, 0.02, 0.01), level="street", population=400),
    ]
    for c, code in enumerate(COMMUNITIES):
        cx = x0 + c * 0.01
        features.append(
            feature(
                code,
                f"测试社区{c + 1}",
                square(cx, y0, 0.01, 0.01),
                level="community",
                parent_code=STREET,
                population=200,
                households=80,
            )
        )
        for g in range(2):
            features.append(
                feature(
                    f"{code}{g + 1:02d}",
                    f"测试社区{c + 1}第{g + 1}网格",
                    square(cx + g * 0.005, y0, 0.005, 0.01),
                    level="grid",
                    population=100,
                    households=40,
                    area_km2=0.42,
                )
            )
    return features


def sample_collection() -> dict[str, Any]:
    return collection(*sample_features())


def with_geometry(data: dict[str, Any], code: str, geometry: dict[str, Any] | None) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for f in data["features"]:
        if f["properties"]["code"] == code:
            f["geometry"] = geometry
    return data


def index_of(data: dict[str, Any], code: str) -> int:
    return next(i for i, f in enumerate(data["features"]) if f["properties"]["code"] == code)
