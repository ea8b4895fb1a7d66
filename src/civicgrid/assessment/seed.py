"""The default assessment scheme (a 12345 接诉即办 style weighting), seeded by the data
migration 0002 (and by tests that flush the database); administrators change it in the admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

DEFAULT_SCHEME: dict[str, Any] = {
    "name": "默认考核方案 (接诉即办)",
    "weight_on_time_sign_for": 20,
    "weight_resolution": 30,
    "weight_satisfaction": 30,
    "weight_closure": 10,
    "weight_rehandling": 10,
    "is_active": True,
    "effective_from": dt.date(2000, 1, 1),
    "note": "按时签收率20、解决率30、满意率30、办结率10、发回重办率10 (越低越好)",
}


def seed_default_scheme(scheme_model: Any) -> bool:
    """Create the default scheme unless any scheme exists; True if it was created."""
    if scheme_model.objects.exists():
        return False
    scheme_model.objects.create(**DEFAULT_SCHEME)
    return True
