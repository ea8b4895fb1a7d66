"""三员分立: the audit administrator changes nothing; the system administrator never reads
the audit trail; only the security administrator hands out administrator roles."""

import pytest
from django.core.exceptions import PermissionDenied

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, User
from civicgrid.accounts.services import ensure_can_write, user_create, user_update
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.audit.services import audit_record

pytestmark = pytest.mark.django_db

GOOD = "Strong-Pass-2026"


@pytest.fixture
def people(district, user_factory):
    top = district.district
    return {
        "system": user_factory(Role.SYSTEM_ADMIN, top, username="sysadmin"),
        "security": user_factory(Role.SECURITY_ADMIN, top, username="secadmin"),
        "audit": user_factory(Role.AUDIT_ADMIN, top, username="auditor"),
        "leader": user_factory(Role.LEADER, top, username="leader"),
        "street": user_factory(Role.STREET_ADMIN, district.streets[0], username="street0"),
    }


@pytest.mark.parametrize("role", ["audit", "leader"])
def test_read_only_roles_cannot_write_through_services(people, district, role):
    actor = people[role]
    with pytest.raises(PermissionDenied):
        ensure_can_write(actor)
    with pytest.raises(PermissionDenied):
        user_create(actor=actor, username="x1", role=Role.GRID_CHIEF, area=district.grids[0], password=GOOD)
    assert not User.objects.filter(username="x1").exists()


def test_audit_record_refuses_data_change_by_read_only_role(people, district):
    """The backstop: a service that forgot ensure_can_write still cannot let the audit
    administrator change data, because its audit record is refused inside its transaction."""
    with pytest.raises(PermissionDenied):
        audit_record(action=AuditAction.UPDATE, obj=district.grids[0], actor=people["audit"])
    # Reading-type actions stay possible.
    audit_record(action=AuditAction.EXPORT, object_type="audit.auditevent", actor=people["audit"])


def test_audit_admin_cannot_use_admin_for_writes(client, people):
    client.force_login(people["audit"])
    assert client.get("/admin/accounts/user/").status_code in (302, 403)
    assert client.get("/admin/accounts/user/add/").status_code in (302, 403)
    response = client.post("/admin/accounts/department/add/", {"code": "X", "name": "X"})
    assert response.status_code in (302, 403)
    assert not Department.objects.filter(code="X").exists()


def test_audit_admin_reads_audit_in_admin_read_only(client, people):
    client.force_login(people["audit"])
    assert client.get("/admin/audit/auditevent/").status_code == 200
    event = AuditEvent.objects.order_by("-id")[0]
    page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_system_admin_is_refused_the_audit_trail_everywhere(client, people):
    client.force_login(people["system"])
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    api = client.get("/api/audit/events")
    assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
    assert client.get("/admin/audit/auditevent/").status_code == 403
    index = client.get("/admin/").content.decode()
    assert "审计记录" not in index


def test_system_admin_uses_admin_but_security_admin_assigns_admin_roles(people, district):
    with pytest.raises(PermissionDenied):
        user_create(
            actor=people["system"], username="aud2", role=Role.AUDIT_ADMIN, area=district.district, password=GOOD
        )
    created = user_create(
        actor=people["security"], username="aud2", role=Role.AUDIT_ADMIN, area=district.district, password=GOOD
    )
    assert created.role == Role.AUDIT_ADMIN
    # The system administrator can create ordinary staff accounts.
    grid = user_create(
        actor=people["system"], username="grid1", role=Role.GRID_CHIEF, area=district.grids[0], password=GOOD
    )
    assert grid.area == district.grids[0]


def test_nobody_changes_own_role(people):
    with pytest.raises(PermissionDenied):
        user_update(actor=people["security"], user=people["security"], role=Role.AUDIT_ADMIN)
    with pytest.raises(PermissionDenied):
        user_update(actor=people["system"], user=people["system"], role=Role.AUDIT_ADMIN)
