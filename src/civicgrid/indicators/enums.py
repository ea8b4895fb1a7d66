from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Unit(models.TextChoices):
    """The unit of an indicator's values. Counts are whole numbers; a percentage is 0-100.

    The labels carry the context "计量单位": the same characters elsewhere are nouns (户 is a
    household record), here they follow a number ("120 households")."""

    PERSON = "人", pgettext_lazy("计量单位", "人")
    PERSON_TIME = "人次", pgettext_lazy("计量单位", "人次")
    HOUSEHOLD = "户", pgettext_lazy("计量单位", "户")
    ITEM = "个", pgettext_lazy("计量单位", "个")
    INSTITUTION = "所", pgettext_lazy("计量单位", "所")
    ENTERPRISE = "家", pgettext_lazy("计量单位", "家")
    CASE = "件", pgettext_lazy("计量单位", "件")
    PERCENT = "%", pgettext_lazy("计量单位", "%")
    TEN_THOUSAND_YUAN = "万元", pgettext_lazy("计量单位", "万元")


COUNT_UNITS = frozenset(
    {Unit.PERSON, Unit.PERSON_TIME, Unit.HOUSEHOLD, Unit.ITEM, Unit.INSTITUTION, Unit.ENTERPRISE, Unit.CASE}
)


class PeriodKind(models.TextChoices):
    """How often an indicator is reported (context "统计周期": 年度 is also the "Year" field)."""

    MONTH = "month", pgettext_lazy("统计周期", "月度")
    QUARTER = "quarter", pgettext_lazy("统计周期", "季度")
    HALF_YEAR = "half", pgettext_lazy("统计周期", "半年")
    YEAR = "year", pgettext_lazy("统计周期", "年度")


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
