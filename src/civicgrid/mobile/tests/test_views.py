"""The phone app's pages and endpoints: task groups, scope, actions (conflicts, reasons,
photos, replays), the one-step report (idempotent), the PWA plumbing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.audit.models import AuditEvent
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseEvent, CasePhoto, IntakeRecord
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act, bring_to
from civicgrid.cases.tests.photo_helpers import jpeg_with_gps, upload
from civicgrid.mobile import selectors, views
from civicgrid.patrols import services as patrol_services

JSON = {"Accept": "application/json"}
CONFLICT = "该案件已被他人更新, 请刷新后重试"


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def dispatched_to_chief(w: World, **data: Any) -> Case:
    case = w.intake(**data)
    assert case.status == S.DISPATCHED and case.current_handler_id == w.chief.pk
    return case


# --- 我的任务 ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tasks_are_grouped_and_sorted_by_deadline(client: Client, world: World) -> None:
    later = dispatched_to_chief(world, title="路灯不亮 晚")
    sooner = dispatched_to_chief(world, title="路灯不亮 早")
    assert later.acknowledge_due is not None
    Case.objects.filter(pk=sooner.pk).update(acknowledge_due=later.acknowledge_due - dt.timedelta(hours=1))
    handling = act(world, dispatched_to_chief(world, title="井盖缺失"), A.ACKNOWLEDGE)
    failed = act(world, act(world, bring_to(world, S.HANDLING), A.REPORT_BACK), A.VERIFY_FAIL)
    assert failed.status == S.HANDLING and failed.rehandle_count == 1
    reported = act(world, act(world, dispatched_to_chief(world, title="已反馈"), A.ACKNOWLEDGE), A.REPORT_BACK)
    elsewhere = world.intake(grid=world.d.grids[3], title="别处的案件")

    ids = {
        key: list(selectors.task_group(world.chief, key).values_list("pk", flat=True)) for key in selectors.GROUP_KEYS
    }
    assert ids["sign"] == [sooner.pk, later.pk]
    assert ids["handle"] == [handling.pk]
    assert ids["redo"] == [failed.pk]
    everything = {pk for pks in ids.values() for pk in pks}
    assert reported.pk not in everything and elsewhere.pk not in everything

    response = login(client, world.chief).get("/m/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("路灯不亮 早") < html.index("路灯不亮 晚")
    assert 'id="group-redo"' in html and "发回重办" in html and "待签收" in html and "处置中" in html
    assert response["X-CivicGrid-User"] == str(world.chief.pk)
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_reopened_case_is_rehandling_and_overdue_is_highlighted(client: Client, world: World) -> None:
    closed = bring_to(world, S.CLOSED)
    reopened = act(world, closed, A.REOPEN)
    assert reopened.status == S.DISPATCHED and reopened.current_handler_id == world.chief.pk
    assert list(selectors.task_group(world.chief, "redo")) == [reopened]
    assert reopened not in selectors.task_group(world.chief, "sign")
    late = dispatched_to_chief(world, title="超期的案件")
    Case.objects.filter(pk=late.pk).update(acknowledge_due=timezone.now() - dt.timedelta(minutes=5))
    html = login(client, world.chief).get("/m/").content.decode()
    item = html[html.index(f'data-case="{late.pk}"') - 40 : html.index(f'data-case="{late.pk}"')]
    assert "overdue" in item
    assert "已超期" in html


@pytest.mark.django_db
def test_a_group_page_is_paginated(client: Client, world: World) -> None:
    for i in range(views.PAGE_SIZE + 2):
        dispatched_to_chief(world, title=f"案件{i:02d}")
    login(client, world.chief)
    html = client.get("/m/").content.decode()
    assert "查看全部 22 件" in html
    second = client.get("/m/?group=sign&page=2").content.decode()
    assert second.count('<li class="m-task') == 2 and "2 / 2" in second
    assert client.get("/m/?group=nope").status_code == 404


@pytest.mark.django_db
def test_task_list_query_count_does_not_grow(client: Client, world: World, django_assert_max_num_queries: Any) -> None:
    for _ in range(3):
        act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
        dispatched_to_chief(world)
    login(client, world.chief)
    client.get("/m/")
    with django_assert_max_num_queries(16) as few:
        client.get("/m/")
    for _ in range(12):
        act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
        dispatched_to_chief(world)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/m/").status_code == 200


# --- the task page and its actions ----------------------------------------------------------


@pytest.mark.django_db
def test_task_page_shows_only_the_actions_allowed_now(client: Client, world: World) -> None:
    case = dispatched_to_chief(world)
    html = login(client, world.chief).get(f"/m/tasks/{case.pk}/").content.decode()
    assert 'id="act-acknowledge"' in html and 'id="act-return_to_dispatcher"' in html
    # 反馈 and 处置记录 come only after 签收: rendered hidden, for the offline queue to show
    # once 签收 waits in it (the status they need and the one each action leads to).
    assert 'data-action="acknowledge" data-when="dispatched" data-to="handling">' in html
    assert 'data-action="report_back" data-when="handling" data-to="reported" data-later="1" hidden>' in html
    assert 'data-action="record" data-when="handling" data-to="" data-later="1" hidden>' in html
    assert 'id="no-actions" hidden' in html
    assert f'name="expected_version" value="{case.version}"' in html
    handling = act(world, case, A.ACKNOWLEDGE)
    html = client.get(f"/m/tasks/{case.pk}/").content.decode()
    for code in ("record", "report_back", "request_extension", "return_to_dispatcher"):
        assert f'id="act-{code}"' in html and f'data-action="{code}" data-when="handling"' in html
    assert 'id="act-acknowledge"' not in html and "data-later" not in html
    assert 'capture="environment"' in html
    assert handling.status == S.HANDLING


@pytest.mark.django_db
def test_a_department_handler_accepts_a_transfer_on_the_phone(client: Client, world: World) -> None:
    case = act(world, act(world, dispatched_to_chief(world), A.ACKNOWLEDGE), A.TRANSFER)
    assert case.status == S.TRANSFER_PENDING
    login(client, world.officer)
    assert case in selectors.task_group(world.officer, "sign")
    html = client.get(f"/m/tasks/{case.pk}/").content.decode()
    assert 'id="act-accept_transfer"' in html and 'id="act-refuse_transfer"' in html
    assert 'data-action="report_back" data-when="handling" data-to="reported" data-later="1" hidden>' in html
    other = login(Client(), world.worker).get(f"/m/tasks/{case.pk}/")
    assert other.status_code in (403, 404) or "data-action" not in other.content.decode()
    refused = client.post(
        f"/m/tasks/{case.pk}/act/", {"action": "refuse_transfer", "expected_version": case.version}, headers=JSON
    )
    assert refused.status_code == 400 and "note" in refused.json()["error"]["fields"]
    response = client.post(
        f"/m/tasks/{case.pk}/act/", {"action": "accept_transfer", "expected_version": case.version}, headers=JSON
    )
    assert response.status_code == 200 and response.json()["case"]["status"] == S.HANDLING


@pytest.mark.django_db
def test_another_workers_case_is_404(client: Client, world: World) -> None:
    from civicgrid.accounts.enums import Role
    from civicgrid.territory.models import Duty, Responsibility
    from civicgrid.testing.factories import make_user

    other_chief = make_user(Role.GRID_CHIEF, world.d.grids[3], username="chief3")
    Responsibility.objects.create(user=other_chief, duty=Duty.GRID_CHIEF, area=world.d.grids[3])
    theirs = world.intake(grid=world.d.grids[3])
    assert theirs.current_handler_id == other_chief.pk
    assert theirs not in selectors.task_group(world.chief, "sign")
    login(client, world.chief)
    assert client.get(f"/m/tasks/{theirs.pk}/").status_code == 404
    response = client.post(
        f"/m/tasks/{theirs.pk}/act/", {"action": "acknowledge", "expected_version": theirs.version}, headers=JSON
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == S.DISPATCHED


@pytest.mark.django_db
def test_a_visible_case_held_by_someone_else_cannot_be_acted_on(client: Client, world: World) -> None:
    case = dispatched_to_chief(world)
    # The community worker sees the case (territory) but is not its handler.
    response = login(client, world.worker).post(
        f"/m/tasks/{case.pk}/act/", {"action": "acknowledge", "expected_version": case.version}, headers=JSON
    )
    assert response.status_code == 403
    assert "处置人" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_acknowledge_by_form_and_by_json(client: Client, world: World) -> None:
    login(client, world.chief)
    case = dispatched_to_chief(world)
    response = client.post(f"/m/tasks/{case.pk}/act/", {"action": "acknowledge", "expected_version": case.version})
    assert response.status_code == 302 and response["Location"] == f"/m/tasks/{case.pk}/"
    case.refresh_from_db()
    assert case.status == S.HANDLING and case.current_handler_id == world.chief.pk
    other = dispatched_to_chief(world)
    response = client.post(
        f"/m/tasks/{other.pk}/act/", {"action": "acknowledge", "expected_version": other.version}, headers=JSON
    )
    body = response.json()
    assert response.status_code == 200
    assert body["case"]["status"] == S.HANDLING and body["case"]["version"] == other.version + 1
    assert "签收" in body["message"] and body["replayed"] is False


@pytest.mark.django_db
def test_a_stale_version_is_a_409_and_writes_nothing(client: Client, world: World) -> None:
    case = act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
    seen = case.version
    act(world, case, A.REQUEST_EXTENSION)  # the case moves on meanwhile
    events = CaseEvent.objects.filter(case=case).count()
    response = login(client, world.chief).post(
        f"/m/tasks/{case.pk}/act/",
        {
            "action": "report_back",
            "expected_version": seen,
            "note": "已处理",
            "photos": upload("a.jpg", jpeg_with_gps()),
        },
        headers=JSON,
    )
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "conflict", "message": CONFLICT, "fields": {}}
    # Where the case stands now, so the phone's queue can offer to retry on it.
    assert response.json()["case"] == {
        "id": case.pk,
        "status": S.HANDLING,
        "status_label": "处置中",
        "version": seen + 1,
    }
    case.refresh_from_db()
    assert case.status == S.HANDLING and CaseEvent.objects.filter(case=case).count() == events
    assert not CasePhoto.objects.filter(case=case).exists()
    # Without JSON the page says the same.
    response = client.post(f"/m/tasks/{case.pk}/act/", {"action": "report_back", "expected_version": seen, "note": "x"})
    assert response.status_code == 302
    assert CONFLICT in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "data", "field", "message"),
    [
        ("return_to_dispatcher", {}, "note", "请填写原因"),
        ("report_back", {}, "note", "请填写处置情况"),
        ("request_extension", {"note": "等配件"}, "hours", "请选择延期时长"),
        ("request_extension", {"note": "等配件", "hours": "999"}, "hours", "延期时长应为1到"),
        ("verify_pass", {}, "action", "手机端不支持该操作"),
    ],
)
def test_reasons_and_inputs_are_required(
    client: Client, world: World, action: str, data: dict[str, str], field: str, message: str
) -> None:
    case = act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
    seen = case.version
    response = login(client, world.chief).post(
        f"/m/tasks/{case.pk}/act/", {"action": action, "expected_version": seen, **data}, headers=JSON
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error["message"] and field in error["fields"]
    case.refresh_from_db()
    assert case.version == seen and case.status == S.HANDLING


@pytest.mark.django_db
def test_extension_and_return_with_reasons(client: Client, world: World) -> None:
    login(client, world.chief)
    case = act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
    due = case.handle_due
    response = client.post(
        f"/m/tasks/{case.pk}/act/",
        {"action": "request_extension", "expected_version": case.version, "hours": "24", "note": "等待配件"},
        headers=JSON,
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert due is not None and case.handle_due == due + dt.timedelta(hours=24) and case.extension_count == 1
    response = client.post(
        f"/m/tasks/{case.pk}/act/",
        {"action": "return_to_dispatcher", "expected_version": case.version, "note": "不属于本网格"},
        headers=JSON,
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == S.REGISTERED and case.in_manual_queue
    assert case.events.order_by("-id").first().note == "不属于本网格"  # type: ignore[union-attr]


@pytest.mark.django_db
def test_handling_record_with_a_before_photo_then_report_back_with_an_after_photo(client: Client, world: World) -> None:
    login(client, world.chief)
    case = act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
    version = case.version
    response = client.post(
        f"/m/tasks/{case.pk}/act/",
        {
            "action": "record",
            "expected_version": version,
            "note": "到场查看, 灯泡损坏",
            "photo_kind": "before",
            "photos": upload("before.jpg", jpeg_with_gps()),
            "client_id": "rec-0001-abcd",
        },
        headers=JSON,
    )
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.version == version and case.status == S.HANDLING  # a note never makes a form stale
    record = CaseEvent.objects.filter(case=case, action=A.COMMENT).get()
    before = CasePhoto.objects.get(case=case)
    assert before.kind == "before" and record.note == "到场查看, 灯泡损坏" and not record.is_transition
    assert record.data == {"client_id": "rec-0001-abcd", "photos": [before.pk], "version": version}
    assert AuditEvent.objects.filter(object_id=str(case.pk), message__startswith="comment").exists()

    response = client.post(
        f"/m/tasks/{case.pk}/act/",
        {
            "action": "report_back",
            "expected_version": version,
            "note": "已更换灯泡",
            "photos": upload("after.jpg", jpeg_with_gps()),
        },
        headers=JSON,
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == S.REPORTED
    after = CasePhoto.objects.get(case=case, kind="after")
    event = case.events.order_by("-id").first()
    assert event is not None and event.action == A.REPORT_BACK and event.data["photos"] == [after.pk]


@pytest.mark.django_db
def test_photos_only_where_they_belong(client: Client, world: World) -> None:
    login(client, world.chief)
    case = dispatched_to_chief(world)
    response = client.post(
        f"/m/tasks/{case.pk}/act/",
        {"action": "acknowledge", "expected_version": case.version, "photos": upload("a.jpg", jpeg_with_gps())},
        headers=JSON,
    )
    assert response.status_code == 400 and "不能附带照片" in response.json()["error"]["message"]
    case = act(world, case, A.ACKNOWLEDGE)
    response = client.post(
        f"/m/tasks/{case.pk}/act/",
        {"action": "record", "expected_version": case.version, "photos": upload("x.jpg", b"not an image")},
        headers=JSON,
    )
    assert response.status_code == 400 and "不是有效的图片文件" in response.json()["error"]["message"]
    response = client.post(
        f"/m/tasks/{case.pk}/act/", {"action": "record", "expected_version": case.version}, headers=JSON
    )
    assert response.status_code == 400 and "请填写处置情况或上传照片" in response.json()["error"]["message"]
    assert not CasePhoto.objects.exists() and not CaseEvent.objects.filter(action=A.COMMENT).exists()


@pytest.mark.django_db
def test_a_replayed_action_is_applied_once(client: Client, world: World) -> None:
    """The phone lost the answer and sends the queued action again: same client id, same
    (now stale) version → the first result, not a conflict and not a second event."""
    login(client, world.chief)
    case = dispatched_to_chief(world)
    data = {"action": "acknowledge", "expected_version": case.version, "client_id": "q-12345678"}
    first = client.post(f"/m/tasks/{case.pk}/act/", data, headers=JSON)
    again = client.post(f"/m/tasks/{case.pk}/act/", data, headers=JSON)
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True and "未重复执行" in again.json()["message"]
    assert CaseEvent.objects.filter(case=case, action=A.ACKNOWLEDGE).count() == 1
    bad = client.post(f"/m/tasks/{case.pk}/act/", {**data, "client_id": "no spaces!"}, headers=JSON)
    assert bad.status_code == 400 and "client_id" in bad.json()["error"]["fields"]


@pytest.mark.django_db
def test_the_idempotency_key_header_chains_actions_and_replays_answer_as_the_first(
    client: Client, world: World
) -> None:
    """The offline queue sends 签收 then 反馈 with a key each, the second on the version the
    first answered; replays of either (lost answers) answer what the first submission did,
    even after the case moved on, and never act twice."""
    login(client, world.chief)
    case = dispatched_to_chief(world)
    url = f"/m/tasks/{case.pk}/act/"
    ack = {"action": "acknowledge", "expected_version": case.version}
    first = client.post(url, ack, headers={**JSON, "Idempotency-Key": "key-ack-0001"})
    assert first.status_code == 200 and first.json()["replayed"] is False
    after_ack = first.json()["case"]
    assert after_ack == {"id": case.pk, "status": S.HANDLING, "status_label": "处置中", "version": case.version + 1}
    back = {"action": "report_back", "expected_version": after_ack["version"], "note": "已修复"}
    second = client.post(url, back, headers={**JSON, "Idempotency-Key": "key-back-0002"})
    assert second.status_code == 200 and second.json()["case"]["status"] == S.REPORTED

    again = client.post(url, ack, headers={**JSON, "Idempotency-Key": "key-ack-0001"})
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["case"] == after_ack  # what the first answered, not "reported" now
    assert (
        client.post(url, back, headers={**JSON, "Idempotency-Key": "key-back-0002"}).json()["case"]
        == (second.json()["case"])
    )
    assert CaseEvent.objects.filter(case=case, action=A.ACKNOWLEDGE).count() == 1
    assert CaseEvent.objects.filter(case=case, action=A.REPORT_BACK).count() == 1
    events = CaseEvent.objects.filter(case=case).count()

    # A key used for another action, or a header and a field that disagree: 400, nothing written.
    reused = client.post(url, back, headers={**JSON, "Idempotency-Key": "key-ack-0001"})
    assert reused.status_code == 400 and "client_id" in reused.json()["error"]["fields"]
    mixed = client.post(url, {**ack, "client_id": "key-other-03"}, headers={**JSON, "Idempotency-Key": "key-ack-0001"})
    assert mixed.status_code == 400 and "client_id" in mixed.json()["error"]["fields"]
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.django_db
def test_a_replay_racing_the_first_submission_is_applied_once(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions of one action at once: the second saw no event before the first was
    committed; under the row lock it sees it and answers as the first did, for a transition
    (version bumped) and for a handling record (version not bumped, so no conflict to hide behind)."""
    from civicgrid.mobile import services as mobile_services

    login(client, world.chief)
    case = act(world, dispatched_to_chief(world), A.ACKNOWLEDGE)
    stale = Case.objects.get(pk=case.pk)
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("record", {"note": "到场查看"}),
        ("request_extension", {"note": "缺材料", "hours": 24}),
    ]
    for action, extra in attempts:
        key = f"race-{action}"[:20] + "-0001"
        data = {"action": action, "expected_version": stale.version, **extra}
        first = client.post(f"/m/tasks/{case.pk}/act/", data, headers={**JSON, "Idempotency-Key": key})
        assert first.status_code == 200 and first.json()["replayed"] is False
        real = selectors.event_for_client_action
        calls = {"n": 0}

        def late(user: Any, c: Case, client_id: str, real: Any = real, calls: dict[str, int] = calls) -> Any:
            calls["n"] += 1
            return None if calls["n"] == 1 else real(user, c, client_id)  # the first look misses it

        monkeypatch.setattr(selectors, "event_for_client_action", late)
        events = CaseEvent.objects.filter(case=case).count()
        result = mobile_services.task_act(
            actor=world.chief,
            case=stale,
            action=action,
            expected_version=stale.version,
            note=extra["note"],
            hours=extra.get("hours"),
            client_id=key,
        )
        monkeypatch.setattr(selectors, "event_for_client_action", real)
        assert result.replayed is True and calls["n"] >= 2
        assert result.version == first.json()["case"]["version"]
        assert CaseEvent.objects.filter(case=case).count() == events
        stale = Case.objects.get(pk=case.pk)


@pytest.mark.django_db
def test_the_api_gives_the_same_409_for_a_stale_version(client: Client, world: World) -> None:
    case = dispatched_to_chief(world)
    login(client, world.chief)
    act(world, case, A.ACKNOWLEDGE)
    response = client.post(
        f"/api/cases/{case.pk}/transitions",
        json.dumps({"action": "report_back", "expected_version": case.version, "note": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == CONFLICT
    case.refresh_from_db()
    assert case.status == S.HANDLING


# --- 上报问题 ------------------------------------------------------------------------------


def report_data(w: World, **extra: Any) -> dict[str, Any]:
    lon, lat = w.point()
    return {"category": "MD01", "description": "人行道井盖缺失, 有行人跌倒风险", "lon": lon, "lat": lat, **extra}


@pytest.mark.django_db
def test_report_is_one_case_per_idempotency_key(client: Client, world: World) -> None:
    login(client, world.chief)
    data = report_data(world, photos=upload("p.jpg", jpeg_with_gps()))
    first = client.post("/m/report/", data, headers={**JSON, "Idempotency-Key": "rep-1"})
    assert first.status_code == 201, first.content
    data = report_data(world, photos=upload("p.jpg", jpeg_with_gps()), description="重发时改了描述")
    again = client.post("/m/report/", data, headers={**JSON, "Idempotency-Key": "rep-1"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert first.json()["case"]["id"] == again.json()["case"]["id"]
    case = Case.objects.get()
    assert case.channel == "patrol" and case.grid_id == world.d.grids[0].pk
    assert case.created_by_id == world.chief.pk and case.status == S.DISPATCHED  # auto-registered and routed
    assert case.title == "巡查发现: " + case.category.name
    assert CasePhoto.objects.filter(case=case, kind="report").count() == 1
    assert "查询码" in first.json()["message"]


@pytest.mark.django_db
def test_report_links_the_active_patrol(client: Client, world: World) -> None:
    from civicgrid.accounts.enums import Role
    from civicgrid.testing.factories import make_user

    road_chief = make_user(Role.ROAD_CHIEF, world.d.streets[0], username="roadchief")
    patrol = patrol_services.patrol_start(worker=road_chief).patrol
    login(client, road_chief)
    response = client.post("/m/report/", report_data(world, idempotency_key="rep-2"), headers=JSON)
    assert response.status_code == 201
    record = IntakeRecord.objects.get(case_id=response.json()["case"]["id"])
    assert record.attributes == {"patrol_id": patrol.pk} and record.channel == "patrol"
    # Someone else's patrol id is not linked: the worker's own active patrol is.
    other = patrol_services.patrol_start(worker=world.chief).patrol
    response = client.post("/m/report/", report_data(world, idempotency_key="rep-3", patrol=other.pk), headers=JSON)
    assert IntakeRecord.objects.get(case_id=response.json()["case"]["id"]).attributes == {"patrol_id": patrol.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"category": "NOPE"}, "案件类别不存在"),
        ({"description": ""}, "请填写描述"),
        ({"lon": "abc"}, "坐标必须是数字"),
        ({"idempotency_key": ""}, "Idempotency-Key"),
        ({"photos": upload("x.png", b"GIF89a not really")}, "不是有效的图片文件"),
    ],
)
def test_bad_reports_write_nothing(client: Client, world: World, change: dict[str, Any], message: str) -> None:
    data = {**report_data(world, idempotency_key="k-1"), **change}
    response = login(client, world.chief).post("/m/report/", data, headers=JSON)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not Case.objects.exists() and not CasePhoto.objects.exists()


@pytest.mark.django_db
def test_report_needs_the_intake_right(client: Client, world: World) -> None:
    response = login(client, world.officer).post("/m/report/", report_data(world, idempotency_key="k"), headers=JSON)
    assert response.status_code == 403 and not Case.objects.exists()
    assert client.get("/m/report/").status_code == 403


@pytest.mark.django_db
def test_report_page_and_form_post(client: Client, world: World) -> None:
    login(client, world.chief)
    html = client.get("/m/report/").content.decode()
    assert 'accept="image/*" capture="environment"' in html and 'name="idempotency_key"' in html
    assert "<optgroup" in html and 'data-locate="/api/territory/locate"' in html
    response = client.post("/m/report/", report_data(world, idempotency_key="form-1"))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "已上报, 查询码" in page and Case.objects.get().tracking_code in page


# --- patrols, messages, log-in -------------------------------------------------------------


@pytest.mark.django_db
def test_patrol_tab_uses_the_patrols_recorder(client: Client, world: World) -> None:
    from civicgrid.accounts.enums import Role
    from civicgrid.testing.factories import make_user

    road_chief = make_user(Role.ROAD_CHIEF, world.d.streets[0], username="roadchief")
    html = login(client, road_chief).get("/m/patrol/").content.decode()
    for needed in ('id="patrol-app"', 'id="patrol-start"', 'id="patrol-end"', 'id="duty-count"', "patrols/patrol.js"):
        assert needed in html
    assert 'id="report-form"' in html and "0 / 2" in html
    assert login(Client(), world.operator).get("/m/patrol/").status_code == 403


@pytest.mark.django_db
def test_messages_tab(client: Client, world: World) -> None:
    case = dispatched_to_chief(world)  # the dispatch notifies the chief
    response = login(client, world.chief).get("/m/messages/")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="message-list"' in html
    # The case's message opens the case in the phone app, not the desktop case page.
    assert f'href="/m/tasks/{case.pk}/"' in html and f'href="/cases/{case.pk}/"' not in html


@pytest.mark.django_db
def test_anonymous_users_log_in_first(client: Client, world: World) -> None:
    response = client.get("/m/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post("/m/report/", {}, headers=JSON)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


# --- PWA plumbing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_manifest(client: Client) -> None:
    response = client.get("/m/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    body = json.loads(response.content)
    assert body["name"] == "智慧玉泉 网格通" and body["display"] == "standalone"
    assert body["start_url"] == "/m/" and body["scope"] == "/m/"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and b"".join(got.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_service_worker(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    response = client.get("/m/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/m/" and response["Cache-Control"] == "no-cache"
    text = response.content.decode()
    config = json.loads(text.split("var CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["scope"] == "/m/" and "/m/offline/" in config["shell"]
    assert "/static/mobile/app.js" in config["shell"] and "/m/session.json" in config["noCache"]
    assert "civicgrid-m-shell-" in text
    monkeypatch.setattr(views, "SW_VERSION", "other")
    assert views.shell_version() != config["version"]  # a new worker gets a new cache name


@pytest.mark.django_db
def test_session_probe_and_offline_page(client: Client, world: World) -> None:
    body = client.get("/m/session.json").json()
    assert body["user"] is None and body["csrf"]
    login(client, world.chief)
    response = client.get("/m/session.json")
    assert response.json()["user"] == world.chief.pk and response["Cache-Control"] == "no-store"
    offline = client.get("/m/offline/")
    assert offline.status_code == 200 and str(world.chief) not in offline.content.decode()
