"""Pages: search (masked, scoped, no N+1), detail, reveal over htmx, forms, import, export."""

import io

import pytest
from django.test import override_settings
from django.urls import reverse
from openpyxl import load_workbook

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.people.models import ImportJob, Person
from civicgrid.people.services import PersonRow, person_bulk_create
from civicgrid.people.tests.conftest import make_number
from civicgrid.people.tests.test_import_export import row, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_client(client, worker):
    client.force_login(worker)
    return client


def test_search_shows_masked_values_only(worker_client, residents):
    response = worker_client.post(reverse("people:search"), {"id_number": make_number(11)})
    html = response.content.decode()
    assert response.status_code == 200
    assert "张三" in html and "张小四" not in html
    assert make_number(11) not in html
    assert make_number(11)[:6] + "********" + make_number(11)[-4:] in html
    assert "13800138000" not in html and "138****8000" in html


def test_search_is_scoped(worker_client, residents):
    html = worker_client.get(reverse("people:search")).content.decode()
    assert "张三" in html and "张小四" in html and "李五" not in html
    html = worker_client.post(reverse("people:search"), {"id_number": make_number(13)}).content.decode()
    assert "李五" not in html and 'id="people-empty"' in html


def test_search_query_count_does_not_grow(worker_client, district, django_assert_max_num_queries):
    person_bulk_create(
        rows=[
            PersonRow(
                name=f"居民{i}",
                id_number=make_number(100 + i),
                grid=district.grids[i % 2],
                tags=("elderly", "unemployed"),
            )
            for i in range(60)
        ]
    )
    with django_assert_max_num_queries(12):
        response = worker_client.get(reverse("people:search"))
    assert response.status_code == 200
    assert response.content.decode().count('class="person-link"') == 50


def test_search_requires_capability(client, district, user_factory):
    client.force_login(user_factory(Role.ROAD_CHIEF, district.district))
    assert client.get(reverse("people:search")).status_code == 403
    client.logout()
    assert client.get(reverse("people:search")).status_code == 302


def test_detail_is_masked_and_out_of_scope_is_404(worker_client, residents):
    response = worker_client.get(reverse("people:detail", args=[residents[0].pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert make_number(11) not in html and "兴隆巷街道清泉街社区****" in html
    assert 'id="reveal-id_number"' in html and "第1网格" in html
    assert worker_client.get(reverse("people:detail", args=[residents[2].pk])).status_code == 404
    assert worker_client.post(reverse("people:reveal", args=[residents[2].pk, "phone"])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_reveal_over_htmx(worker_client, residents):
    url = reverse("people:reveal", args=[residents[0].pk, "id_number"])
    assert worker_client.get(url).status_code == 405
    response = worker_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert make_number(11) in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL, object_id=str(residents[0].pk)).count() == 1


def test_reveal_forbidden_for_read_only_role(client, district, user_factory, residents):
    client.force_login(user_factory(Role.LEADER, district.district))
    assert client.post(reverse("people:reveal", args=[residents[0].pk, "phone"])).status_code == 403
    html = client.get(reverse("people:detail", args=[residents[0].pk])).content.decode()
    assert "reveal-phone" not in html


def test_create_form_shows_chinese_field_errors(worker_client, district):
    number = make_number(90)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = worker_client.post(
        reverse("people:create"),
        {
            "name": "赵六",
            "id_number": wrong,
            "phone": "123",
            "grid": district.grids[0].pk,
            "political_status": "masses",
            "residence_type": "registered",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert f"身份证号校验位错误: 应为 {number[17]}" in html
    assert "电话号码格式不正确" in html
    assert not Person.objects.exists()
    response = worker_client.post(
        reverse("people:create"),
        {
            "name": "赵六",
            "id_number": number,
            "phone": "13812345678",
            "grid": district.grids[0].pk,
            "political_status": "masses",
            "residence_type": "registered",
            "tags": ["disabled"],
            "disability_category": "visual",
            "disability_level": "1",
        },
    )
    person = Person.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("people:detail", args=[person.pk])
    assert person.tags.get().disability_category == "visual"


def test_edit_keeps_protected_fields_when_left_empty(worker_client, residents, district):
    person = residents[0]
    cipher = person.id_number_cipher
    response = worker_client.post(
        reverse("people:edit", args=[person.pk]),
        {
            "name": "张三丰",
            "grid": district.grids[0].pk,
            "political_status": "masses",
            "residence_type": "registered",
            "tags": ["elderly"],
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.name == "张三丰" and person.id_number_cipher == cipher and person.phone_masked == "138****8000"
    event = AuditEvent.objects.get(action=AuditAction.UPDATE)
    assert set(event.changes) == {"name"}


def test_edit_out_of_scope_is_404(worker_client, residents):
    assert worker_client.get(reverse("people:edit", args=[residents[2].pk])).status_code == 404


@override_settings(PEOPLE_IMPORT_RUNNER="inline")
def test_import_page_reports_errors_then_imports(worker_client, district):
    bad = xlsx([row(district.grids[0].code, 1, 电话="1")])
    bad.name = "bad.xlsx"
    response = worker_client.post(reverse("people:import"), {"file": bad}, follow=True)
    html = response.content.decode()
    assert 'id="import-errors"' in html and "电话号码格式不正确" in html and "<td>2</td>" in html
    assert ImportJob.objects.get().status == ImportJob.Status.INVALID
    good = xlsx([row(district.grids[0].code, n) for n in range(3)])
    good.name = "good.xlsx"
    response = worker_client.post(reverse("people:import"), {"file": good}, follow=True)
    html = response.content.decode()
    assert 'id="import-summary"' in html and Person.objects.count() == 3
    job = ImportJob.objects.order_by("-id")[0]
    partial = worker_client.get(reverse("people:import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert 'data-status="done"' in partial.content.decode() and "hx-trigger" not in partial.content.decode()


def test_import_rejects_non_xlsx(worker_client):
    upload = io.BytesIO(b"a,b")
    upload.name = "people.csv"
    response = worker_client.post(reverse("people:import"), {"file": upload})
    assert response.status_code == 400 and ".xlsx" in response.content.decode()


def test_import_template_download(worker_client):
    response = worker_client.get(reverse("people:import_template"))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert wb["居民"]["A1"].value == "姓名"


def test_export_download_is_masked(worker_client, residents):
    response = worker_client.get(reverse("people:export"))
    data = b"".join(response.streaming_content)
    rows = list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3
    assert make_number(11) not in str(rows)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1
