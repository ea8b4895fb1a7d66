import csv
import datetime
import io

import pytest
import time_machine
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(district, user_factory):
    return user_factory(Role.AUDIT_ADMIN, district.district, username="auditor")


@pytest.fixture
def trail(db):
    for i in range(60):
        audit_record(
            action=AuditAction.UPDATE,
            object_type="people.person",
            object_id=str(i),
            actor_label="w1",
            ip_address="10.0.0.1",
            changes={"phone_masked": {"before": "138****0000", "after": f"139****{i:04d}"}},
        )
    for _ in range(5):
        audit_record(action=AuditAction.EXPORT, object_type="people.person", actor_label="w2", ip_address="10.0.0.2")
    audit_record(
        action=AuditAction.DELETE,
        object_type="territory.compound",
        object_id="77",
        actor_label="=cmd|' /C calc'!A0",
        ip_address="10.0.0.3",
    )


def test_page_newest_first_paginated_with_diffs(client, auditor, trail):
    client.force_login(auditor)
    response = client.get("/audit/")
    assert response.status_code == 200
    text = response.content.decode()
    rows = response.context["rows"]
    assert len(rows) == 50
    ids = [event.pk for event, _ in rows]
    assert (
        ids == sorted(ids, reverse=True)
        and ids[0] == AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    )
    assert "139****0059" in text and "→" in text
    second = client.get("/audit/?page=2")
    assert second.context["page"].number == 2
    assert {e.pk for e, _ in second.context["rows"]}.isdisjoint(ids)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "export"}, 5),
        ({"actor": "w1"}, 60),
        ({"object_type": "territory.compound", "object_id": "77"}, 1),
        ({"object_type": "people.person", "object_id": "7"}, 1),
        ({"ip_address": "10.0.0.2"}, 5),
        ({"action": "update", "actor": "w2"}, 0),
    ],
)
def test_filters(client, auditor, trail, query, expected):
    client.force_login(auditor)
    response = client.get("/audit/", query)
    assert response.context["page"].paginator.count == expected


def test_time_range_filter(client, auditor, db):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=10), tick=False):
        audit_record(action=AuditAction.UPDATE, object_type="old.thing")
    client.force_login(auditor)
    since = timezone.localtime(now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.get("/audit/", {"occurred_from": since, "object_type": "old.thing"})
    assert response.context["page"].paginator.count == 0
    until = timezone.localtime(now - datetime.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.get("/audit/", {"occurred_to": until})
    assert response.context["page"].paginator.count == 1


def test_bad_filter_value_shows_error_not_crash(client, auditor, trail):
    client.force_login(auditor)
    response = client.get("/audit/", {"ip_address": "not-an-ip"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    assert "errorlist" in response.content.decode()


def test_page_query_count_is_flat(client, auditor, trail, django_assert_max_num_queries):
    client.force_login(auditor)
    client.get("/audit/")
    with django_assert_max_num_queries(8):
        response = client.get("/audit/")
    assert len(response.context["rows"]) == 50


def test_csv_export_is_streamed_filtered_and_audited(client, auditor, trail):
    client.force_login(auditor)
    response = client.get("/audit/export.csv", {"action": "delete"})
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "id" and len(rows) == 2
    # Formula injection is neutralised.
    assert rows[1][2].startswith("'=")
    export = AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="audit.auditevent").get()
    assert export.actor_id == auditor.pk and export.changes == {"filters": {"action": "delete"}}


def test_api_lists_filters_and_paginates(client, auditor, trail):
    client.force_login(auditor)
    response = client.get("/api/audit/events", {"action": "export"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and len(body["items"]) == 5
    assert body["items"][0]["id"] > body["items"][-1]["id"]
    page2 = client.get("/api/audit/events", {"page": 2}).json()
    assert len(page2["items"]) == AuditEvent.objects.count() - 50


def test_api_rejects_bad_filters_with_400(client, auditor, trail):
    client.force_login(auditor)
    response = client.get("/api/audit/events", {"ip_address": "999.1.1.1"})
    assert response.status_code == 400
    assert "ip_address" in response.json()["error"]["fields"]


def test_api_requires_audit_role(client, district, user_factory, trail):
    assert client.get("/api/audit/events").status_code == 401
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.LEADER, Role.COMMUNITY_WORKER):
        client.force_login(user_factory(role, district.district))
        assert client.get("/api/audit/events").status_code == 403
        assert client.get("/audit/").status_code == 403


def test_page_requires_login(client, db):
    response = client.get("/audit/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_diff_rows_use_field_verbose_names(client, auditor, district):
    from civicgrid.accounts.models import Department

    dept = Department.objects.create(code="D1", name="综治办", kind="governance", area=district.district)
    audit_record(
        action=AuditAction.UPDATE,
        obj=dept,
        changes={"name": {"before": "综治办", "after": "区综治办"}, "not_a_field": {"before": 1, "after": 2}},
    )
    client.force_login(auditor)
    rows = client.get("/audit/", {"object_type": "accounts.department"}).context["rows"]
    labels = [name for name, _, _ in rows[0][1]]
    assert labels == ["名称", "not_a_field"]
