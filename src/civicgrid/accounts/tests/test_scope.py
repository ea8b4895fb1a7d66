import pytest

from civicgrid.accounts.enums import Role
from civicgrid.accounts.scope import scope_queryset
from civicgrid.territory.models import Area

pytestmark = pytest.mark.django_db


def test_community_worker_sees_only_own_community(district, user_factory):
    community = district.communities[0]
    worker = user_factory(Role.COMMUNITY_WORKER, community)
    visible = set(scope_queryset(worker, Area.objects.all(), "code").values_list("code", flat=True))
    assert community.code in visible
    assert {g.code for g in district.grids if g.parent_id == community.pk} <= visible
    assert district.communities[1].code not in visible
    assert district.district.code not in visible


def test_unbound_non_superuser_sees_nothing(district, user_factory):
    user = user_factory(Role.LEADER, None)
    assert not scope_queryset(user, Area.objects.all(), "code").exists()
