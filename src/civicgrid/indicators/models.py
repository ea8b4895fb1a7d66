"""The district indicators register (指标台账): periodic statistics that departments enter
(new urban jobs, insurance enrolment, family-doctor contracts...), with yearly targets and a
versioned history of values: a correction adds a version and the earlier one stays."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.common.models import TimeStampedModel
from civicgrid.indicators.enums import Aggregation, PeriodKind, Unit, ValueSource

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$", _("编码只能包含字母、数字、点、下划线和连字符, 不超过40位。")
)
VALUE_DIGITS = 14
VALUE_PLACES = 2


class Indicator(TimeStampedModel):
    code = models.CharField(_("编码"), max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("责任部门"), on_delete=models.PROTECT, related_name="indicators"
    )
    unit = models.CharField(_("单位"), max_length=8, choices=Unit.choices)
    period_kind = models.CharField(_("统计周期"), max_length=8, choices=PeriodKind.choices)
    aggregation = models.CharField(_("汇总方式"), max_length=8, choices=Aggregation.choices, default=Aggregation.SUM)
    area = models.ForeignKey(
        "territory.Area", verbose_name=_("统计范围"), on_delete=models.PROTECT, related_name="indicators"
    )
    # The area's code, for scope filtering without a join (accounts.scope).
    area_code = models.CharField(_("统计范围编码"), max_length=20, editable=False)
    is_public = models.BooleanField(_("可公开展示"), default=False, help_text=_("可在公开大屏和报告中展示"))
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("指标")
        verbose_name_plural = _("指标")
        ordering = ["sort_order", "code"]
        indexes = [
            models.Index(fields=["area_code", "sort_order", "code"], name="indicator_scope_order"),
            models.Index(fields=["department", "sort_order"], name="indicator_department"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from civicgrid.territory.enums import AreaLevel

        errors: dict[str, list[str]] = {}
        if self.unit == Unit.PERCENT and self.aggregation != Aggregation.RATE:
            errors.setdefault("aggregation", []).append(str(_("单位为 % 的指标, 汇总方式应为“比率”。")))
        if self.aggregation == Aggregation.RATE and self.unit != Unit.PERCENT:
            errors.setdefault("unit", []).append(str(_("汇总方式为“比率”的指标, 单位应为 %。")))
        if self.area_id is not None and self.area.level not in (AreaLevel.DISTRICT, AreaLevel.STREET):
            errors.setdefault("area", []).append(str(_("统计范围应为区或街道(镇)。")))
        if self.department_id is not None and not self.department.is_active:
            errors.setdefault("department", []).append(str(_("责任部门已停用。")))
        if errors:
            raise ValidationError(errors)

    def save(self, *args: object, **kwargs: object) -> None:
        if self.area_id is not None:
            self.area_code = self.area.code
            update_fields = kwargs.get("update_fields")
            if isinstance(update_fields, list | tuple | set | frozenset) and "area" in update_fields:
                kwargs["update_fields"] = {*update_fields, "area_code"}
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class IndicatorTarget(TimeStampedModel):
    """The target of one indicator for one year (a count for the year, or the level a stock
    or rate should reach)."""

    indicator = models.ForeignKey(Indicator, verbose_name=_("指标"), on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField(_("年度"))
    target = models.DecimalField(_("目标值"), max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)

    class Meta:
        verbose_name = _("年度目标")
        verbose_name_plural = _("年度目标")
        ordering = ["indicator", "-year"]
        constraints = [models.UniqueConstraint(fields=["indicator", "year"], name="indicator_target_one_per_year")]

    def __str__(self) -> str:
        return f"{self.indicator_id}/{self.year}: {self.target}"

    def clean(self) -> None:
        from civicgrid.indicators.validation import clean_number

        if not 2000 <= int(self.year or 0) <= 2100:
            raise ValidationError({"year": [_("年度应在 2000 至 2100 之间。")]})
        if self.indicator_id is not None and self.target is not None:
            self.target = clean_number(self.indicator.unit, self.target, field="target", what=str(_("目标值")))


class IndicatorValue(models.Model):
    """One version of the value of an indicator for one period. Exactly one version per
    (indicator, period) is current; a correction marks it superseded and adds the next."""

    indicator = models.ForeignKey(Indicator, verbose_name=_("指标"), on_delete=models.PROTECT, related_name="values")
    period_key = models.CharField(_("统计期"), max_length=10)
    period_start = models.DateField(_("统计期开始"))
    period_end = models.DateField(_("统计期结束"))
    year = models.PositiveSmallIntegerField(_("年度"))
    value = models.DecimalField(_("数值"), max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    is_current = models.BooleanField(_("当前值"), default=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("更正的版本"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    source = models.CharField(_("来源"), max_length=8, choices=ValueSource.choices, default=ValueSource.FORM)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="indicator_values",
    )
    entered_at = models.DateTimeField(_("填报时间"), default=timezone.now)
    area_code = models.CharField(_("统计范围编码"), max_length=20)

    class Meta:
        verbose_name = _("指标数值")
        verbose_name_plural = _("指标数值")
        ordering = ["indicator", "period_start", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period_key"], condition=Q(is_current=True), name="indicator_value_one_current"
            ),
            models.UniqueConstraint(fields=["indicator", "period_key", "version"], name="indicator_value_version"),
        ]
        indexes = [
            models.Index(fields=["indicator", "year", "is_current"], name="indicator_value_year"),
            models.Index(fields=["area_code", "year"], name="indicator_value_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.period_key} v{self.version}: {self.value}"
