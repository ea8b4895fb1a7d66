"""The district indicators of the demo: the report's first-half figures (docs/domain.md §6).

The report (2018) gives each figure for 上半年 ("the first half of the year") and no target.
The demo, like its half-year of cases, tells the story as "this year": the figures are the
values of ``<year>-H1`` where ``<year>`` is the latest year whose first half has ended on
the build day. Each figure is taken exactly from the report; the annual targets are
plausible values chosen for the demo (the report gives none) and are listed in
docs/indicators.md.

Idempotent: departments and handler accounts are created when missing (by code and
username); indicators by code (an existing one is left as an administrator edited it); a
target only when the year has none; the values only for an indicator that has no value
yet. Values are entered through ``indicator_value_enter`` by the owner department's handler
account, so every one is versioned and audited like a real entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.accounts.models import Department, User
from civicgrid.demo import data
from civicgrid.indicators.enums import Aggregation, PeriodKind, Unit, ValueSource
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.indicators.services import indicator_create, indicator_target_set, indicator_value_enter
from civicgrid.territory.models import Area

SOURCE_NOTE = "玉泉区党建引领基层治理报道: 上半年"
# The printed account that enters the human-resources bureau's indicators in the demo.
DEMO_ENTRY_USERNAME = "demo_hr"


@dataclass(frozen=True)
class DepartmentPlan:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class IndicatorPlan:
    code: str
    name: str
    department: str  # department code suffix after the district code
    unit: str
    aggregation: str
    h1_value: Decimal  # exactly the report's figure
    target: Decimal  # the demo's annual target (the report gives none)
    description: str
    note: str = ""


# 人社局 and 卫健委 are created by the staff plan (demo/staff.py) as well; the others are the
# offices the remaining figures belong to.
DEPARTMENTS = [
    DepartmentPlan("hr", "玉泉区人力资源和社会保障局", DepartmentKind.HUMAN_RESOURCES),
    DepartmentPlan("health", "玉泉区卫生健康委员会", DepartmentKind.HEALTH),
    DepartmentPlan("medicare", "玉泉区医疗保障局", DepartmentKind.OTHER),
    DepartmentPlan("housing", "玉泉区住房和城乡建设局", DepartmentKind.OTHER),
    DepartmentPlan("science", "玉泉区科学技术局", DepartmentKind.OTHER),
]

INDICATORS = [
    IndicatorPlan(
        "employment.urban_new",
        "城镇新增就业",
        "hr",
        Unit.PERSON,
        Aggregation.SUM,
        Decimal(4878),
        Decimal(8000),
        "全年城镇新增就业人数, 各期累计。",
    ),
    IndicatorPlan(
        "employment.rural_transfer",
        "农村劳动力转移就业",
        "hr",
        Unit.PERSON,
        Aggregation.SUM,
        Decimal(9160),
        Decimal(16000),
        "农村劳动力转移就业人数, 各期累计。",
    ),
    IndicatorPlan(
        "training.urban_skills",
        "城镇技能培训",
        "hr",
        Unit.PERSON,
        Aggregation.SUM,
        Decimal(406),
        Decimal(800),
        "完成城镇就业技能培训的人数。",
    ),
    IndicatorPlan(
        "training.entrepreneurship",
        "创业培训",
        "hr",
        Unit.PERSON,
        Aggregation.SUM,
        Decimal(343),
        Decimal(600),
        "完成创业培训的人数。",
    ),
    IndicatorPlan(
        "employment.startup_driven",
        "创业带动就业",
        "hr",
        Unit.PERSON,
        Aggregation.SUM,
        Decimal(398),
        Decimal(700),
        "创业带动就业人数。",
    ),
    IndicatorPlan(
        "insurance.pension_residents",
        "城乡居民养老保险参保",
        "hr",
        Unit.PERSON,
        Aggregation.LATEST,
        Decimal(10303),
        Decimal(10800),
        "城乡居民基本养老保险参保人数(期末数)。",
    ),
    IndicatorPlan(
        "insurance.medical_residents",
        "城乡居民医疗保险参保",
        "medicare",
        Unit.PERSON,
        Aggregation.LATEST,
        Decimal(88720),
        Decimal(90000),
        "城乡居民基本医疗保险参保人数(期末数)。",
    ),
    IndicatorPlan(
        "health.family_doctor_contracts",
        "家庭医生签约人数",
        "health",
        Unit.PERSON,
        Aggregation.LATEST,
        Decimal(63984),
        Decimal(66000),
        "家庭医生签约服务累计签约人数(期末数)。",
    ),
    IndicatorPlan(
        "health.family_doctor_rate",
        "家庭医生签约率",
        "health",
        Unit.PERCENT,
        Aggregation.RATE,
        Decimal(80),
        Decimal(85),
        "家庭医生签约服务签约率。",
        note="报道原文: 签约率近80%",
    ),
    IndicatorPlan(
        "health.community_centres",
        "新建、改扩建社区卫生服务中心",
        "health",
        Unit.INSTITUTION,
        Aggregation.SUM,
        Decimal(2),
        Decimal(2),
        "“十五分钟医疗圈”: 新建、改扩建的社区卫生服务中心(如石东路街道)。",
    ),
    IndicatorPlan(
        "health.community_stations",
        "新建、改扩建社区卫生服务站",
        "health",
        Unit.INSTITUTION,
        Aggregation.SUM,
        Decimal(4),
        Decimal(4),
        "“十五分钟医疗圈”: 新建、改扩建的社区卫生服务站。",
    ),
    IndicatorPlan(
        "community.green_compounds",
        "精品园林绿化小区",
        "housing",
        Unit.ITEM,
        Aggregation.SUM,
        Decimal(21),
        Decimal(30),
        "打造的精品园林绿化小区数。",
    ),
    IndicatorPlan(
        "science.maker_spaces",
        "申报自治区级众创空间",
        "science",
        Unit.ENTERPRISE,
        Aggregation.SUM,
        Decimal(5),
        Decimal(5),
        "组织申报自治区级众创空间的企业数(如苏鲁锭众创空间)。",
    ),
]


def demo_year(today: dt.date | None = None) -> int:
    """The latest year whose first half has ended on ``today``."""
    today = today or timezone.localdate()
    return today.year if today >= dt.date(today.year, 7, 1) else today.year - 1


def _department_code(suffix: str) -> str:
    return f"{data.DISTRICT_CODE}-{suffix}"


def _handler_username(suffix: str) -> str:
    return f"bm{data.DISTRICT_CODE}{suffix}"


def _ensure_departments(district: Area) -> tuple[dict[str, Department], int]:
    created = 0
    out: dict[str, Department] = {}
    for plan in DEPARTMENTS:
        dept, was_created = Department.objects.get_or_create(
            code=_department_code(plan.code), defaults={"name": plan.name, "kind": plan.kind, "area": district}
        )
        created += int(was_created)
        out[plan.code] = dept
    return out, created


def _ensure_handlers(district: Area, departments: dict[str, Department]) -> dict[str, User]:
    """One handler per department (unusable password, as the staff plan does), plus the
    printed ``demo_hr`` account of the human-resources bureau."""
    handlers: dict[str, User] = {}
    for suffix, dept in departments.items():
        user = User.objects.filter(username=_handler_username(suffix)).first()
        if user is None:
            user = User(
                username=_handler_username(suffix),
                display_name=f"{dept.name}统计员",
                role=Role.DEPARTMENT_HANDLER,
                area=district,
                is_demo=True,
                password_changed_at=timezone.now(),
            )
            user.set_unusable_password()
            user.save()
        user.departments.add(dept)
        handlers[suffix] = user
    if not User.objects.filter(username=DEMO_ENTRY_USERNAME).exists():
        demo = User(
            username=DEMO_ENTRY_USERNAME,
            display_name="人社局统计员(演示)",
            role=Role.DEPARTMENT_HANDLER,
            area=district,
            is_demo=True,
            password=make_password(data.DEMO_PASSWORD),
            password_changed_at=timezone.now(),
        )
        demo.save()
        demo.departments.add(departments["hr"])
    return handlers


def build_indicators(
    *,
    seed: int = 0,
    today: dt.date | None = None,
    out: TextIO | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Create the demo's departments, indicators, targets and first-half values (missing
    ones only) and write one summary line to ``out``. ``seed`` is accepted for symmetry
    with the other steps (nothing here is random)."""
    report = progress or (lambda done, total: None)
    year = demo_year(today)
    district = Area.objects.get(code=data.DISTRICT_CODE)
    counts = {"year": year, "departments": 0, "indicators": 0, "targets": 0, "values": 0}
    with transaction.atomic():
        departments, counts["departments"] = _ensure_departments(district)
        handlers = _ensure_handlers(district, departments)
        existing = {i.code: i for i in Indicator.objects.filter(code__in=[p.code for p in INDICATORS])}
        have_targets = set(
            IndicatorTarget.objects.filter(indicator__code__in=list(existing), year=year).values_list(
                "indicator__code", flat=True
            )
        )
        have_values = set(
            IndicatorValue.objects.filter(indicator__code__in=list(existing)).values_list("indicator__code", flat=True)
        )
        for done, plan in enumerate(INDICATORS, start=1):
            indicator = existing.get(plan.code)
            if indicator is None:
                indicator = indicator_create(
                    actor=None,
                    code=plan.code,
                    name=plan.name,
                    department=departments[plan.department],
                    unit=plan.unit,
                    period_kind=PeriodKind.HALF_YEAR,
                    aggregation=plan.aggregation,
                    area=district,
                    description=plan.description,
                    is_public=True,
                    sort_order=done * 10,
                    targets={year: plan.target},
                )
                counts["indicators"] += 1
                counts["targets"] += 1
            elif plan.code not in have_targets:
                indicator_target_set(actor=None, indicator=indicator, year=year, target=plan.target)
                counts["targets"] += 1
            if plan.code not in have_values:
                indicator_value_enter(
                    actor=handlers[plan.department],
                    indicator=indicator,
                    period=f"{year}-H1",
                    value=plan.h1_value,
                    note=plan.note or SOURCE_NOTE,
                    source=ValueSource.DEMO,
                    today=today,
                )
                counts["values"] += 1
            report(done, len(INDICATORS))
    if out is not None:
        out.write(
            f"区级指标 {year}年上半年: {len(INDICATORS)} 项 (新增 {counts['indicators']}), "
            f"数值新增 {counts['values']} 条, 填报账号 {DEMO_ENTRY_USERNAME}\n"
        )
    return counts
