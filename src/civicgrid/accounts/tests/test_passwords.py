import datetime

import pytest
import time_machine
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import PasswordHistory
from civicgrid.accounts.services import user_set_password
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.testing.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PASSWORDS = [f"Quan-Yu-{i}x!" for i in range(7)]


@pytest.fixture
def worker(district, user_factory):
    return user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="worker")


def _messages(exc):
    return " ".join(exc.value.messages)


def test_short_password_rejected(worker):
    with pytest.raises(ValidationError) as exc:
        user_set_password(actor=worker, user=worker, password="Ab1!xyz")
    assert exc.value.error_list[0].code == "password_too_short"


@pytest.mark.parametrize("password", ["alllowercase1", "ALLUPPERCASE1", "lowerUPPERonly", "12345678abc"])
def test_two_character_classes_rejected(worker, password):
    with pytest.raises(ValidationError) as exc:
        user_set_password(actor=worker, user=worker, password=password)
    assert "password_too_simple" in [e.code for e in exc.value.error_list]


def test_three_classes_accepted_and_hashed_with_argon2(worker):
    user_set_password(actor=worker, user=worker, password="Gridwork2026")  # lower+upper+digit
    worker.refresh_from_db()
    assert identify_hasher(worker.password).algorithm == "argon2"
    assert worker.check_password("Gridwork2026")


def test_each_set_password_is_recorded_in_history_and_audited(worker):
    before = AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGE).count()
    user_set_password(actor=worker, user=worker, password=PASSWORDS[0])
    user_set_password(actor=worker, user=worker, password=PASSWORDS[1])
    assert PasswordHistory.objects.filter(user=worker).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGE).count() == before + 2
    event = AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGE)[0]
    assert "argon2" not in str(event.changes)


def test_password_reuse_within_last_five_rejected(worker):
    for password in PASSWORDS[:5]:
        user_set_password(actor=worker, user=worker, password=password)
    for password in PASSWORDS[:5]:  # every one of the last five, including the current one
        with pytest.raises(ValidationError) as exc:
            user_set_password(actor=worker, user=worker, password=password)
        assert "password_reused" in [e.code for e in exc.value.error_list]
    user_set_password(actor=worker, user=worker, password=PASSWORDS[5])
    # PASSWORDS[0] is now six passwords back: allowed again.
    user_set_password(actor=worker, user=worker, password=PASSWORDS[0])
    assert PasswordHistory.objects.filter(user=worker).count() == 5


@override_settings(PASSWORD_HISTORY_COUNT=5)
def test_password_change_form_enforces_history(client, worker):
    client.force_login(worker)
    user_set_password(actor=worker, user=worker, password=PASSWORDS[0])
    client.force_login(worker)
    response = client.post(
        "/password/change/",
        {"old_password": PASSWORDS[0], "new_password1": PASSWORDS[0], "new_password2": PASSWORDS[0]},
    )
    assert response.status_code == 200
    assert "不能使用最近" in response.content.decode()
    response = client.post(
        "/password/change/",
        {"old_password": PASSWORDS[0], "new_password1": PASSWORDS[1], "new_password2": PASSWORDS[1]},
    )
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.check_password(PASSWORDS[1])


def test_expired_password_sends_user_to_change_form(client, worker):
    start = timezone.now()
    with time_machine.travel(start + datetime.timedelta(days=89), tick=False):
        client.force_login(worker)
        assert client.get("/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(days=91), tick=False):
        client.force_login(worker)
        response = client.get("/")
        assert response.status_code == 302
        assert response.url == "/password/change/"
        # The change form itself stays reachable, and changing the password ends the redirect.
        assert client.get("/password/change/").status_code == 200
        response = client.post(
            "/password/change/",
            {"old_password": TEST_PASSWORD, "new_password1": PASSWORDS[2], "new_password2": PASSWORDS[2]},
        )
        assert response.status_code == 302
        assert client.get("/").status_code == 200


def test_account_without_password_date_counts_as_expired(client, worker):
    type(worker).objects.filter(pk=worker.pk).update(password_changed_at=None)
    client.force_login(worker)
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/password/change/"
    follow = client.get(response.url)
    assert "密码已过期" in follow.content.decode()
