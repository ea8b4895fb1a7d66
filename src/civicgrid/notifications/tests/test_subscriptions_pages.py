"""Subscriptions (case, area, resident by tracking code), the inbox page, badge and API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act
from civicgrid.notifications import dispatch, services
from civicgrid.notifications.enums import NotificationChannel as C
from civicgrid.notifications.models import Notification, Subscription
from civicgrid.notifications.tests import fakes

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_follow_case_toggle_and_followers_told_of_changes(world: World) -> None:
    case = world.intake()
    assert services.subscription_toggle_case(user=world.leader, case_id=case.pk) is True
    case = act(world, case, A.ACKNOWLEDGE)
    assert Notification.objects.filter(recipient=world.leader, object_id=str(case.pk)).count() == 1
    assert services.subscription_toggle_case(user=world.leader, case_id=case.pk) is False
    act(world, case, A.REPORT_BACK)
    assert Notification.objects.filter(recipient=world.leader, object_id=str(case.pk)).count() == 1


def test_follow_area_covers_cases_below_it(world: World) -> None:
    community = world.d.communities[0]
    assert services.subscription_toggle_area(user=world.street_admin, area_code=community.code)
    inside = world.intake(grid=world.d.grids[0])
    outside = world.intake(grid=world.d.grids[2], title="别处的事")
    told = set(Notification.objects.filter(recipient=world.street_admin).values_list("object_id", flat=True))
    assert str(inside.pk) in told and str(outside.pk) not in told
    with pytest.raises(ValidationError):
        services.subscription_toggle_area(user=world.street_admin, area_code=world.d.streets[0].code)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):  # outside the user's territory
        services.subscription_toggle_area(user=world.street_admin, area_code=world.d.communities[2].code)


def test_resident_told_by_sms_when_closed_once(world: World) -> None:
    case = world.intake()
    sub = services.subscription_follow_by_tracking_code(tracking_code=case.tracking_code.lower(), phone="13711112222")
    again = services.subscription_follow_by_tracking_code(tracking_code=case.tracking_code, phone="13711112222")
    assert sub.pk == again.pk and Subscription.objects.filter(user__isnull=True).count() == 1
    assert "13711112222" not in sub.address_cipher and sub.address_masked.startswith("137")
    for action in (A.ACKNOWLEDGE, A.REPORT_BACK):
        case = act(world, case, action)
    assert not Notification.objects.filter(channel=C.SMS, recipient__isnull=True).exists()
    act(world, case, A.VERIFY_PASS)
    sms = Notification.objects.get(channel=C.SMS, recipient__isnull=True)
    assert case.tracking_code in sms.body
    dispatch.deliver_pending(10)
    dispatch.deliver_pending(10)
    assert [m.address for m in fakes.SENT] == ["13711112222"]


def test_resident_follow_rejects_bad_input(world: World) -> None:
    case = world.intake()
    with pytest.raises(ValidationError):
        services.subscription_follow_by_tracking_code(tracking_code=case.tracking_code, phone="123")
    with pytest.raises(ValidationError):
        services.subscription_follow_by_tracking_code(tracking_code=case.tracking_code)
    from civicgrid.common.errors import NotFound

    with pytest.raises(NotFound):
        services.subscription_follow_by_tracking_code(tracking_code="NOPE", phone="13711112222")


def test_inbox_page_badge_and_mark_read(world: World, django_assert_max_num_queries: Any) -> None:
    for i in range(5):
        world.intake(title=f"案件{i}")
    c = _client(world.chief)
    with django_assert_max_num_queries(12):
        page = c.get("/notifications/")
    body = page.content.decode()
    assert page.status_code == 200 and "案件4" in body
    # The nav badge loads itself (htmx), so no page pays for the count.
    assert "/notifications/badge/" in body
    badge = c.get("/notifications/badge/").content.decode()
    assert 'id="notif-badge"' in badge and ">5<" in badge
    note = Notification.objects.filter(recipient=world.chief, channel=C.IN_APP).first()
    assert note is not None
    r = c.post(f"/notifications/{note.pk}/read/")
    assert r.status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    assert ">4<" in c.get("/notifications/badge/").content.decode()
    # Somebody else's message is not found.
    assert _client(world.leader).post(f"/notifications/{note.pk}/read/").status_code == 404
    c.post("/notifications/read-all/")
    assert "is-empty" in c.get("/notifications/badge/").content.decode()


def test_api_list_read_and_follow(world: World) -> None:
    case = world.intake()
    c = _client(world.chief)
    data = c.get("/api/notifications?unread=true").json()
    assert data["count"] == 1 and data["items"][0]["object_id"] == str(case.pk)
    nid = data["items"][0]["id"]
    assert c.get("/api/notifications/unread-count").json() == {"unread": 1}
    assert c.post(f"/api/notifications/{nid}/read").status_code == 200
    assert c.get("/api/notifications/unread-count").json() == {"unread": 0}
    assert c.post("/api/notifications/999999/read").status_code == 404
    r = c.post("/api/notifications/follow", {"case_id": case.pk}, content_type="application/json")
    assert r.json() == {"following": True}
    r = c.post("/api/notifications/follow", {}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    anon = Client()
    r = anon.post(
        "/api/notifications/track",
        {"tracking_code": case.tracking_code, "phone": "13711112222"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["channel"] == "sms" and "1111" not in r.json()["address"][3:7]
    assert anon.get("/api/notifications").status_code == 401


def test_follow_button_view_and_template_tag(world: World) -> None:
    case = world.intake()
    c = _client(world.operator)
    r = c.post(f"/notifications/follow/case/{case.pk}/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已关注" in r.content.decode()
    r = c.post(f"/notifications/follow/case/{case.pk}/", HTTP_HX_REQUEST="true")
    assert "已关注" not in r.content.decode() and "关注" in r.content.decode()
    r = c.post(f"/notifications/follow/area/{world.d.grids[0].code}/", {"next": "/cases/"})
    assert r.status_code == 302 and r["Location"] == "/cases/"
    assert Subscription.objects.filter(user=world.operator, area_code=world.d.grids[0].code).exists()
    # Outside the chief's scope: no case to follow.
    other = world.intake(grid=world.d.grids[3], title="远处")
    assert _client(world.chief).post(f"/notifications/follow/case/{other.pk}/").status_code == 404
    from django.template import Context, Template
    from django.test import RequestFactory

    req = RequestFactory().get("/")
    req.user = world.operator
    html = Template("{% load notifications %}{% follow_button area_code=code %}").render(
        Context({"request": req, "code": world.d.grids[0].code})
    )
    assert "已关注" in html
