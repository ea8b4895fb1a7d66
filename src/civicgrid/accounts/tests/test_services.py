import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, PasswordHistory, User
from civicgrid.accounts.services import department_create, user_create, user_update
from civicgrid.audit.diff import MASK
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

GOOD = "Strong-Pass-2026"


@pytest.fixture
def admins(district, user_factory):
    return {
        "system": user_factory(Role.SYSTEM_ADMIN, district.district, username="sys"),
        "street_sys": user_factory(Role.SYSTEM_ADMIN, district.streets[0], username="sys_street0"),
    }


def test_user_create_is_audited_with_masked_password(admins, district):
    dept = department_create(
        actor=admins["system"], code="PS1", name="兴隆巷派出所", kind="police", area=district.streets[0]
    )
    user = user_create(
        actor=admins["system"],
        username="chief1",
        role=Role.GRID_CHIEF,
        area=district.grids[0],
        departments=[dept],
        display_name="张网格",
        password=GOOD,
    )
    assert user.check_password(GOOD)
    assert user.password_changed_at is not None
    assert list(user.departments.all()) == [dept]
    assert PasswordHistory.objects.filter(user=user).count() == 1
    event = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="accounts.user").get()
    assert event.actor_id == admins["system"].pk
    assert event.area_code == district.grids[0].code
    assert event.changes["display_name"]["after"] == "张网格"
    assert event.changes["departments"]["after"] == [dept.pk]
    assert event.changes["password"]["after"] == MASK
    assert GOOD not in str(event.changes) and "argon2" not in str(event.changes)


def test_user_create_outside_actor_scope_refused(admins, district):
    with pytest.raises(PermissionDenied):
        user_create(
            actor=admins["street_sys"], username="far", role=Role.GRID_CHIEF, area=district.grids[-1], password=GOOD
        )  # a grid of the other street
    assert not User.objects.filter(username="far").exists()
    inside = user_create(
        actor=admins["street_sys"], username="near", role=Role.GRID_CHIEF, area=district.grids[0], password=GOOD
    )
    assert inside.area == district.grids[0]


def test_user_create_rejects_weak_password_and_writes_nothing(admins, district):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        user_create(
            actor=admins["system"], username="weak", role=Role.GRID_CHIEF, area=district.grids[0], password="password"
        )
    assert "password" in exc.value.message_dict
    assert not User.objects.filter(username="weak").exists()
    assert AuditEvent.objects.count() == before


def test_staff_accounts_need_a_territory(admins):
    with pytest.raises(ValidationError):
        user_create(actor=admins["system"], username="noarea", role=Role.GRID_CHIEF, area=None, password=GOOD)


def test_worker_cannot_manage_accounts(district, user_factory):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    with pytest.raises(PermissionDenied):
        user_create(actor=worker, username="x", role=Role.GRID_CHIEF, area=district.grids[0], password=GOOD)


def test_user_update_audits_the_diff(admins, district):
    user = user_create(
        actor=admins["system"], username="u1", role=Role.GRID_CHIEF, area=district.grids[0], password=GOOD
    )
    user_update(actor=admins["system"], user=user, display_name="李四", area=district.grids[1])
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(user.pk)).get()
    assert event.changes == {
        "area": {"before": district.grids[0].pk, "after": district.grids[1].pk},
        "display_name": {"before": "", "after": "李四"},
    }
    with pytest.raises(ValidationError):
        user_update(actor=admins["system"], user=user, is_superuser=True)


def test_department_outside_scope_refused(admins, district):
    with pytest.raises(PermissionDenied):
        department_create(
            actor=admins["street_sys"], code="D9", name="小召司法所", kind="judicial", area=district.streets[1]
        )
    assert not Department.objects.filter(code="D9").exists()
