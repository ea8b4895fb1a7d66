"""Case pages through the test client: inboxes, the case page and its actions (incl. the
error paths), photos, the map, scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from django.test import Client
from django.urls import reverse

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseEvent, CasePhoto
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act, bring_to
from civicgrid.cases.tests.photo_helpers import jpeg_with_gps, upload
from civicgrid.testing.factories import make_user

CONFLICT = "该案件已被他人更新, 请刷新后重试"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"
    return tmp_path


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def htmx_post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, HTTP_HX_REQUEST="true")


# --- inboxes --------------------------------------------------------------------------------


def test_inbox_requires_login(client: Client, world: World) -> None:
    response = client.get(reverse("cases:inbox"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_inbox_without_case_capability_is_403(client: Client, world: World) -> None:
    login(client, make_user(Role.SECURITY_ADMIN, world.d.district, username="sec"))
    assert client.get(reverse("cases:inbox")).status_code == 403


def test_grid_chief_sees_the_dispatched_case_to_sign_for(client: Client, world: World) -> None:
    case = world.intake()  # hotline: registered and routed to grid 0's chief
    assert case.status == S.DISPATCHED and case.current_handler_id == world.chief.pk
    login(client, world.chief)
    response = client.get(reverse("cases:inbox"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="tab-to_sign_for"' in body and 'id="tab-to_verify"' not in body  # tabs by role
    assert case.tracking_code in body
    assert response.context["box"] == "to_sign_for"
    assert dict((b, n) for b, _label, n in response.context["tabs"])["to_sign_for"] == 1


def test_inbox_tabs_and_unknown_box(client: Client, world: World) -> None:
    login(client, world.operator)
    for box in ("to_sign_for", "mine", "overdue", "to_verify", "to_follow_up", "manual_queue", "to_register"):
        assert client.get(reverse("cases:inbox"), {"box": box}).status_code == 200, box
    assert client.get(reverse("cases:inbox"), {"box": "nope"}).status_code == 404
    login(client, world.chief)
    assert client.get(reverse("cases:inbox"), {"box": "manual_queue"}).status_code == 404  # not the chief's tab


def test_inbox_sorts_by_deadline_and_shows_badges(client: Client, world: World) -> None:
    urgent = world.intake(title="燃气泄漏", priority="urgent")
    normal = world.intake(title="井盖松动", priority="normal")
    Case.objects.filter(pk=urgent.pk).update(acknowledge_due=urgent.received_at.replace(year=2000))
    Case.objects.filter(pk=normal.pk).update(warned_at=normal.received_at)
    login(client, world.chief)
    asc = client.get(reverse("cases:inbox"), {"box": "to_sign_for", "sort": "deadline"})
    assert [c.pk for c in asc.context["page"]] == [urgent.pk, normal.pk]
    desc = client.get(reverse("cases:inbox"), {"box": "to_sign_for", "sort": "-deadline"})
    assert [c.pk for c in desc.context["page"]] == [normal.pk, urgent.pk]
    body = asc.content.decode()
    assert "deadline-overdue" in body and "deadline-warned" in body


def test_inbox_is_paginated(client: Client, world: World) -> None:
    for i in range(27):
        world.intake(title=f"案件{i}", idempotency_key=f"k{i}")
    login(client, world.chief)
    first = client.get(reverse("cases:inbox"), {"box": "to_sign_for"})
    assert len(first.context["page"]) == 25 and 'id="next-page"' in first.content.decode()
    second = client.get(reverse("cases:inbox"), {"box": "to_sign_for", "page": "2"})
    assert len(second.context["page"]) == 2


def _inbox_queries(client: Client, django_assert_max_num_queries: Any, limit: int) -> None:
    with django_assert_max_num_queries(limit):
        assert client.get(reverse("cases:inbox"), {"box": "to_sign_for"}).status_code == 200


def test_inbox_query_count_does_not_grow_with_cases(
    client: Client, world: World, django_assert_num_queries: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, world.operator)
    world.intake(idempotency_key="first")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("cases:inbox"), {"box": "to_sign_for"})
    for i in range(20):
        world.intake(title=f"案件{i}", idempotency_key=f"q{i}", grid=world.d.grids[i % 8])
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("cases:inbox"), {"box": "overdue"})
        response = client.get(reverse("cases:inbox"), {"box": "to_sign_for"})
    assert response.status_code == 200
    assert len(many.captured_queries) // 2 <= len(few.captured_queries) + 1
    _inbox_queries(client, django_assert_max_num_queries, 20)


# --- the case page --------------------------------------------------------------------------


def test_case_page_shows_details_timeline_routing_and_masked_phone(client: Client, world: World) -> None:
    case = world.intake()
    login(client, world.operator)
    response = client.get(reverse("cases:detail", args=[case.pk]) + "?new=1")
    body = response.content.decode()
    assert response.status_code == 200
    assert case.tracking_code in body and "138****8000" in body and "13800138000" not in body
    assert "派遣依据" in body and response.context["routing_reason"]
    assert response.context["routing_reason"] in body
    assert [e.action for e in response.context["events"]] == [A.RECEIVE, A.REGISTER, A.DISPATCH]
    assert case.grid is not None
    assert 'id="case-map"' in body and reverse("territory:geojson", args=[case.grid.code]) in body


def test_case_page_offers_only_the_actions_allowed_now(client: Client, world: World) -> None:
    case = world.intake()
    login(client, world.chief)
    actions = [a["code"] for a in client.get(reverse("cases:detail", args=[case.pk])).context["action_forms"]]
    assert A.ACKNOWLEDGE in actions and A.VERIFY_PASS not in actions and A.DISPATCH not in actions
    login(client, world.leader)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.context["action_forms"] == [] and 'id="no-actions"' in response.content.decode()


def test_case_outside_scope_is_404(client: Client, world: World) -> None:
    case = world.intake()  # grid 0, community 0
    login(client, world.other_worker)  # community 2
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404
    assert htmx_post(client, reverse("cases:act", args=[case.pk]), {"action": A.ACKNOWLEDGE}).status_code == 404


def test_sign_for_handle_report_verify_evaluate_through_the_page(client: Client, world: World) -> None:
    case = world.intake()
    url = reverse("cases:act", args=[case.pk])
    login(client, world.chief)
    response = htmx_post(client, url, {"action": A.ACKNOWLEDGE, "expected_version": case.version})
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("cases:detail", args=[case.pk])
    case.refresh_from_db()
    assert case.status == S.HANDLING and case.acknowledged_at is not None
    response = htmx_post(
        client, url, {"action": A.REPORT_BACK, "expected_version": case.version, "note": "已更换灯泡, 恢复照明"}
    )
    assert response.status_code == 204
    login(client, world.operator)
    case.refresh_from_db()
    response = client.post(url, {"action": A.VERIFY_PASS, "expected_version": case.version, "outcome": "fixed"})
    assert response.status_code == 302  # without htmx: a plain redirect
    case.refresh_from_db()
    assert case.status == S.CLOSED and case.outcome == "fixed"
    htmx_post(
        client, url, {"action": A.EVALUATE, "expected_version": case.version, "satisfaction": "4", "resolved": "yes"}
    )
    case.refresh_from_db()
    assert case.status == S.EVALUATED and case.satisfaction == 4 and case.resolved is True
    events = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert events[-4:] == [A.ACKNOWLEDGE, A.REPORT_BACK, A.VERIFY_PASS, A.EVALUATE]
    assert AuditEvent.objects.filter(object_id=str(case.pk), action="transition").count() >= 6


def test_illegal_action_shows_the_chinese_message_and_changes_nothing(client: Client, world: World) -> None:
    case = world.intake()  # dispatched
    login(client, world.operator)
    before = CaseEvent.objects.count()
    response = htmx_post(
        client, reverse("cases:act", args=[case.pk]), {"action": A.VERIFY_PASS, "expected_version": case.version}
    )
    assert response.status_code == 400
    assert "不能执行“核查结案”" in response.content.decode() and 'id="action-error"' in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.DISPATCHED and CaseEvent.objects.count() == before


def test_conflict_is_409_with_the_message(client: Client, world: World) -> None:
    case = world.intake()
    stale = case.version
    act(world, case, A.ACKNOWLEDGE)  # somebody else signed for it meanwhile
    login(client, world.chief)
    response = htmx_post(
        client, reverse("cases:act", args=[case.pk]), {"action": A.ACKNOWLEDGE, "expected_version": stale}
    )
    assert response.status_code == 409 and CONFLICT in response.content.decode()
    # The fragment shows the current state's actions (report back now), with the new version.
    assert f'value="{stale + 1}"' in response.content.decode()


def test_forbidden_and_missing_reason(client: Client, world: World) -> None:
    case = world.intake()
    url = reverse("cases:act", args=[case.pk])
    login(client, world.worker)  # in scope, but not the case's handler
    response = htmx_post(client, url, {"action": A.ACKNOWLEDGE, "expected_version": case.version})
    assert response.status_code == 403 and "只有当前处置人" in response.content.decode()
    login(client, world.chief)
    response = htmx_post(client, url, {"action": A.RETURN_TO_DISPATCHER, "expected_version": case.version})
    assert response.status_code == 400 and "请填写“退单”的说明" in response.content.decode()
    response = htmx_post(client, url, {"action": A.ACKNOWLEDGE})
    assert response.status_code == 400 and "版本号" in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.DISPATCHED


def test_note_beyond_the_limit_is_refused(client: Client, world: World) -> None:
    case = bring_to(world, S.HANDLING)
    login(client, world.chief)
    response = htmx_post(
        client,
        reverse("cases:act", args=[case.pk]),
        {"action": A.REPORT_BACK, "expected_version": case.version, "note": "长" * 2001},
    )
    assert response.status_code == 400 and "2000" in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.HANDLING


def test_transfer_dispatch_and_merge_forms(client: Client, world: World) -> None:
    case = bring_to(world, S.HANDLING)
    login(client, world.chief)
    response = htmx_post(
        client,
        reverse("cases:act", args=[case.pk]),
        {"action": A.TRANSFER, "expected_version": case.version, "department": world.police.pk, "note": "涉及治安"},
    )
    assert response.status_code == 204
    case.refresh_from_db()
    assert case.status == S.TRANSFER_PENDING and case.current_department_id == world.police.pk

    queued = world.intake(lon=None, lat=None, title="无位置的咨询")  # no location: manual queue
    assert queued.status == S.REGISTERED and queued.in_manual_queue
    login(client, world.operator)
    page = client.get(reverse("cases:detail", args=[queued.pk]))
    assert A.DISPATCH in [a["code"] for a in page.context["action_forms"]]
    response = htmx_post(
        client,
        reverse("cases:act", args=[queued.pk]),
        {"action": A.DISPATCH, "expected_version": queued.version, "target": f"dept:{world.police.pk}"},
    )
    assert response.status_code == 204
    queued.refresh_from_db()
    assert queued.status == S.DISPATCHED and queued.current_department_id == world.police.pk

    dup = world.intake(register=False, title="同一路灯又坏了", idempotency_key="dup")
    target = world.intake(register=False, title="路灯", idempotency_key="target")
    response = htmx_post(
        client,
        reverse("cases:act", args=[dup.pk]),
        {"action": A.MERGE, "expected_version": dup.version, "duplicate_of": target.tracking_code},
    )
    assert response.status_code == 204
    dup.refresh_from_db()
    assert dup.status == S.MERGED and dup.duplicate_of_id == target.pk
    other = world.intake(register=False, idempotency_key="x")
    response = htmx_post(
        client,
        reverse("cases:act", args=[other.pk]),
        {"action": A.MERGE, "expected_version": other.version, "duplicate_of": "ZZZZZZZZZZ"},
    )
    assert response.status_code == 400 and "要合并到的案件不存在" in response.content.decode()


# --- photos on the case page ------------------------------------------------------------------


def test_staff_photo_upload_and_scoped_staff_copy(client: Client, world: World) -> None:
    case = world.intake()
    login(client, world.chief)
    response = client.post(
        reverse("cases:photo_upload", args=[case.pk]), {"kind": "before", "photos": [upload("x.jpg", jpeg_with_gps())]}
    )
    assert response.status_code == 302
    photo = CasePhoto.objects.get(case=case)
    assert photo.kind == "before" and photo.uploaded_by_id == world.chief.pk
    served = client.get(reverse("cases:photo_file", args=[photo.pk]))
    assert served.status_code == 200 and b"".join(cast(Any, served).streaming_content)[:2] == b"\xff\xd8"
    login(client, world.other_worker)
    assert client.get(reverse("cases:photo_file", args=[photo.pk])).status_code == 404


def test_fake_photo_upload_is_refused(client: Client, world: World) -> None:
    case = world.intake()
    login(client, world.chief)
    response = client.post(
        reverse("cases:photo_upload", args=[case.pk]),
        {"kind": "after", "photos": [upload("x.jpg", b"not an image at all")]},
        follow=True,
    )
    assert "不是有效的图片文件" in response.content.decode()
    assert not CasePhoto.objects.filter(case=case).exists()


# --- the map of open cases ----------------------------------------------------------------------


def test_map_page_and_scoped_points(client: Client, world: World) -> None:
    mine = world.intake()
    elsewhere = world.intake(grid=world.d.grids[4], idempotency_key="e")  # street 1
    Case.objects.filter(pk=mine.pk).update(overdue_at=mine.received_at)
    login(client, world.street_admin)  # street 0
    assert client.get(reverse("cases:map")).status_code == 200
    points = client.get(reverse("cases:map_points")).json()["points"]
    assert [p["id"] for p in points] == [mine.pk] and elsewhere.pk not in [p["id"] for p in points]
    assert points[0]["overdue"] is True and points[0]["url"] == reverse("cases:detail", args=[mine.pk])
    login(client, world.operator)
    assert len(client.get(reverse("cases:map_points")).json()["points"]) == 2
    assert [p["id"] for p in client.get(reverse("cases:map_points"), {"overdue": "1"}).json()["points"]] == [mine.pk]
    other_category = mine.category.parent_id or mine.category_id
    assert client.get(reverse("cases:map_points"), {"category": str(other_category)}).json()["points"]
