"""English wording the translator found wrong: words that mean different things in different
places (a context each), sentences built from pieces, the Chinese list separator 、, and units.

Each test renders the real page (or calls the real function) in English and checks the exact
text, and where it matters that Chinese is unchanged."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from civicgrid.accounts.enums import Role
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.cases.tests.helpers import act
from civicgrid.common.text import join_list, list_separator
from civicgrid.testing.factories import SampleDistrict, make_user

EN = {"accept-language": "en"}


@pytest.fixture
def world(district: SampleDistrict, settings: Any, tmp_path: Path) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"
    return build_world(district)


def _page(user: Any, url: str, language: str = "en") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def _one(pattern: str, html: str) -> str:
    found = re.findall(pattern, html, flags=re.S)
    assert len(found) == 1, (pattern, found)
    return str(found[0]).strip()


# --- the list separator: Python, templates, JavaScript --------------------------------------------


def test_join_list_uses_the_languages_separator() -> None:
    with translation.override("zh-hans"):
        assert list_separator() == "、"
        assert join_list(["公安", "城管"]) == "公安、城管"
    with translation.override("en"):
        assert list_separator() == ", "
        assert join_list(["Police", "Urban management", 3]) == "Police, Urban management, 3"
        assert join_list([]) == ""


def test_join_list_filter_escapes_each_item() -> None:
    template = Template("{% load civicgrid_text %}{{ names|join_list }}|{% list_separator %}")
    context = Context({"names": ["<b>公安</b>", "城管"]})
    with translation.override("zh-hans"):
        assert template.render(context) == "&lt;b&gt;公安&lt;/b&gt;、城管|、"
    with translation.override("en"):
        assert template.render(context) == "&lt;b&gt;公安&lt;/b&gt;, 城管|, "
    assert Template("{% load civicgrid_text %}{% autoescape off %}{{ names|join_list }}{% endautoescape %}").render(
        context
    ) == ("<b>公安</b>、城管")


def test_error_messages_join_with_the_languages_separator() -> None:
    from civicgrid.cases.workflow import illegal_transition_message

    with translation.override("en"):
        message = illegal_transition_message("registered", "acknowledge")
    assert message.endswith("Actions possible now: Dispatch, Not accepted, Merge"), message
    with translation.override("zh-hans"):
        chinese = illegal_transition_message("registered", "acknowledge")
    assert chinese.endswith("当前可执行的操作: 派遣、不予受理、合并"), chinese


@pytest.mark.django_db
def test_offline_cameras_notice_in_english(world: World) -> None:
    from civicgrid.cameras.services import _notify_offline
    from civicgrid.notifications.models import Notification

    community = world.worker.area
    assert community is not None
    names = [f"C{i:02d} 探头{i}" for i in range(12)]
    with translation.override("en"):
        assert _notify_offline({community.code: names}, timezone.now()) >= 1
    body = Notification.objects.filter(recipient=world.worker).latest("pk").body
    shown = ", ".join(names[:10])
    assert body.endswith(f"{shown} and others (12 in total)"), body


# --- words with two meanings ------------------------------------------------------------------


@pytest.mark.django_db
def test_phone_report_button_is_submit_report_not_escalate(world: World) -> None:
    html = _page(world.chief, "/m/report/")
    assert _one(r'<button type="submit"[^>]*id="report-submit">(.*?)</button>', html) == "Submit report"
    assert "Escalate" not in html
    chinese = _page(world.chief, "/m/report/", "zh-hans")
    assert _one(r'id="report-submit">(.*?)</button>', chinese) == "上报"


@pytest.mark.django_db
def test_phone_action_buttons_are_one_sentence(world: World) -> None:
    case = world.intake()
    case = act(world, case, A.ACKNOWLEDGE, actor=world.chief)
    html = _page(world.chief, f"/m/tasks/{case.pk}/")
    form = _one(r'<form class="m-act[^"]*" id="act-request_extension".*?</form>', html)
    assert _one(r"<button[^>]*>(.*?)</button>", form) == "Submit: Request extension"
    chinese = _page(world.chief, f"/m/tasks/{case.pk}/", "zh-hans")
    form = _one(r'<form class="m-act[^"]*" id="act-request_extension".*?</form>', chinese)
    assert _one(r"<button[^>]*>(.*?)</button>", form) == "提交申请延期"


@pytest.mark.django_db
def test_phone_patrol_distance_has_one_space(world: World) -> None:
    from civicgrid.patrols.enums import PatrolStatus
    from civicgrid.patrols.models import Patrol
    from civicgrid.territory.models import Duty

    road_chief = make_user(Role.ROAD_CHIEF, world.d.streets[0], username="roadchief")
    now = timezone.now()
    Patrol.objects.create(
        worker=road_chief,
        duty=next(iter(Duty)).value,
        area_code=world.d.streets[0].code,
        day=timezone.localdate(now),
        started_at=now - dt.timedelta(hours=1),
        ended_at=now,
        status=PatrolStatus.ENDED,
        distance_m=1234.4,
    )
    html = _page(road_chief, "/m/patrol/")
    item = _one(r'<ul class="m-list-plain" id="patrol-list">\s*<li>(.*?)</li>', html)
    assert "· 1234 m ·" in item and "1234  m" not in item, item


@pytest.mark.django_db
def test_public_page_column_is_received(district: SampleDistrict) -> None:
    html = Client().get(reverse("open:index"), headers=EN).content.decode()
    header = _one(r'<table class="table" id="closure-table">\s*<thead>(.*?)</thead>', html)
    assert re.findall(r"<th>(.*?)</th>", header)[2] == "Received"


@pytest.mark.django_db
def test_drilldown_title_is_received(world: World) -> None:
    from civicgrid.dashboards.drilldown import DrillFilter

    today = timezone.localdate()
    url = DrillFilter("received", today - dt.timedelta(days=30), today).url()
    html = _page(world.operator, url)
    assert _one(r"<h1>(.*?)</h1>", html) == "Case list: Received"
    with translation.override("en"):
        assert DrillFilter("closed").label == "Closed"


@pytest.mark.django_db
def test_gridmap_apply_button_count_template_and_separator(world: World) -> None:
    html = _page(world.operator, reverse("dashboards:gridmap", args=[world.d.district.code]))
    assert _one(r'<button type="submit" id="gm-apply">(.*?)</button>', html) == "Update"
    assert 'data-label-cases-shown="Open cases: {shown} of {total} shown"' in html
    assert 'data-list-sep=", "' in html
    chinese = _page(world.operator, reverse("dashboards:gridmap", args=[world.d.district.code]), "zh-hans")
    assert 'data-label-cases-shown="在办案件 显示 {shown} / 共 {total}"' in chinese
    assert 'data-list-sep="、"' in chinese


@pytest.mark.django_db
def test_rankings_period_kinds_and_weights(world: World) -> None:
    html = _page(world.operator, reverse("dashboards:rankings"))
    for word in ("Monthly", "Quarterly", "Yearly"):
        assert f">{word}<" in html, word
    weights = re.sub(r"\s+", " ", _one(r'<p class="muted" id="ranking-formula">.*?</p>', html))
    assert "、" not in weights
    assert re.search(r"Weights: [^,]+ \d+, [^,]+ \d+, ", weights), weights


@pytest.mark.django_db
def test_home_tile_is_patrol_compliance(world: World) -> None:
    html = _page(world.operator, "/")
    assert "Patrol compliance" in _one(r"<main.*?</main>", html)
    assert "Patrol attendance" not in html
    assert "巡查考核" in _page(world.operator, "/", "zh-hans")


@pytest.mark.django_db
def test_phone_pending_list_separator(world: World) -> None:
    assert 'data-list-sep=", "' in _page(world.chief, reverse("mobile:tasks"))


# --- indicators: units, period kinds, messages -------------------------------------------------


def test_indicator_units_and_period_kinds_in_english() -> None:
    from django.core.exceptions import ValidationError

    from civicgrid.indicators.enums import PeriodKind, Unit
    from civicgrid.indicators.validation import clean_number

    with translation.override("en"):
        assert str(Unit.HOUSEHOLD.label) == "households"
        assert str(Unit.PERSON.label) == "people"
        assert [str(k.label) for k in PeriodKind] == ["Monthly", "Quarterly", "Half-yearly", "Yearly"]
        assert translation.gettext("年度") == "Year"  # the field label keeps its own meaning
        assert translation.gettext("户") == "Household"
        with pytest.raises(ValidationError) as caught:
            clean_number(Unit.HOUSEHOLD, "1.5")
    assert caught.value.message_dict["value"] == ["Value in “households” must be a whole number: 1.5."]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        clean_number(Unit.HOUSEHOLD, "1.5")
    assert caught.value.message_dict["value"] == ["以“户”计的数值必须是整数: 1.5。"]


# --- the Excel report's sheet names ------------------------------------------------------------


@pytest.mark.django_db
def test_excel_sheet_names_follow_the_language(world: World, tmp_path: Path, settings: Any) -> None:
    from openpyxl import load_workbook

    from civicgrid.reports.content import report_data
    from civicgrid.reports.excel import write_excel
    from civicgrid.reports.periods import parse_period

    settings.SITE_URL = "https://grid.example.cn"
    today = timezone.localdate()
    with translation.override("en"):
        data = report_data(world.operator, world.d.district.code, parse_period(today.strftime("%Y-%m"), today=today))
        path = write_excel(data, tmp_path / "report.xlsx")
    names = load_workbook(path).sheetnames
    assert names[0] == "Summary"
    assert names[-1] == "Overdue at period end"
    assert not any(re.search(r"[\u4e00-\u9fff]", n) for n in names), names
    with translation.override("zh-hans"):
        data = report_data(world.operator, world.d.district.code, parse_period(today.strftime("%Y-%m"), today=today))
        path = write_excel(data, tmp_path / "report-zh.xlsx")
    names = load_workbook(path).sheetnames
    assert (names[0], names[-1]) == ("概要", "期末超期案件")


# --- the browser: the grid map's JavaScript fills the translated template ------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_gridmap_counts_read_as_one_english_sentence(page: Any, district: SampleDistrict) -> None:
    from civicgrid.cases.models import Category
    from civicgrid.cases.seed import seed_categories
    from civicgrid.conftest import browser_login

    seed_categories(Category)  # a transactional test starts from an emptied database
    w = build_world(district)
    for _ in range(3):
        w.intake()
    browser_login(page, w.operator.username)
    page.select_option("form.lang select[name=language]", "en")
    page.wait_for_selector("html[lang=en]")
    page.goto(f"{page.base_url}/dashboards/map/{district.district.code}/")
    page.wait_for_function("() => document.getElementById('gm-count-cases').textContent.trim() !== ''")
    assert page.locator("#gm-count-cases").inner_text().strip() == "Open cases: 3 of 3 shown"
    assert page.locator("#gm-apply").inner_text().strip() == "Update"
