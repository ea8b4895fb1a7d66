"""Admin: patrol policies (validated, scoped, audited); patrols read-only with review actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.patrols.enums import ReviewStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy
from civicgrid.patrols.tests.conftest import PatrolWorld, make_patrol
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db

ADD = "/admin/patrols/patrolpolicy/add/"


def _form(**values: Any) -> dict[str, Any]:
    return {"area_code": "150104", "times_per_day": "2", "windows": "[]", "coverage_threshold": "0.8", **values}


def test_policies_are_validated_scoped_and_audited(world: PatrolWorld, client: Client) -> None:
    admin_user = make_user(Role.SYSTEM_ADMIN, world.district.district, username="sysadmin", is_staff=True)
    client.force_login(admin_user)
    bad = client.post(
        ADD,
        _form(
            area_code="999", times_per_day="0", coverage_threshold="1.5", windows='[{"start": "16:00", "end": "09:00"}]'
        ),
    )
    html = bad.content.decode()
    assert bad.status_code == 200 and "辖区节点不存在" in html and "每日巡查次数应在 1 到 24 之间" in html
    assert "覆盖率达标线应在 0 到 1 之间" in html and "开始时间应早于结束时间" in html
    assert client.post(ADD, _form(windows='[{"end": "25:00"}]')).status_code == 200
    assert not PatrolPolicy.objects.exists()
    ok = client.post(ADD, _form(windows='[{"end": "10:00"}, {"start": "15:00"}]', times_per_day="3"))
    assert ok.status_code == 302, ok.content.decode()[:2000]
    policy = PatrolPolicy.objects.get()
    assert policy.windows == [{"start": "", "end": "10:00"}, {"start": "15:00", "end": ""}]
    assert AuditEvent.objects.filter(object_type="patrols.patrolpolicy", action="create").count() == 1
    # An administrator bound to a street cannot set a policy for the district.
    street_admin = make_user(Role.SYSTEM_ADMIN, world.district.streets[0], username="sysadmin2", is_staff=True)
    client.force_login(street_admin)
    html = client.post(ADD, _form(area_code="150104")).content.decode()
    assert "该辖区不在您的辖区范围内" in html
    assert client.get("/admin/patrols/patrolpolicy/").content.decode().count("150104</a>") == 0


def test_patrols_are_read_only_and_reviewed_by_action(world: PatrolWorld, client: Client) -> None:
    reviewer = make_user(Role.STREET_ADMIN, world.district.streets[0], username="jd", is_staff=True, is_superuser=True)
    flagged = make_patrol(world.road_chief, "2025-05-06 09:00", flagged=True, coverage=0.9)
    client.force_login(reviewer)
    assert client.get(f"/admin/patrols/patrol/{flagged.pk}/change/").status_code == 200
    r = client.post(
        "/admin/patrols/patrol/", {"action": "approve_selected", "_selected_action": [str(flagged.pk)]}, follow=True
    )
    assert "已核查 1 条" in r.content.decode()
    flagged.refresh_from_db()
    assert flagged.review_status == ReviewStatus.APPROVED and flagged.counts_toward_duty
    assert AuditEvent.objects.filter(object_id=str(flagged.pk), actor=reviewer).exists()
    assert client.post(f"/admin/patrols/patrol/{flagged.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Patrol.objects.filter(pk=flagged.pk).exists()
