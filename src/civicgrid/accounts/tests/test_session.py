import datetime

import pytest
import time_machine
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_idle_session_is_logged_out_after_thirty_minutes(client, district, user_factory):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(worker)
        assert client.get("/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200  # activity resets the clock
    with time_machine.travel(start + datetime.timedelta(minutes=58), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=89), tick=False):
        response = client.get("/")
        assert response.status_code == 302
        assert response.url.startswith("/login/?next=")
        page = client.get(response.url)
        assert "长时间未操作" in page.content.decode()
        assert client.get("/").status_code == 302  # really logged out
    logout = AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=worker).first()
    assert logout is not None and logout.message == "idle_timeout"


def test_activity_is_recorded_at_most_once_a_minute(client, district, user_factory):
    """A page view within a minute of the last recorded activity does not write the session."""
    from django.contrib.sessions.models import Session

    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(worker)
        client.get("/notifications/badge/")
    key = client.session.session_key

    def expiry() -> datetime.datetime:
        return Session.objects.get(session_key=key).expire_date

    written = expiry()
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        client.get("/notifications/badge/")
    assert expiry() == written  # not saved
    with time_machine.travel(start + datetime.timedelta(seconds=61), tick=False):
        client.get("/notifications/badge/")
    assert expiry() > written  # saved again: the clock moved on


def test_idle_timeout_on_api_gives_401(client, district, user_factory):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(worker)
        client.get("/")
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        response = client.get("/api/audit/events")
        assert response.status_code == 401


def test_htmx_request_with_expired_password_moves_the_whole_window(client, district, user_factory):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="hx-expired")
    user.password_changed_at = timezone.now() - datetime.timedelta(days=365)
    user.save(update_fields=["password_changed_at"])
    client.force_login(user)
    response = client.get("/notifications/badge/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].endswith("/password/change/")
    # Without htmx the ordinary redirect stays.
    assert client.get("/notifications/badge/").status_code == 302


def test_htmx_request_after_logout_is_sent_to_login(client, db):
    response = client.get("/notifications/badge/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert "/login/" in response["HX-Redirect"]


def test_htmx_request_from_the_target_page_itself_does_not_loop(client, district, user_factory):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="hx-loop")
    user.password_changed_at = timezone.now() - datetime.timedelta(days=365)
    user.save(update_fields=["password_changed_at"])
    client.force_login(user)
    response = client.get(
        "/notifications/badge/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/password/change/"},
    )
    assert response.status_code == 204 and "HX-Redirect" not in response
