"""The public transparency page /open/ and its JSON: no personal data anywhere (a seeded
name, phone, address and exact coordinates are searched for in the HTML and every JSON
answer), non-public categories and hidden cases absent, locations generalised to the 200 m
lattice, closure rates equal to a raw recount over the public categories, commitments,
caching, bad input and the query count."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from civicgrid.accounts.enums import Role
from civicgrid.cases.enums import CaseStatus
from civicgrid.cases.models import Case, Category
from civicgrid.cases.public import scrub_public_text
from civicgrid.dashboards import public
from civicgrid.dashboards.tests.conftest import EXCLUDED, TODAY, Fixture, local_day
from civicgrid.indicators import services as indicator_services
from civicgrid.indicators.enums import Aggregation, PeriodKind, Unit
from civicgrid.indicators.models import Indicator
from civicgrid.territory.lattice import Lattice, reference_latitude
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db

NAME = "欧阳振华"
PHONE = "13912345678"
ADDRESS = "清泉街小区8号楼3单元501室"
LON, LAT = 111.60537, 40.76519


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seeded(fx: Fixture) -> dict[str, Case]:
    """Cases with personal data in every field, public and not, hidden and not."""
    w = fx.w
    person: dict[str, Any] = {
        "reporter_name": NAME,
        "reporter_phone": PHONE,
        "address": ADDRESS,
        "lon": LON,
        "lat": LAT,
    }
    shown = w.intake(
        category="MS01",
        title=f"{NAME}反映暖气不热 电话{PHONE}",
        description=f"{NAME}家住{ADDRESS}, 联系电话{PHONE}",
        register=True,
        **person,
    )
    dispute = w.intake(category="MD01", title="楼上漏水引发邻里纠纷甲乙", register=True, **person)
    hazard = w.intake(category="ZA02", title="楼道堆放杂物消防隐患丙丁", register=True, **person)
    hidden = w.intake(category="MS01", title="已被隐藏的反映戊己", register=True, **person)
    Case.objects.filter(pk=hidden.pk).update(is_hidden=True)
    unscreened = w.intake(category="MS01", title="尚未立案的反映庚辛", register=False, **person)
    assert unscreened.status == CaseStatus.RECEIVED
    assert shown.status not in (CaseStatus.RECEIVED, CaseStatus.NOT_ACCEPTED)
    return {"shown": shown, "dispute": dispute, "hazard": hazard, "hidden": hidden, "unscreened": unscreened}


def all_public_text(client: Client, **params: str) -> str:
    """The page and every public JSON answer, as one text."""
    parts = [client.get(reverse("open:index"), params).content.decode()]
    for name in ("api:open_summary", "api:open_map", "api:open_cases", "api:open_geojson"):
        r = client.get(reverse(name), params if name != "api:open_geojson" else {})
        assert r.status_code == 200, (name, r.content[:300])
        parts.append(r.content.decode("unicode_escape") if b"\\u" in r.content else r.content.decode())
    return "\n".join(parts)


def test_no_personal_data_anywhere(seeded: dict[str, Case]) -> None:
    client = Client()
    text = all_public_text(client) + all_public_text(client, period="30d", status="open")
    for secret in (
        NAME,
        NAME[1:],
        PHONE,
        PHONE[:7],
        ADDRESS,
        "8号楼",
        "单元501",
        str(LON),
        str(LAT),
        "111.6053",
        "40.7651",
    ):
        assert secret not in text, secret
    assert seeded["shown"].tracking_code not in text
    assert seeded["shown"].description not in text
    # the case itself is listed, with its title scrubbed
    assert "反映暖气不热" in text
    assert scrub_public_text(seeded["shown"].title, NAME) in text


def test_non_public_categories_hidden_and_unscreened_cases_absent(seeded: dict[str, Case]) -> None:
    text = all_public_text(Client())
    for key in ("dispute", "hazard", "hidden", "unscreened"):
        assert seeded[key].title not in text, key
    rows = public.case_page(public.parse_filter({}), 1)["rows"]
    categories = {r["category"] for r in rows}
    assert "矛盾纠纷" not in categories and "治安隐患" not in categories
    assert "民生服务" in categories
    # the seeded defaults: disputes and public-safety classes are not public
    for code in ("MD", "MD01", "ZA", "ZA02"):
        assert Category.objects.get(code=code).is_public is False
    assert {c for c, _n in public.category_choices()}.isdisjoint({"MD", "MD01", "ZA", "ZA01"})


def test_a_public_sub_category_of_a_non_public_class_stays_out(seeded: dict[str, Case]) -> None:
    Category.objects.filter(code="MD01").update(is_public=True)  # the class MD stays non-public
    text = all_public_text(Client())
    assert seeded["dispute"].title not in text
    r = Client().get(reverse("api:open_cases"), {"category": "MD01"})
    assert r.status_code == 400 and r.json()["error"]["fields"]["category"]


def test_administrator_choice_makes_a_category_public(seeded: dict[str, Case]) -> None:
    Category.objects.filter(code__startswith="MD").update(is_public=True)
    text = all_public_text(Client())
    assert seeded["dispute"].title in text


def test_locations_are_generalised_to_the_lattice(fx: Fixture, seeded: dict[str, Case]) -> None:
    data = public.public_map(public.parse_filter({}))
    assert data["cell_m"] == 200 and data["cells"]
    lattice = Lattice(200, reference_latitude(fx.d.district))
    expected_cell = lattice.snap(LON, LAT)
    for cell in data["cells"]:
        assert math.isclose((cell["lon"] / lattice.dlon) % 1, 0.5, abs_tol=1e-3)
        assert math.isclose((cell["lat"] / lattice.dlat) % 1, 0.5, abs_tol=1e-3)
        assert (cell["lon"], cell["lat"]) != (LON, LAT)
    seeded_cell = next(c for c in data["cells"] if (c["lon"], c["lat"]) == expected_cell)
    assert seeded_cell["count"] == 1  # only the public, shown case; the others are not counted
    # the counts add up to the listed cases with coordinates
    f = public.parse_filter({})
    assert data["total"] == public.public_cases(f).filter(lon__isnull=False).count()
    assert set(data) == {"cell_m", "cells", "max", "total"}
    assert all(set(c) == {"lon", "lat", "count", "closed"} for c in data["cells"])


def _raw_closure(fx: Fixture, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
    """Plain Python over the rows: received and closed per community, public categories only."""
    cats = {c.pk: c for c in Category.objects.select_related("parent")}

    def is_public(case: Case) -> bool:
        cat = cats[case.category_id]
        return cat.is_public and (cat.parent is None or cat.parent.is_public)

    out: dict[str, tuple[int, int]] = {}
    for comm in fx.d.communities:
        rows = [
            c
            for c in Case.objects.all()
            if c.status not in EXCLUDED
            and start <= local_day(c.received_at) <= end
            and c.area_code.startswith(comm.code)
            and is_public(c)
        ]
        out[comm.code] = (len(rows), sum(1 for c in rows if c.closed_at is not None))
    return out


@pytest.mark.parametrize("period", ["year", "30d", "month", "last_year"])
def test_closure_rates_equal_a_raw_recount(fx: Fixture, period: str) -> None:
    f = public.parse_filter({"period": period})
    got = public.closure_by_community(f)
    raw = _raw_closure(fx, f.period.start, f.period.end)
    rows = {r["code"]: r for r in got["rows"] if r["code"]}
    assert set(rows) == set(raw)
    for code, (received, closed) in raw.items():
        assert (rows[code]["received"], rows[code]["closed"]) == (received, closed), code
        assert rows[code]["closure_rate"] == (round(closed / received, 4) if received else None)
    if period == "year":
        assert got["received"] > 0 and got["received"] < sum(
            1 for c in fx.cases if c.status not in EXCLUDED and c.received_at.year == TODAY.year
        )  # the disputes and hazards of the fixture are not counted


def test_closure_with_a_non_public_child_and_a_category_filter(fx: Fixture) -> None:
    Category.objects.filter(code="MS06").update(is_public=False)
    f = public.parse_filter({"period": "year"})
    raw = _raw_closure(fx, f.period.start, f.period.end)
    rows = {r["code"]: (r["received"], r["closed"]) for r in public.closure_by_community(f)["rows"] if r["code"]}
    assert rows == raw
    ms = public.closure_by_community(public.parse_filter({"period": "year", "category": "MS"}))
    ms_rows = {r["code"]: (r["received"], r["closed"]) for r in ms["rows"] if r["code"]}
    assert ms_rows == raw  # MS is the only public class among the fixture's categories
    assert sum(v[0] for v in raw.values()) > 0


def test_closure_counts_closing_a_case(fx: Fixture, seeded: dict[str, Case]) -> None:
    f = public.parse_filter({"period": "year"})
    before = public.closure_by_community(f)
    cache.clear()
    case = Case.objects.get(pk=seeded["shown"].pk)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=case.received_at + dt.timedelta(hours=1))
    after = public.closure_by_community(f)
    assert after["closed"] == before["closed"] + 1 and after["received"] == before["received"]


def test_the_data_is_cached_for_a_minute(fx: Fixture, seeded: dict[str, Case], settings: Any) -> None:
    client = Client()
    client.get(reverse("open:index"))
    Case.objects.filter(pk=seeded["hidden"].pk).update(is_hidden=False)
    assert seeded["hidden"].title not in client.get(reverse("open:index")).content.decode()  # cached
    cache.clear()
    assert seeded["hidden"].title in client.get(reverse("open:index")).content.decode()
    settings.OPEN_DATA_CACHE_SECONDS = 0
    Case.objects.filter(pk=seeded["hidden"].pk).update(is_hidden=True)
    assert seeded["hidden"].title not in client.get(reverse("open:index")).content.decode()


def test_commitments_are_the_public_indicators(fx: Fixture) -> None:
    from civicgrid.accounts.enums import DepartmentKind
    from civicgrid.accounts.models import Department

    hr = Department.objects.create(code="hr", name="人社局", kind=DepartmentKind.HUMAN_RESOURCES, area=fx.d.district)
    common: dict[str, Any] = {
        "actor": fx.sysadmin,
        "department": hr,
        "unit": Unit.PERSON,
        "aggregation": Aggregation.SUM,
        "period_kind": PeriodKind.MONTH,
    }
    shown = indicator_services.indicator_create(
        code="jobs", name="城镇新增就业", targets={TODAY.year: 1000}, is_public=True, **common
    )
    indicator_services.indicator_create(code="internal", name="内部考核指标", targets={TODAY.year: 10}, **common)
    clerk = make_user(Role.DEPARTMENT_HANDLER, fx.d.district, username="hr-clerk")
    clerk.departments.add(hr)
    indicator_services.indicator_value_enter(actor=clerk, indicator=shown, period=f"{TODAY.year}-02", value=250)
    html = Client().get(reverse("open:index")).content.decode()
    assert "城镇新增就业" in html and "内部考核指标" not in html
    rows = public.commitments(TODAY.year)
    assert [r["code"] for r in rows] == ["jobs"]
    assert rows[0]["value"] == 250 and rows[0]["target"] == 1000 and rows[0]["percent"] == 25
    assert Indicator.objects.count() == 2


def test_list_is_paginated_and_filtered(fx: Fixture, seeded: dict[str, Case], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "PAGE_SIZE", 5)
    f = public.parse_filter({"period": "year"})
    total = public.public_cases(f).count()
    assert total > 5
    first = public.case_page(f, 1)
    assert first["count"] == total and len(first["rows"]) == 5 and first["has_next"]
    last = public.case_page(f, first["pages"])
    assert len(last["rows"]) == total - 5 * (first["pages"] - 1)
    closed = public.case_page(public.parse_filter({"period": "year", "status": "closed"}), 1)
    assert closed["count"] == public.public_cases(f).filter(status__in=public.CLOSED_STATUSES).count()
    community = fx.d.communities[0]
    only = public.parse_filter({"period": "year", "community": community.code})
    assert all(c.area_code.startswith(community.code) for c in public.public_cases(only))
    r = Client().get(reverse("open:index"), {"period": "year", "page": "2"})
    assert r.status_code == 200 and 'id="open-pager"' in r.content.decode()


def test_scrub_title() -> None:
    assert scrub_public_text("张三反映13800138000", "张三") == "＊＊反映＊"
    assert scrub_public_text("欧阳振华家漏水", "欧阳振华") == "＊＊＊＊家漏水"
    assert scrub_public_text("振华家漏水", "欧阳振华") == "＊＊家漏水"
    assert scrub_public_text("3号楼2单元 路灯不亮") == "＊号楼＊单元 路灯不亮"
    assert scrub_public_text("王先生反映 电话一三八一二三四五六七八") == "＊先生反映 电话＊"
    assert scrub_public_text("联系 a.b@example.com 或 https://x.cn/1") == "联系 ＊ 或 ＊"
    assert scrub_public_text("ｔｅｌ １３８００") == "ｔｅｌ ＊"


def test_bad_input_is_a_400(fx: Fixture) -> None:
    client = Client()
    r = client.get(reverse("open:index"), {"period": "forever"})
    assert r.status_code == 400 and "统计周期" in r.content.decode()
    for params, field in (
        ({"period": "forever"}, "period"),
        ({"category": "MD"}, "category"),
        ({"community": fx.d.streets[0].code}, "community"),
        ({"status": "lost"}, "status"),
    ):
        r = client.get(reverse("api:open_cases"), params)
        assert r.status_code == 400, params
        assert field in r.json()["error"]["fields"]


def test_anonymous_page_and_query_count(
    fx: Fixture, seeded: dict[str, Case], django_assert_max_num_queries: Any
) -> None:
    client = Client()
    with django_assert_max_num_queries(30):
        r = client.get(reverse("open:index"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="open-map"' in html and 'id="closure-table"' in html and 'id="case-table"' in html
    assert "vendor/echarts.min.js" in html
    # the second view within the minute reads the cache
    with django_assert_max_num_queries(3):
        assert client.get(reverse("open:index")).status_code == 200


def test_closure_from_the_metrics_aggregates_equals_the_raw_recount(fx: Fixture) -> None:
    """With the aggregate rows refreshed, the public figures (read by the public reader
    through case_metrics) still equal the raw recount."""
    from civicgrid.cases.aggregates import case_aggregates_refresh

    case_aggregates_refresh(full=True)
    Category.objects.filter(code="MS06").update(is_public=False)
    for period in ("year", "last_year"):
        f = public.parse_filter({"period": period})
        raw = _raw_closure(fx, f.period.start, f.period.end)
        rows = {r["code"]: (r["received"], r["closed"]) for r in public.closure_by_community(f)["rows"] if r["code"]}
        assert rows == raw, period
