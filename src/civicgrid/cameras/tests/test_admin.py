"""Admin: a camera's grid comes from its coordinates (scoped, audited); rules are checked."""

from __future__ import annotations

import pytest
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.cameras.models import AlertRule, Camera
from civicgrid.cameras.tests.conftest import Cams
from civicgrid.cases.models import Category
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


def sysadmin_client(cams: Cams) -> Client:
    client = Client()
    client.force_login(make_user(Role.SYSTEM_ADMIN, cams.world.d.district, username="sys"))
    return client


def test_camera_add_locates_the_grid_and_audits(cams: Cams) -> None:
    client = sysadmin_client(cams)
    lon, lat = cams.world.point(cams.world.d.grids[3])
    data = {
        "code": "CAM-A1",
        "name": "新探头",
        "kind": "dome",
        "lon": lon,
        "lat": lat,
        "address": "",
        "status": "offline",
    }
    response = client.post("/admin/cameras/camera/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    camera = Camera.objects.get(code="CAM-A1")
    assert camera.grid_id == cams.world.d.grids[3].pk and camera.area_code == cams.world.d.grids[3].code
    assert AuditEvent.objects.filter(object_type="cameras.camera", object_id=str(camera.pk), action="create").exists()


def test_camera_outside_every_grid_is_refused(cams: Cams) -> None:
    client = sysadmin_client(cams)
    data = {"code": "CAM-A2", "name": "x", "kind": "dome", "lon": 10, "lat": 10, "address": "", "status": "offline"}
    response = client.post("/admin/cameras/camera/add/", data)
    assert response.status_code == 200 and "不在任何网格内" in response.content.decode()
    assert not Camera.objects.filter(code="CAM-A2").exists()


def test_rule_that_makes_cases_needs_a_category(cams: Cams) -> None:
    client = sysadmin_client(cams)
    data = {"event_type": "crowd", "label": "人员聚集", "makes_case": "on", "priority": "", "suppression_minutes": 30}
    response = client.post("/admin/cameras/alertrule/add/", {**data, "is_active": "on"})
    assert response.status_code == 200 and "必须指定案件类别" in response.content.decode()
    category = Category.objects.get(code="ZA01")
    response = client.post("/admin/cameras/alertrule/add/", {**data, "is_active": "on", "category": category.pk})
    assert response.status_code == 302
    assert AlertRule.objects.get(event_type="crowd").category_id == category.pk


def test_other_roles_cannot_edit_cameras(cams: Cams) -> None:
    client = Client()
    client.force_login(cams.world.worker)
    assert client.get("/admin/cameras/camera/").status_code in (302, 403)
