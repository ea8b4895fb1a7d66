"""The drill-down list: each period metric counts exactly what case_metrics counts, bad input
is a 400 with a Chinese message, the list is paginated and its query count bounded."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from civicgrid.cases import metrics as m
from civicgrid.dashboards.drilldown import PERIOD_METRICS, DrillFilter, drill_cases
from civicgrid.dashboards.tests.conftest import TODAY, Fixture

pytestmark = pytest.mark.django_db
START = dt.date(TODAY.year, 1, 1)
# metric -> the CaseMetrics field it lists
FIELD = {
    "received": "received",
    "closed": "closed",
    "dispatched": "dispatched",
    "signed_on_time": "signed_on_time",
    "closed_on_time": "closed_on_time",
    "evaluated": "evaluated",
    "resolved": "resolved",
    "satisfied": "satisfied",
    "rehandled": "rehandled",
}


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.parametrize("who", ["operator", "street_admin", "officer"])
def test_every_metric_lists_what_case_metrics_counts(fx: Fixture, who: str) -> None:
    user = getattr(fx.w, who)
    result = m.case_metrics(user, start=START, end=TODAY)
    for metric, field in FIELD.items():
        assert drill_cases(user, DrillFilter(metric, START, TODAY)).count() == getattr(result, field), metric
    received = result.received
    pairs = [("closed", "not_closed"), ("resolved", "not_resolved"), ("satisfied", "not_satisfied")]
    for yes, no in pairs:
        total = received if yes == "closed" else result.evaluated
        assert drill_cases(user, DrillFilter(no, START, TODAY)).count() == total - getattr(result, yes)
    signed_late = drill_cases(user, DrillFilter("signed_late", START, TODAY)).count()
    assert signed_late == result.dispatched - result.signed_on_time
    assert set(FIELD) | {"not_closed", "not_resolved", "not_satisfied", "signed_late"} == set(PERIOD_METRICS)
    dept = m.case_metrics(user, start=START, end=TODAY, department_id=fx.w.police.pk)
    assert drill_cases(user, DrillFilter("received", START, TODAY, department_id=fx.w.police.pk)).count() == (
        dept.received
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("metric=everything&start=2026-01-01&end=2026-02-01", "未知的统计口径"),
        ("metric=received", "请指定统计周期"),
        ("metric=received&start=2026-02-01&end=2026-01-01", "结束日期不能早于开始日期"),
        ("metric=received&start=2020-01-01&end=2026-01-01", "不能超过三年"),
        ("metric=received&start=2026-1-1&end=2026-02-01", "日期格式"),
        ("metric=open&channel=fax", "来源渠道不存在"),
        ("metric=open&area=15a", "辖区编码只能是数字"),
        ("metric=open&category=XX99", "案件类别不存在"),
        ("metric=open&department=999999", "部门不存在"),
    ],
)
def test_bad_input_is_a_400_with_a_message(fx: Fixture, query: str, message: str) -> None:
    response = _client(fx.w.operator).get(f"/dashboards/cases/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_list_is_paginated_with_bounded_queries(fx: Fixture, django_assert_max_num_queries: Any) -> None:
    client = _client(fx.w.operator)
    url = DrillFilter("received", START, TODAY).url()
    client.get(url)
    with django_assert_max_num_queries(10):
        response = client.get(url)
    html = response.content.decode()
    total = int(re.search(r'data-count="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert total > 50 and html.count('class="drill-row"') == 50
    second = client.get(url + "&page=2").content.decode()
    assert second.count('class="drill-row"') == total - 50
    assert 'id="drill-all"' not in html  # received is already the whole period
    assert 'id="drill-all"' in client.get(DrillFilter("closed", START, TODAY).url()).content.decode()
