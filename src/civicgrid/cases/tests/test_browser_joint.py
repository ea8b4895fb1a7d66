"""Browser: joint handling (联合处置) end to end. The grid chief handling a dispute asks
清泉街's legal office and the police station to co-handle it; the lawyer finds the part in the
协办 inbox on a phone, signs for it and reports it back; the chief sees the progress and
reports the whole case back, overriding the police part that is still open (with a reason)."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.cases.enums import AssistStatus as AS
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseAssist, Category
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import build_world
from civicgrid.cases.tests.test_joint import build_joint
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import SampleDistrict


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_joint_handling_in_the_browser(page: Any, phone_page: Any, district: SampleDistrict) -> None:
    j = build_joint(build_world(district))
    w = j.w
    case_url = f"/cases/{j.case.pk}/"

    # 1. The grid chief asks the legal office and the police station for help.
    browser_login(page, w.chief.username)
    page.goto(page.base_url + case_url)
    page.wait_for_selector("#no-parts")
    page.click("#joint-request summary")
    panel = page.locator("#joint-request")
    assert panel.locator("input[name=department_ids]").count() == 2  # the other street's office is not offered
    panel.locator(f"input[name=department_ids][value='{j.legal.pk}']").check()
    panel.locator(f"input[name=department_ids][value='{w.police.pk}']").check()
    panel.locator("textarea[name=note]").fill("邻里噪音纠纷, 请法务室出具意见, 派出所视情况出警")
    panel.locator("#joint-request-submit").click()
    page.wait_for_selector("#joint-parts")
    legal = CaseAssist.objects.get(department=j.legal)
    police = CaseAssist.objects.get(department=w.police)
    assert page.text_content(f"#part-status-{legal.pk}") == "待签收"
    assert "已办结 0 / 共 2" in (page.text_content("#joint-progress") or "")

    # 2. The lawyer, on a phone: the 协办 inbox, the case, sign, report.
    browser_login(phone_page, j.lawyer.username)
    phone_page.goto(f"{phone_page.base_url}/cases/")
    phone_page.click("#tab-assist")
    phone_page.wait_for_selector(f"#assist-row-{legal.pk}")
    assert phone_page.locator(f"#assist-row-{police.pk}").count() == 0
    phone_page.click(f"#assist-row-{legal.pk} a >> nth=0")
    phone_page.wait_for_selector("#case-joint")
    assert phone_page.locator("#no-actions").is_visible()  # no action on the case itself
    assert phone_page.locator(f"#part-{police.pk} .assist-submit").count() == 0
    phone_page.click(f"#part-{legal.pk}-acknowledge summary")
    phone_page.click(f"#part-{legal.pk}-acknowledge button[data-assist-action=acknowledge]")
    phone_page.wait_for_function(f"document.querySelector('#part-status-{legal.pk}')?.textContent === '协办中'")
    phone_page.click(f"#part-{legal.pk}-report summary")
    phone_page.fill(f"#part-{legal.pk}-report textarea[name=note]", "已出具法律意见书, 双方签订调解协议")
    phone_page.click(f"#part-{legal.pk}-report button[data-assist-action=report]")
    phone_page.wait_for_function(f"document.querySelector('#part-status-{legal.pk}')?.textContent === '已反馈'")
    assert no_horizontal_scroll(phone_page)

    # 3. A stale form is refused with the conflict message (the part changed since the render).
    page.reload()
    page.wait_for_selector(f"#part-{police.pk}-cancel")
    CaseAssist.objects.filter(pk=police.pk).update(version=police.version + 1)
    page.click(f"#part-{police.pk}-cancel summary")
    page.fill(f"#part-{police.pk}-cancel textarea[name=note]", "不需要了")
    page.click(f"#part-{police.pk}-cancel button[data-assist-action=cancel]")
    page.wait_for_selector("#joint-error")
    assert "该协办任务已被他人更新" in (page.text_content("#joint-error") or "")

    # 4. The chief sees the progress and reports back, overriding the open police part.
    page.goto(page.base_url + case_url)
    assert "已办结 1 / 共 2" in (page.text_content("#joint-progress") or "")
    assert "已出具法律意见书" in (page.text_content(f"#part-{legal.pk}") or "")
    page.locator("#action-report_back").evaluate("d => { d.open = true; }")  # the first form opens by itself
    assert "兴隆巷派出所" in (page.text_content("#open-parts") or "")
    form = page.locator("#action-report_back form")
    form.locator("textarea[name=note]").fill("纠纷已调解, 双方签字")
    form.locator("textarea[name=assist_override]").fill("双方已和解, 无需出警")
    form.locator("button.action-submit").click()
    page.wait_for_function("document.querySelector('#case-status')?.textContent === '已反馈待核查'")
    assert "强制反馈理由: 双方已和解, 无需出警" in (page.text_content("#case-timeline") or "")
    assert page.text_content(f"#part-status-{police.pk}") == "已撤回"
    assert Case.objects.get(pk=j.case.pk).status == S.REPORTED
    assert CaseAssist.objects.get(pk=police.pk).status == AS.CANCELLED
