"""Accepted-then-processed machine intake (cases/submissions.py): the request path validates
and writes one submission row (202 + token); the drainer turns submissions into cases in
batches (services.case_intake_batch) that are exactly what the synchronous intake writes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civicgrid.audit.chain import verify_chain
from civicgrid.audit.models import AuditEvent
from civicgrid.cases import apikeys, services, submissions
from civicgrid.cases.enums import CaseAction, CaseStatus, Channel
from civicgrid.cases.models import (
    ApiKey,
    Case,
    CaseEvent,
    Category,
    IntakeRecord,
    IntakeSubmission,
    RoutingRule,
    SubmissionStatus,
)
from civicgrid.cases.open311.intake import intake_with_record
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.common.protected import reveal
from civicgrid.notifications.models import Notification, Subscription
from civicgrid.testing.factories import SampleDistrict, build_sample_district

pytestmark = pytest.mark.django_db

# The request path of an API-key intake, counted in a test (its one transaction is a
# savepoint here: +2): the key, the category, SAVEPOINT, INSERT, RELEASE.
REQUEST_PATH_MAX_QUERIES = 5


def _body(world: World, grid: int = 0, **extra: Any) -> dict[str, Any]:
    lon, lat = world.point(world.d.grids[grid])
    data: dict[str, Any] = {
        "title": "井盖缺失",
        "description": "人行道井盖缺失, 有行人跌落风险",
        "category": "BJ0101",
        "lon": lon,
        "lat": lat,
        "reporter_name": "王先生",
        "reporter_phone": "13800138000",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def _post(client: Client, body: dict[str, Any], api_key: str, key: str | None = None) -> Any:
    headers = {"X-Api-Key": api_key} | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/cases/", body, content_type="application/json", headers=headers)


@pytest.fixture
def issued() -> apikeys.IssuedKey:
    return apikeys.apikey_create(name="async-intake", rate_per_minute=10_000)


@pytest.fixture
def api_key(issued: apikeys.IssuedKey) -> str:
    return issued.plaintext


# --- the request path ---------------------------------------------------------------------------


def test_request_path_writes_one_row_in_its_statement_budget(
    client: Client, world: World, api_key: str, django_assert_max_num_queries: Any
) -> None:
    _post(client, _body(world), api_key, "warm-up")  # the key's last-use stamp, once a minute
    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(REQUEST_PATH_MAX_QUERIES):
        response = _post(client, _body(world), api_key, "measured")
    assert response.status_code == 202, response.content
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(writes) == 1 and "cases_intakesubmission" in writes[0]
    submission = IntakeSubmission.objects.get(token=response.json()["token"])
    assert submission.status == SubmissionStatus.PENDING and submission.channel == Channel.API
    # The reporter's phone is never stored in plaintext.
    assert "13800138000" not in str(submission.payload)
    assert reveal(submission.payload["phone_cipher"], context=services.PHONE_CONTEXT) == "13800138000"
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"title": ""}, 400, "title"),
        ({"description": "长" * 2001}, 422, None),  # the schema's max_length
        ({"category": "NOPE"}, 400, "category"),
        ({"lon": 200.0}, 400, "lon"),
        ({"lat": None}, 400, "lon"),  # lon without lat
        ({"reporter_phone": "abc"}, 400, "reporter_phone"),
        ({"priority": "whenever"}, 400, "priority"),
        ({"channel": "hotline"}, 403, None),  # a staff channel
        ({"channel": "telegraph"}, 400, "channel"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client: Client, world: World, api_key: str, extra: dict[str, Any], status: int, field: str | None
) -> None:
    response = _post(client, _body(world, **extra), api_key, "bad")
    assert response.status_code == status, response.content
    if field is not None:
        assert field in response.json()["error"]["fields"]
    assert IntakeSubmission.objects.count() == 0


def test_inactive_category_and_long_key_are_refused(client: Client, world: World, api_key: str) -> None:
    Category.objects.filter(code="BJ0101").update(is_active=False)
    assert _post(client, _body(world), api_key, "k").status_code == 400
    Category.objects.filter(code="BJ0101").update(is_active=True)
    assert _post(client, _body(world), api_key, "x" * 65).status_code == 400
    assert IntakeSubmission.objects.count() == 0


def test_idempotency_same_key_same_token_one_case(client: Client, world: World, api_key: str) -> None:
    first = _post(client, _body(world), api_key, "same")
    again = _post(client, _body(world), api_key, "same")
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["token"] == again.json()["token"]
    assert IntakeSubmission.objects.count() == 1
    clash = _post(client, _body(world, title="另一件事"), api_key, "same")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_conflict"
    assert submissions.intake_drain().created == 1
    done = _post(client, _body(world), api_key, "same")
    case = Case.objects.get()
    assert done.status_code == 200 and done.json()["case_id"] == case.pk
    assert submissions.intake_drain().claimed == 0  # nothing left, nothing twice
    # The submission's status for its own key, 404 for another key.
    status = client.get(f"/api/cases/submissions/{first.json()['token']}", headers={"X-Api-Key": api_key})
    assert status.status_code == 200 and status.json()["case_id"] == case.pk
    other = apikeys.apikey_create(name="other").plaintext
    assert (
        client.get(f"/api/cases/submissions/{first.json()['token']}", headers={"X-Api-Key": other}).status_code == 404
    )


def test_a_retry_after_the_category_was_retired_still_gets_its_submission(
    client: Client, world: World, api_key: str
) -> None:
    first = _post(client, _body(world), api_key, "retired")
    Category.objects.filter(code="BJ0101").update(is_active=False)
    again = _post(client, _body(world), api_key, "retired")
    assert again.status_code == 202 and again.json()["token"] == first.json()["token"]
    # Accepted is promised: the drainer makes the case although the category retired since.
    assert submissions.intake_drain().created == 1


# --- batch == synchronous ------------------------------------------------------------------------

TIME_FIELDS = {
    "received_at",
    "registered_at",
    "dispatched_at",
    "acknowledged_at",
    "acknowledge_due",
    "handle_due",
    "close_due",
    "created_at",
    "updated_at",
}


def _payloads(world: World) -> list[tuple[str, dict[str, Any], bool | None]]:
    return [
        (Channel.API, _body(world), None),  # grid 0: the grid chief
        (Channel.API, _body(world, grid=5), None),  # no chief: the manual queue
        (Channel.API, _body(world, category="ZA01", priority="urgent"), None),  # nearest police station
        (Channel.API, _body(world, lon=None, lat=None, address="清泉街12号", reporter_phone=None), None),
        (Channel.API, _body(world, lon=100.0, lat=10.0), None),  # outside the district
        (Channel.API, _body(world, grid=3), False),  # waits in "received"
        (Channel.OPEN311, _body(world, grid=2, category="BJ0102"), None),  # not auto-registered
        (Channel.RESIDENT_WEB, _body(world, grid=1), True),
        (Channel.API, _body(world, grid=4, category="MD01"), None),  # the routing rule below
    ]


def _case_view(case: Case) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for f in Case._meta.concrete_fields:
        if f.name in {"id", "tracking_code", "idempotency_key", "reporter_phone_cipher"} | TIME_FIELDS:
            continue
        view[f.attname] = getattr(case, f.attname)
    view["phone"] = reveal(case.reporter_phone_cipher, context=services.PHONE_CONTEXT)
    for name in ("registered_at", "dispatched_at", "acknowledge_due", "handle_due", "close_due"):
        value = getattr(case, name)
        start = case.dispatched_at if name == "acknowledge_due" else case.received_at
        view[f"{name}-offset"] = None if value is None or start is None else round((value - start).total_seconds())
    view["registered_with_dispatch"] = case.registered_at == case.dispatched_at if case.dispatched_at else None
    return view


def _scrub(value: Any, case: Case) -> Any:
    if isinstance(value, dict):
        return {k: ("<t>" if k in TIME_FIELDS else _scrub(v, case)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, case) for v in value]
    if isinstance(value, str):
        return value.replace(case.tracking_code, "<code>").replace(f"/cases/{case.pk}/", "/cases/<id>/")
    return value


def _written(case: Case) -> dict[str, Any]:
    events = [
        (e.action, e.from_status, e.to_status, e.is_transition, e.actor_id, e.actor_label, e.note, e.data, e.area_code)
        for e in CaseEvent.objects.filter(case=case).order_by("id")
    ]
    audits = [
        (
            a.action,
            a.object_type,
            a.object_repr.replace(case.tracking_code, "<code>"),
            a.actor_id,
            a.actor_label,
            a.area_code,
            _scrub(a.changes, case),
            a.message,
            a.ip_address,
        )
        for a in AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).order_by("id")
    ]
    notes = sorted(
        (
            n.recipient_id or 0,
            n.channel,
            _scrub(n.subject, case),
            _scrub(n.body, case),
            _scrub(n.link, case),
            n.status,
            n.area_code,
            n.address_masked,
            n.dedupe_key.split(":event:")[1].split(":", 1)[1],
        )
        for n in Notification.objects.filter(object_type="cases.case", object_id=str(case.pk))
    )
    record = IntakeRecord.objects.get(case=case)
    return {
        "case": _case_view(case),
        "events": [_scrub(list(e), case) for e in events],
        "audits": audits,
        "notifications": notes,
        "record": (record.channel, record.fingerprint, record.api_key_id, record.attributes, record.media_url),
    }


def test_batch_writes_exactly_what_the_synchronous_intake_writes(world: World, issued: apikeys.IssuedKey) -> None:
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    RoutingRule.objects.create(
        name="纠纷派派出所",
        category=Category.objects.get(code="MD01"),
        area_prefix=world.d.grids[4].code,
        target="department",
        department=world.police,
        order=1,
    )
    # Followers of the district (told on every status change) and of one case's area.
    Subscription.objects.create(user=world.operator, area_code=world.d.district.code, channel="in_app")
    Subscription.objects.create(user=world.worker, area_code=world.d.communities[0].code, channel="in_app")
    payloads = _payloads(world)
    sync_cases = [
        intake_with_record(
            actor=None, channel=channel, data=data, idempotency_key=f"sync-{i}", register=register, api_key=key
        ).case
        for i, (channel, data, register) in enumerate(payloads)
    ]
    accepted = [
        submissions.submission_accept(
            channel=channel, data=data, api_key=key, idempotency_key=f"async-{i}", register=register
        ).submission
        for i, (channel, data, register) in enumerate(payloads)
    ]
    report = submissions.intake_drain()
    assert (report.batches, report.created, report.failed) == (1, len(payloads), 0)
    for sync_case, submission in zip(sync_cases, accepted, strict=True):
        submission.refresh_from_db()
        assert submission.status == SubmissionStatus.PROCESSED
        assert submission.case is not None
        batch_case = submission.case
        sync_case.refresh_from_db()
        batch_view, sync_view = _written(batch_case), _written(sync_case)
        for part in sync_view:
            assert batch_view[part] == sync_view[part], (part, sync_case.title)
        assert batch_case.received_at == submission.created_at  # received when accepted
    statuses = [Case.objects.get(submission=s).status for s in accepted]
    assert statuses == [
        CaseStatus.DISPATCHED,
        CaseStatus.REGISTERED,
        CaseStatus.DISPATCHED,
        CaseStatus.REGISTERED,
        CaseStatus.REGISTERED,
        CaseStatus.RECEIVED,
        CaseStatus.RECEIVED,
        CaseStatus.REGISTERED,  # grid 1 has no chief
        CaseStatus.DISPATCHED,
    ]
    told = set(Notification.objects.filter(recipient=world.chief).values_list("object_id", flat=True))
    assert told == {str(sync_cases[0].pk), str(accepted[0].case_id)}
    assert Notification.objects.filter(recipient=world.officer).count() >= 4  # the police cases (ZA01, MD01 rule)
    assert verify_chain().ok


# --- the drainer ---------------------------------------------------------------------------------


def _accept(world: World, key: ApiKey, n: int, start: int = 0) -> list[IntakeSubmission]:
    return [
        submissions.submission_accept(
            channel=Channel.API, data=_body(world, grid=i % 8), api_key=key, idempotency_key=f"n-{i}"
        ).submission
        for i in range(start, start + n)
    ]


def _drain_queries(world: World, key: ApiKey, n: int, start: int) -> int:
    _accept(world, key, n, start)
    with CaptureQueriesContext(connection) as captured:
        report = submissions.intake_drain()
    assert report.created == n
    return len(captured.captured_queries)


def test_a_batch_costs_the_same_number_of_statements_whatever_its_size(world: World, issued: apikeys.IssuedKey) -> None:
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    _drain_queries(world, key, 2, 0)  # warm-up: the locate index, the chain head
    small = _drain_queries(world, key, 8, 96)  # one case in each grid, as in the larger batch
    # (SQLite binds at most 999 parameters per statement, so Django splits a multi-row INSERT
    # of more than ~18 cases; PostgreSQL takes any number in one.)
    large = _drain_queries(world, key, 64 if connection.vendor == "postgresql" else 16, 200)
    assert small == large, (small, large)
    assert large <= 26
    assert verify_chain().ok
    assert Case.objects.count() == IntakeRecord.objects.count() == (74 if connection.vendor == "postgresql" else 26)
    # Every case: three events and three audit records (or two in the manual queue).
    for case in Case.objects.all():
        events = CaseEvent.objects.filter(case=case).count()
        assert events == case.version
        assert AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count() == events


def test_a_lost_claim_writes_nothing(world: World, issued: apikeys.IssuedKey) -> None:
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    _accept(world, key, 2)
    _token, rows = submissions.claim(10)
    assert len(rows) == 2
    with pytest.raises(services.LostClaim):
        services.case_intake_batch(rows, claim_token="someone-else")
    assert Case.objects.count() == 0 and AuditEvent.objects.filter(object_type="cases.case").count() == 0
    assert IntakeSubmission.objects.filter(status=SubmissionStatus.PENDING).count() == 2
    # Claimed rows are not claimed again while their lease runs; once it expires they are.
    assert submissions.claim(10)[1] == []
    later = timezone.now() + timedelta(seconds=submissions.lease_seconds() + 1)
    _token, again = submissions.claim(10, now=later)
    assert len(again) == 2 and all(r.attempts == 2 for r in again)


def test_a_failing_submission_is_retried_then_marked_failed_and_staff_can_retry(
    world: World, issued: apikeys.IssuedKey, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.CASES_INTAKE_MAX_ATTEMPTS = 2
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    _good, bad = _accept(world, key, 2)
    real = services._intake_build

    def broken(fields: services.IntakeFields, **kw: Any) -> Any:
        if kw["key"] == bad.idempotency_key:
            raise RuntimeError("boom")
        return real(fields, **kw)

    monkeypatch.setattr(services, "_intake_build", broken)
    report = submissions.intake_drain()
    # The batch failed; one by one, the good one went through and the bad one waits.
    assert (report.created, report.retried) == (1, 1)
    bad.refresh_from_db()
    assert bad.status == SubmissionStatus.PENDING and "boom" in bad.error and bad.available_at > timezone.now()
    later = timezone.now() + timedelta(minutes=5)
    IntakeSubmission.objects.filter(pk=bad.pk).update(available_at=later - timedelta(minutes=10))
    report = submissions.intake_drain()
    bad.refresh_from_db()
    assert report.failed == 1 and bad.status == SubmissionStatus.FAILED and "boom" in bad.error
    assert Case.objects.count() == 1
    # The admin lists it; the retry action sends it back to the drainer (audited).
    monkeypatch.setattr(services, "_intake_build", real)
    admin = _sysadmin(world.d)
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/cases/intakesubmission/?status__exact=failed")
    assert listing.status_code == 200 and bad.token in listing.content.decode()
    response = client.post(
        "/admin/cases/intakesubmission/",
        {"action": "retry_submissions", "_selected_action": [bad.pk], "index": 0},
    )
    assert response.status_code == 302
    bad.refresh_from_db()
    assert bad.status == SubmissionStatus.PENDING and bad.attempts == 0
    assert AuditEvent.objects.filter(object_type="cases.intakesubmission", object_id=str(bad.pk)).exists()
    assert submissions.intake_drain().created == 1
    assert Case.objects.count() == 2


def _sysadmin(d: SampleDistrict) -> Any:
    from civicgrid.accounts.enums import Role
    from civicgrid.testing.factories import make_user

    return make_user(Role.SYSTEM_ADMIN, d.district, username="sysadmin-intake")


def test_a_key_an_earlier_case_holds_links_to_that_case(world: World, issued: apikeys.IssuedKey) -> None:
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    first = intake_with_record(actor=None, channel=Channel.API, data=_body(world), idempotency_key="old", api_key=key)
    accepted = submissions.submission_accept(channel=Channel.API, data=_body(world), api_key=key, idempotency_key="old")
    report = submissions.intake_drain()
    assert (report.created, report.linked) == (0, 1)
    accepted.submission.refresh_from_db()
    assert accepted.submission.case_id == first.case.pk and Case.objects.count() == 1


def test_the_commit_wakes_the_drainer(
    world: World,
    issued: apikeys.IssuedKey,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    woken: list[bool] = []
    monkeypatch.setattr(submissions, "ensure_drainer_thread", lambda: woken.append(True))
    settings.CASES_INTAKE_DRAIN_THREAD = "true"
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    with django_capture_on_commit_callbacks(execute=True):
        _accept(world, key, 1)
    assert woken == [True] and submissions._wake.is_set()
    submissions._wake.clear()
    settings.CASES_INTAKE_DRAIN_THREAD = "auto"  # no scheduler in this process: no thread
    assert submissions.drain_mode() == "off"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_drainers_make_each_case_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's; SQLite has one writer")
    # An earlier transactional test may have flushed the tables, the migration's catalogue too.
    seed_categories(Category)
    d = build_sample_district()
    world = build_world(d)
    key = apikeys.apikey_create(name="concurrent").api_key
    _accept(world, key, 120)
    barrier = threading.Barrier(2)
    reports: list[submissions.DrainReport] = []
    errors: list[BaseException] = []

    def drainer() -> None:
        try:
            barrier.wait()
            reports.append(submissions.intake_drain(limit=15))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r.created for r in reports) == 120
    assert all(r.created > 0 for r in reports), [r.as_dict() for r in reports]  # both did work
    assert Case.objects.count() == 120 == IntakeRecord.objects.count()
    assert IntakeSubmission.objects.filter(status=SubmissionStatus.PROCESSED, case__isnull=False).count() == 120
    assert len(set(IntakeSubmission.objects.values_list("case_id", flat=True))) == 120
    assert verify_chain().ok


def test_events_and_audit_follow_the_timeline_order(world: World, issued: apikeys.IssuedKey) -> None:
    key = ApiKey.objects.get(prefix=issued.api_key.prefix)
    _accept(world, key, 3)
    submissions.intake_drain()
    for case in Case.objects.all():
        actions = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("action", flat=True))
        assert actions[0] == CaseAction.RECEIVE
        received = CaseEvent.objects.get(case=case, action=CaseAction.RECEIVE).occurred_at
        assert isinstance(received, datetime) and received == case.received_at


def test_the_switch_back_serves_api_keys_and_open311_synchronously(
    client: Client, world: World, api_key: str, settings: Any
) -> None:
    settings.CASES_INTAKE_ASYNC = False
    response = _post(client, _body(world), api_key, "sync-1")
    assert response.status_code == 201 and Case.objects.filter(pk=response.json()["id"]).exists()
    lon, lat = world.point()
    data = {"api_key": api_key, "service_code": "BJ0201", "lat": lat, "long": lon, "description": "小广告"}
    created = client.post("/open311/v2/requests.json", data)
    assert created.status_code == 201 and created.json()[0]["service_request_id"]
    assert IntakeSubmission.objects.count() == 0
