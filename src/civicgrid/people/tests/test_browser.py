"""End-to-end in chromium: masked search, audited reveal, scope."""

import pytest

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.conftest import browser_login
from civicgrid.people.tests.conftest import make_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _search_by_id(page, number):
    page.goto(f"{page.base_url}/people/")
    page.fill("#id_id_number", number)
    page.click("#people-search-submit")
    page.wait_for_load_state("networkidle")


def test_masked_search(page, worker, residents):
    browser_login(page, worker.username)
    number = make_number(11)
    _search_by_id(page, number)
    table = page.locator("#people-table")
    assert table.locator(".person-link").all_inner_texts() == ["张三"]
    assert table.locator("td.id-number").inner_text() == number[:6] + "********" + number[-4:]
    assert number not in page.content()
    assert number not in page.url


def test_reveal_with_audit(page, worker, residents):
    browser_login(page, worker.username)
    page.goto(f"{page.base_url}/people/{residents[0].pk}/")
    value = page.locator("#value-id_number")
    assert "*" in value.inner_text()
    page.click("#reveal-id_number")
    page.locator("span.revealed#value-id_number").wait_for()
    assert page.locator("#value-id_number").inner_text() == make_number(11)
    event = AuditEvent.objects.get(action=AuditAction.REVEAL)
    assert event.changes == {"field": "id_number"} and event.actor_id == worker.pk
    # The other fields stay masked.
    assert "****" in page.locator("#value-phone").inner_text()


def test_scope(page, worker, residents):
    browser_login(page, worker.username)
    _search_by_id(page, make_number(13))  # 李五 lives in another community
    assert page.locator("#people-empty").is_visible()
    assert "李五" not in page.content()
    response = page.goto(f"{page.base_url}/people/{residents[2].pk}/")
    assert response.status == 404
