import pytest

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department
from civicgrid.audit.diff import MASK, model_diff, snapshot

pytestmark = pytest.mark.django_db


def test_diff_lists_changed_fields_only(district):
    dept = Department.objects.create(code="D1", name="派出所", kind="police", area=district.district)
    before = snapshot(dept)
    dept.name = "清泉街派出所"
    dept.save()
    assert model_diff(before, dept) == {"name": {"before": "派出所", "after": "清泉街派出所"}}


def test_secret_fields_are_masked_and_never_included():
    before = {"name_cipher": "AAAA", "id_digest": "d1", "name_masked": "张*", "password": "argon2$x"}
    after = {"name_cipher": "BBBB", "id_digest": "d2", "name_masked": "李*", "password": "argon2$y"}
    diff = model_diff(before, after)
    assert diff["name_cipher"] == {"before": MASK, "after": MASK}
    assert diff["id_digest"] == {"before": MASK, "after": MASK}
    assert diff["password"] == {"before": MASK, "after": MASK}
    assert diff["name_masked"] == {"before": "张*", "after": "李*"}
    assert "AAAA" not in str(diff) and "d2" not in str(diff) and "argon2" not in str(diff)


def test_creation_and_deletion_and_exclude(district, user_factory):
    user = user_factory(Role.COMMUNITY_WORKER, district.communities[0], display_name="王五")
    created = model_diff(None, user, exclude=["date_joined"])
    assert created["display_name"] == {"before": None, "after": "王五"}
    assert created["area"]["after"] == district.communities[0].pk
    assert created["password"] == {"before": None, "after": MASK}
    assert "date_joined" not in created
    deleted = model_diff(user, None)
    assert deleted["username"]["after"] is None
    assert model_diff(user, user) == {}
