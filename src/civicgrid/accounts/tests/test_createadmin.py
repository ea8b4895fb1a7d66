import io

import pytest
from django.core.management import CommandError, call_command

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(monkeypatch, password, *args):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("createadmin", *args, "--password-stdin", stdout=out)
    return out.getvalue()


def test_non_interactive_creates_audit_admin_bound_to_root(monkeypatch, district):
    out = run(monkeypatch, "Audit-Admin-2026", "--username", "auditor", "--role", "audit_admin")
    assert "auditor" in out
    user = User.objects.get(username="auditor")
    assert user.role == Role.AUDIT_ADMIN and not user.is_superuser and not user.is_staff
    assert user.area == district.district
    assert user.check_password("Audit-Admin-2026") and user.password_changed_at is not None
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_id=str(user.pk))
    assert event.actor_label == "createadmin" and "Audit-Admin-2026" not in str(event.changes)


def test_superuser_option(monkeypatch, db):
    run(monkeypatch, "Root-Admin-2026", "--username", "root", "--role", "superuser")
    user = User.objects.get(username="root")
    assert user.is_superuser and user.is_staff and user.area is None


@pytest.mark.parametrize("weak", ["short1A", "alllowercase", "password123"])
def test_weak_password_rejected(monkeypatch, db, weak):
    with pytest.raises(CommandError, match="密码不符合要求"):
        run(monkeypatch, weak, "--username", "sys", "--role", "system_admin")
    assert not User.objects.filter(username="sys").exists()


def test_needs_username_and_role_and_unknown_area(monkeypatch, db):
    with pytest.raises(CommandError):
        run(monkeypatch, "Root-Admin-2026", "--role", "system_admin")
    with pytest.raises(CommandError):
        run(monkeypatch, "Root-Admin-2026", "--username", "x", "--role", "system_admin", "--area", "999")


def test_interactive_asks_password_twice(monkeypatch, district):
    answers = iter(["secadmin", "2"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    passwords = iter(["Sec-Admin-2026", "Different-2026", "Sec-Admin-2026", "Sec-Admin-2026"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(passwords))
    call_command("createadmin", stdout=io.StringIO(), stderr=io.StringIO())
    user = User.objects.get(username="secadmin")
    assert user.role == Role.SECURITY_ADMIN and user.check_password("Sec-Admin-2026")
