"""Browser tests for the case pages no other browser test opens (docs/browser-tests.md): the
walk-in form (来访登记) reached from the inbox, the resident's short addresses printed on
receipts and posters (/report/, /track/, /track/<code>/), and the cases' admin pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.cases import apikeys, joint, webhooks
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.enums import Channel, TargetKind
from civicgrid.cases.models import Case, Category, IntakeSubmission, ResponseTemplate, RoutingRule
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.cases.tests.helpers import bring_to
from civicgrid.conftest import browser_login
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


@pytest.fixture
def world(district: SampleDistrict) -> World:
    return build_world(district)


def test_walk_in_registration_from_the_inbox(page: Any, world: World) -> None:
    errors = js_errors(page)
    browser_login(page, world.worker.username)  # a community worker at the service station
    page.goto(f"{page.base_url}/cases/")
    with page.expect_navigation():
        page.click("a[href='/cases/walk-in/']")
    assert page.url.endswith("/cases/walk-in/")
    assert (page.text_content("main h1") or "").strip() == "来访登记"
    assert "来访人" in (page.text_content("#intake-form legend") or "")
    page.fill("#id_reporter_phone", "13900139001")
    page.wait_for_selector("#caller-none")  # htmx: no earlier cases for this number
    page.select_option("#id_category", label="邻里纠纷")
    page.fill("#id_description", "居民来访: 楼上邻居装修噪音扰民, 请社区协调")
    page.wait_for_selector("#pick-map[data-ready='1']")
    page.locator("#pick-map").scroll_into_view_if_needed()
    box = page.locator("#pick-map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.input_value("[name=lon]") and page.input_value("[name=lat]")
    page.click("#submit-create")
    page.wait_for_selector("#created-banner")
    case = Case.objects.get()
    assert case.channel == Channel.WALK_IN
    assert case.area_code.startswith(world.d.communities[0].code)
    assert page.text_content("#tracking-code") == case.tracking_code
    assert "案件已受理" in (page.text_content("#created-banner") or "")
    assert errors == []


def test_resident_short_addresses(page: Any, world: World) -> None:
    """A resident with no account: the poster's /report/, the receipt's /track/<code>/, and the
    lookup at /track/ (an unknown code gets a message, a known one its progress)."""
    case = world.intake(title="公园东门路灯不亮")
    assert case.status == S.DISPATCHED
    errors = js_errors(page)

    page.goto(f"{page.base_url}/report/")
    assert "/login/" not in page.url
    assert (page.text_content("main h1") or "").strip() == "我要反映问题"
    page.wait_for_selector("#pick-map[data-ready='1']")
    assert page.locator("#id_category option").count() > 1

    with page.expect_navigation():
        page.click("#nav-track")
    assert page.url.endswith("/track/")
    assert (page.text_content("main h1") or "").strip() == "办理进度查询"
    page.fill("#id_code", "ZZZZZZZZZZ")
    with page.expect_navigation():
        page.click("#track-form button")
    assert (page.text_content("#not-found") or "").strip() == "查询码不存在"
    page.fill("#id_code", case.tracking_code.lower())
    with page.expect_navigation():
        page.click("#track-form button")
    assert page.text_content("#tracking-code") == case.tracking_code

    page.goto(f"{page.base_url}/track/{case.tracking_code}/")
    assert (page.text_content("main h1") or "").strip() == "办理进度"
    assert page.text_content("#tracking-code") == case.tracking_code
    assert "已派遣" in (page.text_content("#track-status") or "")
    assert page.locator("#public-timeline li").count() >= 1
    assert "13800138000" not in page.content()  # the caller's phone never reaches the page
    assert errors == []


def test_cases_admin_pages(page: Any, world: World) -> None:
    """The system administrator's case catalogue pages: each changelist in Chinese with its
    rows, a filter on the cases list, and a change form with the joint-handling inline."""
    handling = bring_to(world, S.HANDLING)
    joint.case_assist_request(
        actor=world.chief,
        case=handling,
        department_ids=[world.police.pk],
        note="请派出所协助劝离",
        expected_version=handling.version,
    )
    world.intake(title="占道经营")
    lamp = Category.objects.get(code="MD01")
    RoutingRule.objects.create(
        name="路灯故障派往派出所", category=lamp, area_prefix="", target=TargetKind.DEPARTMENT, department=world.police
    )
    ResponseTemplate.objects.create(title="供暖咨询答复", body="供暖期为每年10月15日至次年4月15日")
    webhooks.webhook_source_create(name="hik-platform", label="海康视频平台")
    issued = apikeys.apikey_create(name="12345市民热线平台")
    body = {"title": "井盖缺失", "description": "清泉街口井盖缺失, 有安全隐患", "category": "MD01"}
    lon, lat = world.point()
    response = Client().post(
        "/api/cases/",
        body | {"lon": lon, "lat": lat},
        content_type="application/json",
        headers={"X-Api-Key": issued.plaintext},
    )
    assert response.status_code == 202
    assert IntakeSubmission.objects.count() == 1

    errors = js_errors(page)
    admin = make_user(Role.SYSTEM_ADMIN, world.d.district, username="sysadmin")
    browser_login(page, admin.username)
    admin_changelist(page, "/admin/cases/category/", title="案件类别", contains=("路灯故障",))
    admin_changelist(page, "/admin/cases/routingrule/", title="派遣规则", rows=1, contains=("路灯故障派往派出所",))
    admin_changelist(page, "/admin/cases/responsetemplate/", title="常用答复", contains=("供暖咨询答复",))
    admin_changelist(page, "/admin/cases/webhooksource/", title="告警接入源", rows=1, contains=("hik-platform",))
    admin_changelist(page, "/admin/cases/apikey/", title="接口密钥", rows=1, contains=("12345市民热线平台",))
    assert issued.plaintext not in page.content()
    admin_changelist(page, "/admin/cases/intakesubmission/", title="接口提交", rows=1)
    admin_changelist(page, "/admin/cases/caseassist/", title="协办任务", rows=1, contains=("兴隆巷派出所",))
    cases = admin_changelist(page, "/admin/cases/case/", title="案件", contains=(handling.tracking_code,))
    assert cases.count() == Case.objects.count()
    with page.expect_navigation():
        page.click(f"#changelist-filter a[href*='status__exact={S.HANDLING.value}']")
    assert cases.count() == 1
    admin_open_first(page, title="案件")
    assert "兴隆巷派出所" in (page.text_content("#content form") or "")  # the assist inline
    assert errors == []
