"""The weighted score of a unit (街道、社区、网格 or 部门) under an assessment scheme.

    score = 100 × Σ wᵢ·vᵢ / Σ wᵢ   over the components i whose rate is defined

where vᵢ is the rate (0..1) for on-time sign-for, resolution, satisfaction and closure, and
``1 - rate`` for re-handling (lower is better). A rate is undefined when its denominator is
zero (no dispatched case: no on-time sign-for rate; no evaluation: no resolution or satisfaction
rate); its weight is then left out and the others are re-normalised, so a unit is neither
rewarded nor punished for what it had no occasion to do. A unit with no case received in the
period has no score and is shown unranked. Scores are rounded to 2 decimals (0-100)."""

from __future__ import annotations

from collections.abc import Mapping

from civicgrid.assessment.models import WEIGHT_FIELDS, AssessmentScheme


def component_values(rates: Mapping[str, float | None]) -> dict[str, float | None]:
    """{metric: the value that enters the score (0..1)}: the rate, or 1 - rate if inverse."""
    out: dict[str, float | None] = {}
    for _field, metric, inverse, _label in WEIGHT_FIELDS:
        value = rates.get(metric)
        out[metric] = None if value is None else (1.0 - value if inverse else float(value))
    return out


def weighted_score(rates: Mapping[str, float | None], scheme: AssessmentScheme, *, received: int) -> float | None:
    if received <= 0:
        return None
    weights = scheme.weights()
    total_weight = 0
    total = 0.0
    for metric, value in component_values(rates).items():
        weight = weights[metric]
        if value is None or weight <= 0:
            continue
        total_weight += weight
        total += weight * value
    if total_weight == 0:
        return None
    return round(100.0 * total / total_weight, 2)


def competition_ranks(scores: list[float | None]) -> list[int | None]:
    """Standard competition ranking ("1224"): equal scores share a rank; None stays unranked."""
    ordered = sorted((s for s in scores if s is not None), reverse=True)
    first: dict[float, int] = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return [None if s is None else first[s] for s in scores]
