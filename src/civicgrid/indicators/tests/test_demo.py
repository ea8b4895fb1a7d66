from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from civicgrid.accounts.models import Department, User
from civicgrid.demo.indicators import DEMO_ENTRY_USERNAME, INDICATORS, build_indicators, demo_year
from civicgrid.indicators.models import Indicator, IndicatorTarget, IndicatorValue
from civicgrid.indicators.selectors import indicator_progress, indicators_for_dashboard
from civicgrid.testing.factories import SampleDistrict

pytestmark = pytest.mark.django_db

# docs/domain.md §6, from the report: the first half of the year.
REPORT = {
    "employment.urban_new": 4878,
    "employment.rural_transfer": 9160,
    "training.urban_skills": 406,
    "training.entrepreneurship": 343,
    "employment.startup_driven": 398,
    "insurance.pension_residents": 10303,
    "insurance.medical_residents": 88720,
    "health.family_doctor_contracts": 63984,
    "health.family_doctor_rate": 80,
    "health.community_centres": 2,
    "health.community_stations": 4,
    "community.green_compounds": 21,
    "science.maker_spaces": 5,
}


def test_demo_year_is_the_latest_ended_first_half() -> None:
    assert demo_year(dt.date(2026, 11, 27)) == 2026
    assert demo_year(dt.date(2026, 7, 1)) == 2026
    assert demo_year(dt.date(2026, 6, 30)) == 2025


def test_demo_seeds_the_report_figures_idempotently(district: SampleDistrict, settings: object) -> None:
    Department.objects.create(code="150104-hr", name="玉泉区人力资源和社会保障局", area=district.district)
    out = io.StringIO()
    first = build_indicators(today=dt.date(2026, 11, 27), out=out)
    assert first == {"year": 2026, "departments": 4, "indicators": 13, "targets": 13, "values": 13}
    assert "区级指标 2026年上半年: 13 项 (新增 13)" in out.getvalue()
    values = {
        v.indicator.code: v.value
        for v in IndicatorValue.objects.select_related("indicator").filter(period_key="2026-H1", is_current=True)
    }
    assert values == {code: Decimal(n) for code, n in REPORT.items()}
    assert {p.code for p in INDICATORS} == set(REPORT)
    medical = Indicator.objects.get(code="insurance.medical_residents")
    assert medical.department.name == "玉泉区医疗保障局" and medical.is_public
    rate = IndicatorValue.objects.get(indicator__code="health.family_doctor_rate")
    assert rate.note == "报道原文: 签约率近80%" and rate.entered_by is not None
    assert rate.entered_by.departments.filter(code="150104-health").exists()
    jobs = indicator_progress(Indicator.objects.get(code="employment.urban_new"), 2026)
    assert (jobs.target, jobs.value, jobs.percent) == (Decimal(8000), Decimal(4878), Decimal("61.0"))
    demo = User.objects.get(username=DEMO_ENTRY_USERNAME)
    assert (
        demo.is_demo
        and demo.has_usable_password()
        and list(demo.departments.values_list("code", flat=True)) == ["150104-hr"]
    )
    from civicgrid.accounts.enums import Role
    from civicgrid.testing.factories import make_user

    leader = make_user(Role.LEADER, district.district, username="ld")
    assert len(indicators_for_dashboard(leader, 2026)) == 13

    # Again (the next year too): nothing new, nothing overwritten.
    again = build_indicators(today=dt.date(2027, 8, 1))
    assert (again["indicators"], again["values"], again["departments"]) == (0, 0, 0)
    assert again["targets"] == 13  # a target for the new year, values untouched
    assert IndicatorValue.objects.count() == 13 and IndicatorTarget.objects.count() == 26
    assert build_indicators(today=dt.date(2027, 8, 1))["targets"] == 0
