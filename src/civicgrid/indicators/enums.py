from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    """The unit of an indicator's values. Counts are whole numbers; a percentage is 0-100."""

    PERSON = "人", _("人")
    PERSON_TIME = "人次", _("人次")
    HOUSEHOLD = "户", _("户")
    ITEM = "个", _("个")
    INSTITUTION = "所", _("所")
    ENTERPRISE = "家", _("家")
    CASE = "件", _("件")
    PERCENT = "%", _("%")
    TEN_THOUSAND_YUAN = "万元", _("万元")


COUNT_UNITS = frozenset(
    {Unit.PERSON, Unit.PERSON_TIME, Unit.HOUSEHOLD, Unit.ITEM, Unit.INSTITUTION, Unit.ENTERPRISE, Unit.CASE}
)


class PeriodKind(models.TextChoices):
    MONTH = "month", _("月度")
    QUARTER = "quarter", _("季度")
    HALF_YEAR = "half", _("半年")
    YEAR = "year", _("年度")


class Aggregation(models.TextChoices):
    """How a year's values become the year's figure compared with the target."""

    SUM = "sum", _("全年累计")  # a flow: new jobs, trainings; the periods add up
    LATEST = "latest", _("取最新值")  # a stock: enrolled residents, contracts signed
    RATE = "rate", _("比率(取最新值)")  # a percentage, 0-100; the latest period counts


class ValueSource(models.TextChoices):
    FORM = "form", _("页面填报")
    API = "api", _("接口")
    IMPORT = "import", _("Excel 导入")
    DEMO = "demo", _("演示数据")
