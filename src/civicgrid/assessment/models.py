"""Assessment schemes (考核方案): the weights of the 12345-style (接诉即办) score.

A scheme weighs five rates of the case engine (``civicgrid.cases.metrics``): on-time sign-for,
resolution, satisfaction and closure (higher is better) and re-handling (lower is better, so it
enters the score as ``1 - rate``). The weights are whole percentages that sum to 100; the
database refuses any other sum. The scheme that applies to a period is the active one with the
latest ``effective_from`` on or before the period's last day (``selectors.scheme_for``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.common.models import TimeStampedModel

# (field, metric of cases.metrics.CaseMetrics, inverse?, Chinese label)
WEIGHT_FIELDS: tuple[tuple[str, str, bool, str], ...] = (
    ("weight_on_time_sign_for", "on_time_sign_for_rate", False, "按时签收率"),
    ("weight_resolution", "resolution_rate", False, "解决率"),
    ("weight_satisfaction", "satisfaction_rate", False, "满意率"),
    ("weight_closure", "closure_rate", False, "办结率"),
    ("weight_rehandling", "rehandling_rate", True, "发回重办率"),
)
WEIGHT_TOTAL = 100


def _weight(label: Any) -> models.PositiveSmallIntegerField:  # type: ignore[type-arg]
    return models.PositiveSmallIntegerField(label, default=0, validators=[MaxValueValidator(WEIGHT_TOTAL)])


class AssessmentScheme(TimeStampedModel):
    name = models.CharField(_("方案名称"), max_length=100)
    weight_on_time_sign_for = _weight(_("按时签收率权重(%)"))
    weight_resolution = _weight(_("解决率权重(%)"))
    weight_satisfaction = _weight(_("满意率权重(%)"))
    weight_closure = _weight(_("办结率权重(%)"))
    weight_rehandling = _weight(_("发回重办率权重(%, 越低越好)"))
    is_active = models.BooleanField(_("启用"), default=True)
    effective_from = models.DateField(_("生效日期"))
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("考核方案")
        verbose_name_plural = _("考核方案")
        ordering = ["-effective_from", "-id"]
        indexes = [models.Index(fields=["is_active", "effective_from"], name="assess_scheme_active_from")]
        constraints = [
            models.CheckConstraint(
                condition=Exact(
                    F("weight_on_time_sign_for")
                    + F("weight_resolution")
                    + F("weight_satisfaction")
                    + F("weight_closure")
                    + F("weight_rehandling"),
                    WEIGHT_TOTAL,
                ),
                name="assess_scheme_weights_sum_100",
            ),
            models.CheckConstraint(
                condition=Q(weight_on_time_sign_for__lte=WEIGHT_TOTAL)
                & Q(weight_resolution__lte=WEIGHT_TOTAL)
                & Q(weight_satisfaction__lte=WEIGHT_TOTAL)
                & Q(weight_closure__lte=WEIGHT_TOTAL)
                & Q(weight_rehandling__lte=WEIGHT_TOTAL),
                name="assess_scheme_weights_max_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def weights(self) -> dict[str, int]:
        """{metric: weight}, e.g. {"satisfaction_rate": 30, ...}."""
        return {metric: int(getattr(self, field)) for field, metric, _inv, _label in WEIGHT_FIELDS}

    def weight_total(self) -> int:
        return sum(int(getattr(self, field) or 0) for field, *_rest in WEIGHT_FIELDS)

    def clean(self) -> None:
        super().clean()
        total = self.weight_total()
        if total != WEIGHT_TOTAL:
            raise ValidationError(weights_sum_message(total), code="weights_sum")


def weights_sum_message(total: int) -> str:
    return gettext("各项权重之和必须为100, 当前为%(total)d") % {"total": total}
