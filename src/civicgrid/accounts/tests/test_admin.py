import pytest

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, PasswordHistory, User
from civicgrid.audit.diff import MASK
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

GOOD = "Strong-Pass-2026"


@pytest.fixture
def sysadmin(district, user_factory):
    return user_factory(Role.SYSTEM_ADMIN, district.district, username="sys")


def test_admin_is_in_chinese_and_only_for_admin_roles(client, district, user_factory, sysadmin):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0])
    client.force_login(worker)
    assert client.get("/admin/").status_code == 302  # sent to the admin log-in
    client.force_login(sysadmin)
    page = client.get("/admin/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "智慧玉泉" in text and "用户" in text and "部门" in text


def test_admin_user_create_goes_through_validators_scope_and_audit(client, district, sysadmin):
    client.force_login(sysadmin)
    data = {
        "username": "gc1",
        "display_name": "网格长甲",
        "role": Role.GRID_CHIEF,
        "area": district.grids[0].pk,
        "mobile": "",
        "password1": "weakpass",
        "password2": "weakpass",
    }
    response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 200 and not User.objects.filter(username="gc1").exists()
    data.update(password1=GOOD, password2=GOOD)
    response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="gc1")
    assert user.check_password(GOOD) and PasswordHistory.objects.filter(user=user).count() == 1
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_id=str(user.pk))
    assert event.message == "admin" and event.actor_id == sysadmin.pk
    assert event.changes["password"]["after"] == MASK
    assert event.area_code == district.grids[0].code


def test_admin_refuses_admin_role_from_system_admin(client, district, sysadmin):
    client.force_login(sysadmin)
    data = {
        "username": "aud9",
        "role": Role.AUDIT_ADMIN,
        "area": district.district.pk,
        "password1": GOOD,
        "password2": GOOD,
    }
    response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 200
    assert not User.objects.filter(username="aud9").exists()


def test_admin_password_form_enforces_history_and_records_it(client, district, user_factory, sysadmin):
    worker = user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="w1")
    client.force_login(sysadmin)
    url = f"/admin/accounts/user/{worker.pk}/password/"
    assert client.post(url, {"password1": GOOD, "password2": GOOD}).status_code == 302
    worker.refresh_from_db()
    assert worker.check_password(GOOD)
    assert PasswordHistory.objects.filter(user=worker).count() == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.PASSWORD_CHANGE, object_id=str(worker.pk), actor=sysadmin
    ).exists()
    again = client.post(url, {"password1": GOOD, "password2": GOOD})
    assert again.status_code == 200 and "不能使用最近" in again.content.decode()


def test_admin_change_is_audited_with_diff(client, district, user_factory, sysadmin):
    dept = Department.objects.create(code="D1", name="综治办", kind="governance", area=district.district)
    client.force_login(sysadmin)
    response = client.post(
        f"/admin/accounts/department/{dept.pk}/change/",
        {
            "code": "D1",
            "name": "玉泉区综治办",
            "kind": "governance",
            "area": district.district.pk,
            "phone": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="accounts.department")
    assert event.changes == {"name": {"before": "综治办", "after": "玉泉区综治办"}}
    response = client.post(f"/admin/accounts/department/{dept.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    deleted = AuditEvent.objects.get(action=AuditAction.DELETE, object_type="accounts.department")
    assert deleted.changes["name"]["before"] == "玉泉区综治办"


def test_admin_lists_only_users_in_scope(client, district, user_factory):
    street_sys = user_factory(Role.SYSTEM_ADMIN, district.streets[0], username="sys0")
    user_factory(Role.GRID_CHIEF, district.grids[0], username="inside")
    user_factory(Role.GRID_CHIEF, district.grids[-1], username="outside")
    client.force_login(street_sys)
    text = client.get("/admin/accounts/user/").content.decode()
    assert "inside" in text and "outside" not in text
