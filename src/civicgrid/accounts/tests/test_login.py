import pytest
from axes.models import AccessAttempt

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.testing.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

IP = "10.20.30.40"


@pytest.fixture
def worker(district, user_factory):
    return user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="wangwu")


def _login(client, username, password):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=IP)


def test_login_lands_on_home_and_is_audited_with_ip(client, worker):
    response = _login(client, "wangwu", TEST_PASSWORD)
    assert response.status_code == 302 and response.url == "/"
    home = client.get("/")
    assert "欢迎" in home.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert event.actor_id == worker.pk and event.ip_address == IP
    assert event.area_code == worker.area.code


def test_failed_login_is_audited_without_password(client, worker):
    response = _login(client, "wangwu", "Wrong-Password-1")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.actor_label == "wangwu" and event.ip_address == IP
    assert event.object_id == str(worker.pk)
    assert "Wrong-Password" not in str(event.changes) + event.message + event.object_repr


def test_failed_login_for_unknown_user_is_audited(client, worker):
    _login(client, "nobody", "Wrong-Password-1")
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.actor_label == "nobody" and event.object_id == "" and event.message == "unknown_user"


def test_logout_is_audited(client, worker):
    _login(client, "wangwu", TEST_PASSWORD)
    response = client.post("/logout/", REMOTE_ADDR=IP)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert event.actor_id == worker.pk and event.ip_address == IP


def test_five_failures_lock_the_account(client, worker, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert _login(client, "wangwu", "Wrong-Password-1").status_code == 200
    locked = _login(client, "wangwu", "Wrong-Password-1")
    assert locked.status_code == 429
    assert "账号已锁定" in locked.content.decode()
    # Even the right password is refused now, from another address too.
    again = client.post("/login/", {"username": "wangwu", "password": TEST_PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert again.status_code == 429
    assert client.get("/").status_code == 302  # not logged in
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() >= 5
    lock = AuditEvent.objects.filter(action=AuditAction.LOCKOUT).order_by("id").first()
    assert lock is not None
    assert lock.actor_label == "wangwu" and lock.object_id == str(worker.pk)
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_success_resets_failure_count(client, worker):
    for _ in range(4):
        _login(client, "wangwu", "Wrong-Password-1")
    assert _login(client, "wangwu", TEST_PASSWORD).status_code == 302
    client.post("/logout/")
    assert not AccessAttempt.objects.filter(username="wangwu", failures_since_start__gt=0).exists()
    for _ in range(4):
        assert _login(client, "wangwu", "Wrong-Password-1").status_code == 200
