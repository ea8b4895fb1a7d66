"""Browser test for the indicators admin pages (docs/browser-tests.md): the system
administrator's indicator register (with the yearly targets inline) and the values list."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from civicgrid.conftest import browser_login
from civicgrid.indicators import services
from civicgrid.indicators.tests.conftest import build_world
from civicgrid.testing.browser import admin_changelist, admin_open_first, js_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEAR = timezone.localdate().year


def test_indicator_admin_pages(page: Any, district: Any) -> None:
    world = build_world(district)
    services.indicator_target_set(actor=world.sysadmin, indicator=world.jobs, year=YEAR, target=8000)
    services.indicator_value_enter(actor=world.hr_handler, indicator=world.jobs, period=f"{YEAR}-H1", value=4878)
    errors = js_errors(page)
    browser_login(page, world.sysadmin.username)
    rows = admin_changelist(page, "/admin/indicators/indicator/", title="指标", contains=("城镇新增就业",))
    page.fill("#searchbar", "employment.urban_new")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    assert rows.count() == 1
    admin_open_first(page, title="指标")
    assert page.input_value("#id_name") == "城镇新增就业"
    assert "8000" in (page.eval_on_selector_all("#content form input", "els => els.map(e => e.value).join(' ')") or "")
    admin_changelist(page, "/admin/indicators/indicatorvalue/", title="指标数值", rows=1, contains=("4878",))
    assert errors == []
