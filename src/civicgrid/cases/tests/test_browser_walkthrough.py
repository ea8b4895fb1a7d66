"""The browser walk-through of issue 3: an operator takes a call in the console, the case is
routed to the grid chief, who signs for it, handles it and reports back on a phone; the
operator verifies and closes it; the resident checks it with the tracking code and rates it;
the metrics page then counts it (``metrics_hook``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.conftest import browser_login
from civicgrid.territory.models import Compound
from civicgrid.testing.factories import SampleDistrict


def read_metrics(page: Any) -> dict[str, float | None]:
    """The metrics page's figures (default period: the last 183 days), by metric key."""
    page.goto(f"{page.base_url}/cases/metrics/")
    raw: dict[str, str] = page.eval_on_selector_all(
        "#metrics-table tr[data-key]", "rows => Object.fromEntries(rows.map(r => [r.dataset.key, r.dataset.value]))"
    )
    return {key: (float(value) if value else None) for key, value in raw.items()}


def metrics_hook(page: Any, case: Case, before: dict[str, float | None]) -> None:
    """After the rating the district's figures moved by this one case: received, closed and
    evaluated +1, and it counts as satisfied and resolved."""
    after = read_metrics(page)
    for key in ("received", "closed", "evaluated"):
        assert after[key] == (before[key] or 0) + 1, key

    def share(figures: dict[str, float | None], rate: str) -> int:
        return round((figures[rate] or 0) * (figures["evaluated"] or 0))

    assert case.satisfaction is not None and case.satisfaction >= 4 and case.resolved
    assert share(after, "satisfaction_rate") == share(before, "satisfaction_rate") + 1
    assert share(after, "resolution_rate") == share(before, "resolution_rate") + 1
    shown = page.text_content("#metrics-table tr[data-key=satisfaction_rate] td") or ""
    assert shown.endswith("%") and shown != "-"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_call_to_rating(page: Any, phone_page: Any, browser: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    grid = district.grids[0]
    lon, lat = district.grid_center(grid)
    Compound.objects.create(
        grid=grid,
        area_code=grid.code,
        code="QQJ-01",
        name="清泉街小区",
        geometry={"type": "Point", "coordinates": [lon, lat]},
    )

    # 1. The operator takes the call.
    browser_login(page, world.operator.username)
    metrics_before = read_metrics(page)
    page.goto(f"{page.base_url}/cases/console/")
    page.fill("#id_reporter_phone", "13900139000")
    page.wait_for_selector("#caller-none")  # htmx: no earlier cases for this number
    page.select_option("#id_category", label="邻里纠纷")  # handled by the grid
    page.fill("#id_description", "清泉街小区3号楼楼上邻居深夜噪音扰民, 多次协商无果")
    page.fill("#place-q", "清泉街")
    page.click(".place-option")
    assert page.input_value("[name=lon]") and page.input_value("[name=lat]")
    page.wait_for_selector("#pick-map[data-ready='1']")
    page.click("#submit-create")
    page.wait_for_selector("#created-banner")
    routing = page.text_content("#routing-reason") or ""
    assert routing  # why it went where it went
    case = Case.objects.get()
    assert case.status == S.DISPATCHED and case.current_handler_id == world.chief.pk
    code = case.tracking_code

    # 2. The grid chief signs for it, handles it and reports back, on a 360px phone.
    browser_login(phone_page, world.chief.username)
    phone_page.goto(f"{phone_page.base_url}/cases/")
    phone_page.click(f"text={code}")
    if not phone_page.is_visible("#action-acknowledge button"):
        phone_page.click("#action-acknowledge summary")
    phone_page.click("#action-acknowledge button")
    phone_page.wait_for_selector("#action-report_back")
    assert phone_page.text_content("#case-status") == "处置中"
    if not phone_page.is_visible("#action-report_back textarea"):
        phone_page.click("#action-report_back summary")
    phone_page.fill("#action-report_back textarea[name=note]", "已上门调解, 双方达成协议")
    phone_page.click("#action-report_back button")
    phone_page.wait_for_selector("#no-actions")
    assert phone_page.text_content("#case-status") == "已反馈待核查"
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1  # nothing overflows the phone's width

    # 3. The operator verifies and closes it.
    page.goto(f"{page.base_url}/cases/?box=to_verify")
    page.click(f"text={code}")
    if not page.is_visible("#action-verify_pass button"):
        page.click("#action-verify_pass summary")
    page.click("#action-verify_pass button")
    page.wait_for_selector("text=已结案")
    case.refresh_from_db()
    assert case.status == S.CLOSED and case.outcome == "fixed"

    # 4. The resident checks it with the tracking code and rates it (no account).
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 800})
    resident = context.new_page()
    resident.goto(f"{page.base_url}/cases/track/")
    resident.fill("#id_code", code.lower())
    resident.click("#track-form button")
    resident.wait_for_selector("#tracking-code")
    assert "已结案" in (resident.text_content("#track-status") or "")
    assert "13900139000" not in resident.content() and "已上门调解" not in resident.content()
    resident.check("#id_satisfaction_0")  # 非常满意
    resident.check("#id_resolved_0")  # 已解决
    resident.fill("#id_comment", "修得很快, 谢谢")
    resident.click("#rating-submit")
    resident.wait_for_selector("#track-rating")
    context.close()
    case.refresh_from_db()
    assert case.status == S.EVALUATED and case.satisfaction == 5 and case.resolved is True

    # 5. The metrics move.
    metrics_hook(page, case, metrics_before)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_resident_report_on_a_phone_and_conflict_message(page: Any, phone_page: Any, district: SampleDistrict) -> None:
    world = build_world(district)
    # A resident reports from a phone, picking the place on the map.
    phone_page.goto(f"{phone_page.base_url}/cases/report/")
    phone_page.select_option("#id_category", label="路灯故障")
    phone_page.fill("#id_description", "公园东门路灯一直不亮")
    phone_page.wait_for_selector("#pick-map[data-ready='1']")
    phone_page.locator("#pick-map").scroll_into_view_if_needed()
    box = phone_page.locator("#pick-map").bounding_box()
    phone_page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert phone_page.input_value("[name=lon]")
    phone_page.click("#report-submit")
    phone_page.wait_for_selector("#new-tracking-code")
    case = Case.objects.get()
    assert case.lon is not None and 111.59 < case.lon < 111.65 and 40.75 < case.lat < 40.79  # type: ignore[operator]

    # Two staff act on one case: the slower one sees the conflict message, nothing changes.
    dispatched = world.intake()
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/cases/{dispatched.pk}/")
    Case.objects.filter(pk=dispatched.pk).update(version=dispatched.version + 1)  # someone else acted
    if not page.is_visible("#action-acknowledge button"):
        page.click("#action-acknowledge summary")
    page.click("#action-acknowledge button")
    page.wait_for_selector("#action-error")
    assert "该案件已被他人更新, 请刷新后重试" in (page.text_content("#action-error") or "")
    dispatched.refresh_from_db()
    assert dispatched.status == S.DISPATCHED
