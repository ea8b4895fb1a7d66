"""The import pages: upload → checked preview (nothing written) → confirm → registered;
errors by row; capability, ownership and double confirmation; template; progress."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.cameras.importing import HEADERS
from civicgrid.cameras.jobs import _key, import_progress
from civicgrid.cameras.models import Camera, CameraImport
from civicgrid.cameras.tests.test_import import cam, center, xlsx
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inline_runner(settings: Any) -> None:
    settings.CAMERAS_IMPORT_RUNNER = "inline"


@pytest.fixture
def admin(district: SampleDistrict) -> User:
    return make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")


@pytest.fixture
def admin_client(client: Client, admin: User) -> Client:
    client.force_login(admin)
    return client


def upload(client: Client, rows: list[dict[str, Any]], name: str = "cameras.xlsx") -> Any:
    file = xlsx(rows)
    file.name = name
    return client.post(reverse("cameras:import"), {"file": file}, follow=True)


def test_preview_then_confirm_registers_the_cameras(admin_client: Client, district: SampleDistrict) -> None:
    rows = [cam(f"CAM-{n}", center(district, n)) for n in range(3)]
    response = upload(admin_client, rows)
    html = response.content.decode()
    job = CameraImport.objects.get()
    assert response.redirect_chain == [(reverse("cameras:import_job", args=[job.pk]), 302)]
    assert job.status == CameraImport.Status.READY and job.total_rows == 3
    assert 'id="import-ready"' in html and html.count('class="preview-row"') == 3
    assert district.grids[2].name in html and 'id="import-commit"' in html
    assert Camera.objects.count() == 0  # the preview writes nothing

    response = admin_client.post(reverse("cameras:import_commit", args=[job.pk]), follow=True)
    html = response.content.decode()
    assert 'id="import-summary"' in html and "已登记 3 个探头" in html
    assert sorted(Camera.objects.values_list("code", flat=True)) == ["CAM-0", "CAM-1", "CAM-2"]
    job.refresh_from_db()
    assert job.status == CameraImport.Status.DONE and job.created_count == 3 and job.finished_at is not None

    again = admin_client.post(reverse("cameras:import_commit", args=[job.pk]))
    assert again.status_code == 409 and "不能再次确认" in again.content.decode()
    assert Camera.objects.count() == 3


def test_errors_are_listed_by_row_and_nothing_can_be_confirmed(admin_client: Client, district: SampleDistrict) -> None:
    rows = [cam("CAM-1", center(district, 0)), cam("CAM-1", (111.70, 40.70))]
    html = upload(admin_client, rows).content.decode()
    job = CameraImport.objects.get()
    assert job.status == CameraImport.Status.INVALID and job.error_count == 2
    assert 'id="import-errors"' in html and 'id="import-commit"' not in html
    assert "与第 2 行的探头编号重复" in html and "不在任何网格内" in html and "<td>3</td>" in html
    response = admin_client.post(reverse("cameras:import_commit", args=[job.pk]))
    assert response.status_code == 409 and Camera.objects.count() == 0


def test_a_code_registered_after_the_preview_fails_the_confirmation(
    admin_client: Client, district: SampleDistrict
) -> None:
    upload(admin_client, [cam("CAM-1", center(district, 0)), cam("CAM-2", center(district, 1))])
    job = CameraImport.objects.get()
    from civicgrid.cameras.services import camera_register

    camera_register(code="CAM-2", name="别人先登记", lon=111.605, lat=40.765)
    html = admin_client.post(reverse("cameras:import_commit", args=[job.pk]), follow=True).content.decode()
    job.refresh_from_db()
    assert job.status == CameraImport.Status.INVALID and "探头编号 CAM-2 已登记" in html
    assert list(Camera.objects.values_list("code", flat=True)) == ["CAM-2"]


def test_file_level_problems_are_shown(admin_client: Client, district: SampleDistrict) -> None:
    csv = io.BytesIO(b"a,b")
    csv.name = "cameras.csv"
    response = admin_client.post(reverse("cameras:import"), {"file": csv})
    assert response.status_code == 400 and ".xlsx" in response.content.decode()
    assert not CameraImport.objects.exists()
    broken = io.BytesIO(b"not a workbook")
    broken.name = "broken.xlsx"
    html = admin_client.post(reverse("cameras:import"), {"file": broken}, follow=True).content.decode()
    assert CameraImport.objects.get().status == CameraImport.Status.INVALID and "无法读取该文件" in html


def test_capability_and_ownership(client: Client, district: SampleDistrict, admin: User) -> None:
    assert client.get(reverse("cameras:import")).status_code == 302  # log in first
    worker = make_user(Role.COMMUNITY_WORKER, district.communities[0], username="worker0")
    client.force_login(worker)
    assert client.get(reverse("cameras:import")).status_code == 403
    assert client.get(reverse("cameras:import_template")).status_code == 403

    owner = Client()
    owner.force_login(admin)
    upload(owner, [cam("CAM-1", center(district, 0))])
    job = CameraImport.objects.get()
    other = make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin-b")
    client.force_login(other)
    assert client.get(reverse("cameras:import_job", args=[job.pk])).status_code == 404
    assert client.post(reverse("cameras:import_commit", args=[job.pk])).status_code == 404
    assert client.get(reverse("cameras:import_commit", args=[job.pk])).status_code == 405
    assert Camera.objects.count() == 0


def test_template_download(admin_client: Client) -> None:
    response = admin_client.get(reverse("cameras:import_template"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    assert [c.value for c in workbook["探头"][1]] == HEADERS


def test_polling_fragment_and_progress(admin_client: Client, district: SampleDistrict) -> None:
    upload(admin_client, [cam("CAM-1", center(district, 0))])
    job = CameraImport.objects.get()
    partial = admin_client.get(reverse("cameras:import_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="ready"' in partial and "hx-trigger" not in partial and 'id="recent-imports"' in partial

    CameraImport.objects.filter(pk=job.pk).update(status=CameraImport.Status.WRITING)
    job.refresh_from_db()
    assert import_progress(job)["percent"] == 0
    cache.set(_key(job.pk), {"phase": "validate", "done": 50, "total": 100})
    assert import_progress(job)["percent"] == 25
    cache.set(_key(job.pk), {"phase": "write", "done": 50, "total": 100})
    assert import_progress(job)["percent"] == 75
    partial = admin_client.get(reverse("cameras:import_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "75%" in partial
    CameraImport.objects.filter(pk=job.pk).update(status=CameraImport.Status.VALIDATING)
    job.refresh_from_db()
    assert import_progress(job)["percent"] == 50
    cache.delete(_key(job.pk))


def test_preview_is_paginated(admin_client: Client, district: SampleDistrict) -> None:
    rows = [cam(f"CAM-{n:03d}", center(district, n % 8)) for n in range(60)]
    html = upload(admin_client, rows).content.decode()
    assert html.count('class="preview-row"') == 50 and 'id="next-page"' in html
    job = CameraImport.objects.get()
    second = admin_client.get(reverse("cameras:import_job", args=[job.pk]) + "?page=2").content.decode()
    assert second.count('class="preview-row"') == 10


def test_admin_camera_list_links_to_the_import(admin_client: Client) -> None:
    html = admin_client.get("/admin/cameras/camera/").content.decode()
    assert reverse("cameras:import") in html
