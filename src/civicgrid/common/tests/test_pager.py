"""The one pager (templates/includes/pager.html): its parameters, rendered alone, and the pages
whose links it builds from their own query strings."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.core.paginator import Page, Paginator
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation

from civicgrid.accounts.enums import Role
from civicgrid.indicators import services as indicator_services
from civicgrid.indicators.tests.conftest import NOW, build_world
from civicgrid.notifications.enums import NotificationChannel
from civicgrid.notifications.models import Notification
from civicgrid.testing.factories import SampleDistrict, make_user


def _page(number: int, *, count: int = 25, size: int = 10) -> Page[int]:
    return Paginator(range(count), size).page(number)


def _render(**params: Any) -> str:
    with translation.override("zh-hans"):
        return render_to_string("includes/pager.html", params)


def _links(html: str) -> dict[str, str]:
    """rel -> href of the pager's links."""
    return {
        m.group("rel"): m.group("href").replace("&amp;", "&")
        for m in re.finditer(r'<a class="pager-\w+" rel="(?P<rel>prev|next)"[^>]* href="(?P<href>[^"]*)"', html)
    }


def test_a_single_page_renders_nothing_unless_always() -> None:
    assert _render(page=_page(1, count=5)).strip() == ""
    html = _render(page=_page(1, count=5), always=True, label="共 5 项")
    assert '<nav class="pager"' in html and "共 5 项" in html and _links(html) == {}


def test_middle_page_keeps_the_query_before_the_page_number() -> None:
    html = _render(page=_page(2), query="status=open&sort=-deadline")
    assert 'aria-label="分页"' in html and "第2页，共3页" in html
    assert "上一页" in html and "下一页" in html
    assert _links(html) == {
        "prev": "?status=open&sort=-deadline&page=1",
        "next": "?status=open&sort=-deadline&page=3",
    }
    assert "hx-get" not in html and " id=" not in html


def test_without_a_query_only_the_page_number() -> None:
    assert _links(_render(page=_page(2))) == {"prev": "?page=1", "next": "?page=3"}


def test_first_and_last_pages_have_one_link() -> None:
    assert _links(_render(page=_page(1))) == {"next": "?page=2"}
    assert _links(_render(page=_page(3))) == {"prev": "?page=2"}


def test_parameter_name_fragment_and_ids() -> None:
    html = _render(
        page=_page(2), query="year=2026", param="hpage", fragment="history", nav_id="my-pager", prev_id="p", next_id="n"
    )
    assert _links(html) == {"prev": "?year=2026&hpage=1#history", "next": "?year=2026&hpage=3#history"}
    assert '<nav class="pager" aria-label="分页" id="my-pager">' in html
    assert 'id="p" href=' in html and 'id="n" href=' in html


def test_label_replaces_the_page_sentence() -> None:
    html = _render(page=_page(2), label="第 2 / 3 页, 共 25 项")
    assert "第 2 / 3 页, 共 25 项" in html and "第2页，共3页" not in html


def test_query_is_escaped() -> None:
    html = _render(page=_page(2), query='q="><script>')
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_english_uses_the_existing_catalogue() -> None:
    with translation.override("en"):
        html = render_to_string("includes/pager.html", {"page": _page(2)})
    assert "Page 2 of 3" in html and "Previous" in html and "Next" in html and 'aria-label="Pagination"' in html


# --- pages that build their query string in the template ------------------------------------


@pytest.mark.django_db
def test_notifications_inbox_keeps_unread_only(client: Client, district: SampleDistrict) -> None:
    user = make_user(Role.GRID_CHIEF, district.grids[0], username="pager-inbox")
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            recipient=user,
            channel=NotificationChannel.IN_APP,
            subject=f"消息{i}",
            available_at=now,
            dedupe_key=f"pager-{i}",
        )
        for i in range(31)
    )
    client.force_login(user)
    unread = client.get("/notifications/", {"unread": "1"}).content.decode()
    assert _links(unread) == {"next": "?unread=1&page=2"}
    everything = client.get("/notifications/").content.decode()
    assert _links(everything) == {"next": "?page=2"}
    second = client.get("/notifications/", {"unread": "1", "page": "2"})
    assert second.context["page"].number == 2 and _links(second.content.decode()) == {"prev": "?unread=1&page=1"}


@pytest.mark.django_db
def test_indicator_history_pages_keep_the_year_and_anchor(
    client: Client, district: SampleDistrict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicgrid.indicators import views

    monkeypatch.setattr(views, "HISTORY_PAGE_SIZE", 1)
    with time_machine.travel(NOW, tick=True):
        world = build_world(district)
        for value in (4800, 4878):
            indicator_services.indicator_value_enter(
                actor=world.hr_handler, indicator=world.jobs, period="2026-H1", value=value
            )
        client.force_login(world.hr_handler)
        body = client.get(f"/indicators/{world.jobs.pk}/", {"year": 2026}).content.decode()
        assert _links(body) == {"next": "?year=2026&hpage=2#history"}
        second = client.get(f"/indicators/{world.jobs.pk}/", {"year": 2026, "hpage": 2}).content.decode()
        assert _links(second) == {"prev": "?year=2026&hpage=1#history"}
