"""Scope (who sees which case), the inboxes, and the JSON API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from civicgrid.cases import selectors
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import act, bring_to
from civicgrid.common.errors import NotFound

pytestmark = pytest.mark.django_db


def test_a_community_worker_never_sees_another_communitys_case(world: World) -> None:
    mine = world.intake()  # community 0
    theirs = world.intake(grid=world.d.grids[4])  # community 2
    assert set(selectors.visible_cases(world.worker)) == {mine}
    assert set(selectors.visible_cases(world.other_worker)) == {theirs}
    assert set(selectors.visible_cases(world.operator)) == {mine, theirs}
    with pytest.raises(NotFound):
        selectors.case_get(world.worker, theirs.pk)
    with pytest.raises(NotFound):
        selectors.timeline(world.worker, theirs.pk)
    for box in selectors.INBOXES:
        assert theirs not in selectors.inbox(world.worker, box)


def test_a_department_handler_sees_only_their_departments_cases(world: World) -> None:
    police_case = world.intake(category="ZA01")
    grid_case = world.intake()
    assert set(selectors.visible_cases(world.officer)) == {police_case}
    assert grid_case not in selectors.visible_cases(world.officer)
    assert list(selectors.inbox(world.officer, "to_sign_for")) == [police_case]
    signed = act(world, police_case, A.ACKNOWLEDGE)
    assert signed.current_handler == world.officer
    assert list(selectors.inbox(world.officer, "mine")) == [signed]


def test_inboxes(world: World) -> None:
    dispatched = bring_to(world, S.DISPATCHED)
    handling = bring_to(world, S.HANDLING)
    reported = bring_to(world, S.REPORTED)
    closed = bring_to(world, S.CLOSED)
    received = bring_to(world, S.RECEIVED)
    queued = world.intake(grid=world.d.grids[1])
    Case.objects.filter(pk=handling.pk).update(overdue_at=handling.received_at)
    assert list(selectors.inbox(world.chief, "to_sign_for")) == [dispatched]
    assert set(selectors.inbox(world.chief, "mine")) == {dispatched, handling, reported}
    assert list(selectors.inbox(world.operator, "to_verify")) == [reported]
    assert list(selectors.inbox(world.operator, "to_follow_up")) == [closed]
    assert list(selectors.inbox(world.operator, "to_register")) == [received]
    assert list(selectors.inbox(world.operator, "manual_queue")) == [queued]
    assert list(selectors.inbox(world.operator, "overdue")) == [handling]
    assert list(selectors.inbox(world.chief, "to_verify")) == []  # no verify capability
    assert list(selectors.inbox(world.leader, "manual_queue")) == []
    with pytest.raises(NotFound):
        selectors.inbox(world.operator, "nonsense")


def test_inbox_query_count_does_not_grow(world: World, django_assert_max_num_queries: Any) -> None:
    for _ in range(12):
        world.intake()
    with django_assert_max_num_queries(3):
        rows = list(selectors.inbox(world.chief, "mine")[:50])
        labels = [(c.category.name, c.grid.name if c.grid else "", str(c.current_handler)) for c in rows]
    assert len(labels) == 12


# --- API -------------------------------------------------------------------------------


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def test_api_intake_is_idempotent_and_validates(world: World) -> None:
    client = _client(world.operator)
    lon, lat = world.point()
    body = {
        "title": "井盖缺失",
        "description": "路口井盖丢了",
        "category": "BJ0101",
        "channel": "hotline",
        "lon": lon,
        "lat": lat,
    }
    first = _post(client, "/api/cases/", body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == 201, first.content
    again = _post(client, "/api/cases/", body, **{"Idempotency-Key": "abc-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1
    bad = _post(client, "/api/cases/", {**body, "lon": 500})
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["lon"]
    unknown = _post(client, "/api/cases/", {**body, "category": "NOPE"})
    assert unknown.status_code == 400 and "类别" in unknown.json()["error"]["message"]


def test_api_transitions_illegal_and_conflict(world: World) -> None:
    case = bring_to(world, S.DISPATCHED)
    chief = _client(world.chief)
    url = f"/api/cases/{case.pk}/transitions"
    illegal = _post(chief, url, {"action": "verify_pass", "expected_version": case.version})
    assert illegal.status_code == 400
    assert illegal.json()["error"]["code"] == "illegal_transition"
    assert "签收" in illegal.json()["error"]["message"]
    ok = _post(chief, url, {"action": "acknowledge", "expected_version": case.version})
    assert ok.status_code == 200 and ok.json()["status"] == S.HANDLING
    stale = _post(chief, url, {"action": "report_back", "expected_version": case.version, "note": "好了"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    actions = chief.get(f"/api/cases/{case.pk}/actions").json()
    assert actions["status"] == S.HANDLING and "report_back" in actions["actions"]
    timeline = chief.get(f"/api/cases/{case.pk}/timeline").json()
    assert [e["action"] for e in timeline["items"]] == ["receive", "register", "dispatch", "acknowledge"]
    inbox = chief.get("/api/cases/inbox/mine").json()
    assert inbox["count"] == 1


def test_api_scope_is_404(world: World) -> None:
    theirs = world.intake(grid=world.d.grids[4])
    assert _client(world.worker).get(f"/api/cases/{theirs.pk}").status_code == 404
    assert _client(world.other_worker).get(f"/api/cases/{theirs.pk}").status_code == 200


def test_timeline_of_a_case_fetched_for_another_user_checks_scope_again(world: World) -> None:
    # A Case instance checked for one user is no pass for another.
    from civicgrid.common.errors import NotFound

    case = world.intake()
    checked = selectors.case_get(world.operator, case.pk)
    assert len(list(selectors.timeline(world.operator, checked))) >= 1
    with pytest.raises(NotFound):
        selectors.timeline(world.other_worker, checked)
