"""Review of flagged tracks: approve (counts when coverage meets the threshold) and reject (with
a reason), audited, the duty recomputed; the queue, the page, the API; maps of tracks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent
from civicgrid.common.errors import Conflict, DomainError, NotFound
from civicgrid.patrols import selectors, services
from civicgrid.patrols.enums import ReviewStatus
from civicgrid.patrols.models import Patrol
from civicgrid.patrols.tests.conftest import PatrolWorld, make_patrol, points, walk
from civicgrid.testing.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast(world: PatrolWorld) -> Patrol:
    """A road chief's track along the road, too fast: flagged, awaiting review."""
    patrol = walk(world.road_chief, world.road_track(), step_s=1)
    assert patrol.flagged and patrol.review_status == ReviewStatus.PENDING and not patrol.counts_toward_duty
    return patrol


def _reviewer(world: PatrolWorld, role: Role = Role.STREET_ADMIN, area: Any = None) -> Any:
    area = area or world.district.streets[0]
    return make_user(role, area, username=f"rev-{role}-{area.code}")


def test_approve_counts_the_track_and_recomputes_the_duty(world: PatrolWorld, fast: Patrol) -> None:
    assert selectors.duty_status(world.road_chief).counted == 0
    reviewer = _reviewer(world)
    patrol = services.patrol_review_approve(actor=reviewer, patrol=fast, note="骑电动车巡查, 已核实")
    assert patrol.review_status == ReviewStatus.APPROVED and patrol.counts_toward_duty
    assert patrol.reviewed_by == reviewer and patrol.review_note == "骑电动车巡查, 已核实"
    assert selectors.duty_status(world.road_chief).counted == 1
    event = AuditEvent.objects.get(object_type="patrols.patrol", object_id=str(fast.pk), actor=reviewer)
    assert event.changes["review_status"] == {"before": "pending", "after": "approved"}
    assert event.changes["counts_toward_duty"] == {"before": False, "after": True}
    with pytest.raises(Conflict):
        services.patrol_review_reject(actor=reviewer, patrol=fast.pk, note="重复")


def test_an_approved_track_below_the_threshold_still_does_not_count(world: PatrolWorld) -> None:
    half = walk(world.road_chief, world.road_track(11)[:6], step_s=1)
    assert half.flagged and half.coverage < 0.8
    patrol = services.patrol_review_approve(actor=_reviewer(world), patrol=half)
    assert patrol.review_status == ReviewStatus.APPROVED and not patrol.counts_toward_duty


def test_reject_needs_a_reason_and_never_counts(world: PatrolWorld, fast: Patrol) -> None:
    reviewer = _reviewer(world, Role.COMMAND_OPERATOR, world.district.district)
    with pytest.raises(DomainError) as exc:
        services.patrol_review_reject(actor=reviewer, patrol=fast, note="  ")
    assert exc.value.fields == {"note": ["请填写不通过的原因"]}
    with pytest.raises(DomainError):
        services.patrol_review_reject(actor=reviewer, patrol=fast, note="长" * 501)
    fast.refresh_from_db()
    assert fast.review_status == ReviewStatus.PENDING
    patrol = services.patrol_review_reject(actor=reviewer, patrol=fast, note="轨迹为乘车")
    assert patrol.review_status == ReviewStatus.REJECTED and not patrol.counts_toward_duty
    assert AuditEvent.objects.filter(object_id=str(fast.pk), message__contains="轨迹为乘车").exists()


def test_a_late_point_keeps_the_reviewers_decision(world: PatrolWorld, fast: Patrol) -> None:
    services.patrol_review_approve(actor=_reviewer(world), patrol=fast)
    late = points([world.road_track()[-1]], fast.started_at + dt.timedelta(seconds=30))
    services.patrol_upload_points(worker=world.road_chief, patrol_id=fast.pk, points=late)
    fast.refresh_from_db()
    assert fast.flagged and fast.review_status == ReviewStatus.APPROVED and fast.counts_toward_duty


def test_who_may_review(world: PatrolWorld, fast: Patrol) -> None:
    with pytest.raises(PermissionDenied):  # the leader reads, never decides
        services.patrol_review_approve(actor=_reviewer(world, Role.LEADER, world.district.district), patrol=fast)
    with pytest.raises(NotFound):  # another street's administrator: not revealed
        services.patrol_review_approve(actor=_reviewer(world, area=world.district.streets[1]), patrol=fast)
    with pytest.raises(NotFound):
        services.patrol_review_approve(actor=_reviewer(world), patrol=999999)
    clean = walk(world.road_chief, world.road_track())
    with pytest.raises(Conflict):
        services.patrol_review_approve(actor=_reviewer(world), patrol=clean)


def test_the_queue_and_the_decision_pages(
    world: PatrolWorld, fast: Patrol, client: Client, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        make_patrol(world.road_chief, f"2025-05-0{i + 1} 09:00", flagged=True)
    client.force_login(_reviewer(world))
    with django_assert_max_num_queries(8):
        html = client.get("/patrols/review/").content.decode()
    assert html.count("data-patrol=") == 6 and "移动速度过快" in html
    detail = client.get(f"/patrols/review/{fast.pk}/").content.decode()
    assert f"/api/patrols/{fast.pk}/track" in detail and 'id="review-approve"' in detail
    r = client.post(f"/patrols/review/{fast.pk}/decide", {"decision": "reject", "note": ""})
    assert r.status_code == 400 and "请填写不通过的原因" in r.content.decode()
    r = client.post(f"/patrols/review/{fast.pk}/decide", {"decision": "approve", "note": "已电话核实"})
    assert r.status_code == 302 and r["Location"] == f"/patrols/review/?done={fast.pk}"
    fast.refresh_from_db()
    assert fast.counts_toward_duty
    html = client.get("/patrols/review/?status=approved").content.decode()
    assert f'data-patrol="{fast.pk}"' in html
    again = client.post(f"/patrols/review/{fast.pk}/decide", {"decision": "approve"})
    assert again.status_code == 409 and "已核查" in again.content.decode()
    outsider = _reviewer(world, Role.COMMUNITY_WORKER, world.district.communities[3])
    client.force_login(outsider)
    assert client.get(f"/patrols/review/{fast.pk}/").status_code == 404
    assert 'data-patrol="' not in client.get("/patrols/review/").content.decode()


def test_review_and_track_over_the_api(world: PatrolWorld, fast: Patrol, client: Client) -> None:
    client.force_login(_reviewer(world))
    body = client.get(f"/api/patrols/{fast.pk}/track").json()
    assert body["roads"][0]["code"] == "R-TEST-1" and len(body["track"]) >= 2
    assert body["areas"]["features"] == [] and body["flag_reasons"][0]["code"] == "speed"
    world.road.grids.add(world.district.grids[0])  # the base map: the grids the road crosses
    body = client.get(f"/api/patrols/{fast.pk}/track").json()
    assert [f["properties"]["code"] for f in body["areas"]["features"]] == [world.district.grids[0].code]
    r = client.post(f"/api/patrols/{fast.pk}/review", {"decision": "maybe"}, content_type="application/json")
    assert r.status_code == 400 and "approve" in r.json()["error"]["message"]
    r = client.post(f"/api/patrols/{fast.pk}/review", {"decision": "reject"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "note_required"
    r = client.post(
        f"/api/patrols/{fast.pk}/review", {"decision": "approve", "note": "ok"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["review_status"] == "approved" and r.json()["counts_toward_duty"]


def test_todays_tracks_for_the_map(world: PatrolWorld, fast: Patrol, client: Client) -> None:
    counted = walk(world.grid_chief, world.grid_track())
    start = timezone.now() - dt.timedelta(minutes=5)
    active = services.patrol_start(worker=world.grid_chief, started_at=start).patrol
    services.patrol_upload_points(
        worker=world.grid_chief, patrol_id=active.pk, points=points(world.grid_track(4), start)
    )
    yesterday = make_patrol(world.grid_chief, f"{timezone.localdate() - dt.timedelta(days=1)} 09:00")
    client.force_login(make_user(Role.COMMAND_OPERATOR, world.district.district, username="zx"))
    body = client.get("/api/patrols/tracks", {"area": world.district.district.code}).json()
    states = {item["id"]: item["state"] for item in body["items"]}
    assert states == {fast.pk: "flagged", counted.pk: "counted", active.pk: "active"}
    assert yesterday.pk not in states and body["count"] == 3 and body["next_offset"] is None
    lines = {item["id"]: item["coordinates"] for item in body["items"]}
    assert len(lines[active.pk]) >= 2 and 2 <= len(lines[counted.pk]) <= 300
    page = client.get("/api/patrols/tracks", {"area": "150104", "limit": "2"}).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    # A community sees only its own tracks; another node is a 404.
    client.force_login(make_user(Role.COMMUNITY_WORKER, world.district.communities[0], username="sq"))
    mine = client.get("/api/patrols/tracks").json()
    assert {i["id"] for i in mine["items"]} == {counted.pk, active.pk}
    assert client.get("/api/patrols/tracks", {"area": "150104"}).status_code == 404
    assert client.get("/api/patrols/tracks", {"day": "2025-13-01"}).status_code == 422
    client.force_login(world.road_chief)
    assert client.get("/api/patrols/tracks").status_code == 403


def test_batch_evaluation_matches_one_by_one(world: PatrolWorld) -> None:
    patrols = [
        walk(world.road_chief, world.road_track()),
        walk(world.road_chief, world.road_track(11)[:6]),
        walk(world.grid_chief, world.grid_track()),
        walk(world.road_chief, world.road_track(), step_s=1),
    ]
    before = {p.pk: (p.coverage, p.distance_m, p.counts_toward_duty, p.flagged, p.review_status) for p in patrols}
    Patrol.objects.update(coverage=0, distance_m=0, counts_toward_duty=False, simplified_track=[])
    again = services.evaluate_patrols([p.pk for p in patrols])
    assert {p.pk: (p.coverage, p.distance_m, p.counts_toward_duty, p.flagged, p.review_status) for p in again} == before
    assert all(len(p.simplified_track) >= 2 for p in Patrol.objects.all())


def test_track_paging_is_validated(world: PatrolWorld, client: Client) -> None:
    client.force_login(make_user(Role.COMMAND_OPERATOR, world.district.district, username="zx2"))
    r = client.get("/api/patrols/tracks", {"limit": 0})
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"limit": ["limit 应在 1 到 2000 之间"]}
    assert client.get("/api/patrols/tracks", {"offset": -1}).status_code == 400
