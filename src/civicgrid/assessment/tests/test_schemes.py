"""Assessment schemes: weights validated (services, model, database, admin), audited writes,
permissions, the scheme that applies to a period, periods and the score formula."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.periods import parse_period
from civicgrid.assessment.scoring import competition_ranks, weighted_score
from civicgrid.assessment.selectors import scheme_for
from civicgrid.assessment.services import assessment_scheme_create, assessment_scheme_update
from civicgrid.audit.models import AuditEvent
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = pytest.mark.django_db

WEIGHTS = {
    "weight_on_time_sign_for": 10,
    "weight_resolution": 40,
    "weight_satisfaction": 40,
    "weight_closure": 5,
    "weight_rehandling": 5,
}


@pytest.fixture
def admin(district: SampleDistrict) -> Any:
    return make_user(Role.SYSTEM_ADMIN, district.district, username="sysadmin")


def _data(**over: Any) -> dict[str, Any]:
    return {"name": "2026年方案", "effective_from": dt.date(2026, 1, 1), **WEIGHTS, **over}


def test_the_default_scheme_is_seeded() -> None:
    scheme = AssessmentScheme.objects.get()
    assert scheme.is_active and scheme.weight_total() == 100
    assert scheme_for(dt.date(2026, 5, 31)) == scheme


def test_create_is_validated_and_audited(admin: Any) -> None:
    scheme = assessment_scheme_create(actor=admin, data=_data())
    assert scheme.weights()["satisfaction_rate"] == 40
    event = AuditEvent.objects.filter(object_type="assessment.assessmentscheme", object_id=str(scheme.pk)).get()
    assert event.action == "create" and event.changes["weight_resolution"]["after"] == 40


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"weight_closure": 6}, "weights"),  # sums to 101
        ({"weight_closure": 0}, "weights"),  # sums to 95
        ({"weight_closure": -5}, "weight_closure"),
        ({"weight_closure": 101}, "weight_closure"),
        ({"weight_closure": "5"}, "weight_closure"),
        ({"weight_closure": True}, "weight_closure"),
        ({"name": "  "}, "name"),
        ({"effective_from": "2026-01-01"}, "effective_from"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_weights_are_refused_with_a_message(admin: Any, over: dict[str, Any], field: str) -> None:
    before = AssessmentScheme.objects.count()
    with pytest.raises(ValidationError) as exc:
        assessment_scheme_create(actor=admin, data=_data(**over))
    assert field in exc.value.message_dict
    if field == "weights":
        assert "100" in exc.value.message_dict["weights"][0]
    assert AssessmentScheme.objects.count() == before
    assert not AuditEvent.objects.filter(object_type="assessment.assessmentscheme").exists()


def test_the_database_refuses_a_sum_other_than_100() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentScheme.objects.create(
            name="x", effective_from=dt.date(2026, 1, 1), **{**WEIGHTS, "weight_closure": 9}
        )
    with pytest.raises(ValidationError):
        AssessmentScheme(name="x", effective_from=dt.date(2026, 1, 1), **{**WEIGHTS, "weight_closure": 9}).full_clean()


def test_update_keeps_the_sum_and_records_the_change(admin: Any) -> None:
    scheme = assessment_scheme_create(actor=admin, data=_data())
    with pytest.raises(ValidationError):
        assessment_scheme_update(actor=admin, scheme_id=scheme.pk, data={"weight_resolution": 50})
    scheme.refresh_from_db()
    assert scheme.weight_resolution == 40
    assessment_scheme_update(
        actor=admin, scheme_id=scheme.pk, data={"weight_resolution": 50, "weight_satisfaction": 30}
    )
    scheme.refresh_from_db()
    assert (scheme.weight_resolution, scheme.weight_satisfaction) == (50, 30)
    event = AuditEvent.objects.filter(action="update", object_id=str(scheme.pk)).get()
    assert event.changes["weight_resolution"] == {"before": 40, "after": 50}
    # nothing changed: no record
    assessment_scheme_update(actor=admin, scheme_id=scheme.pk, data={"weight_resolution": 50})
    assert AuditEvent.objects.filter(action="update", object_id=str(scheme.pk)).count() == 1


def test_only_the_administrator_sets_weights(district: SampleDistrict) -> None:
    street = make_user(Role.STREET_ADMIN, district.streets[0], username="street")
    leader = make_user(Role.LEADER, district.district, username="leader")
    for user in (street, leader):
        with pytest.raises(PermissionDenied):
            assessment_scheme_create(actor=user, data=_data())
    scheme = AssessmentScheme.objects.get()
    with pytest.raises(PermissionDenied):
        assessment_scheme_update(actor=street, scheme_id=scheme.pk, data={"name": "x"})


def test_admin_form_refuses_a_bad_sum_and_audits_a_good_one(admin: Any) -> None:
    client = Client()
    client.force_login(admin)
    form = {
        "name": "后台方案",
        "effective_from": "2026-04-01",
        "is_active": "on",
        "note": "",
        **{k: str(v) for k, v in WEIGHTS.items()},
    }
    bad = client.post("/admin/assessment/assessmentscheme/add/", {**form, "weight_closure": "9"})
    assert bad.status_code == 200
    assert "各项权重之和必须为100" in bad.content.decode()
    good = client.post("/admin/assessment/assessmentscheme/add/", form)
    assert good.status_code == 302
    created = AssessmentScheme.objects.get(name="后台方案")
    assert AuditEvent.objects.filter(action="create", object_id=str(created.pk), message="admin").exists()
    street = make_user(Role.STREET_ADMIN, admin.area, username="street-admin-page")
    client.force_login(street)
    assert client.get("/admin/assessment/assessmentscheme/").status_code in (302, 403)


def test_the_scheme_that_applies_to_a_period(admin: Any) -> None:
    default = AssessmentScheme.objects.get()
    later = assessment_scheme_create(actor=admin, data=_data(effective_from=dt.date(2026, 4, 1)))
    assert scheme_for(dt.date(2026, 3, 31)) == default
    assert scheme_for(dt.date(2026, 4, 30)) == later
    assessment_scheme_update(actor=admin, scheme_id=later.pk, data={"is_active": False})
    assert scheme_for(dt.date(2026, 4, 30)) == default
    assert scheme_for(dt.date(2026, 4, 30), scheme_id=default.pk) == default
    with pytest.raises(ValidationError):
        scheme_for(dt.date(2026, 4, 30), scheme_id=later.pk)  # inactive
    AssessmentScheme.objects.all().delete()
    with pytest.raises(ValidationError) as exc:
        scheme_for(dt.date(2026, 4, 30))
    assert "考核方案" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2026-02", "month", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ("2024-02", "month", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2026-12", "month", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("2026-Q2", "quarter", dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        ("2026-q4", "quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("2026", "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_periods(text: str, kind: str, start: dt.date, end: dt.date) -> None:
    p = parse_period(text)
    assert (p.kind, p.start, p.end) == (kind, start, end)
    assert p.next().start == end + dt.timedelta(days=1)
    assert p.previous().end == start - dt.timedelta(days=1)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26", "2026/05", "abc", "0000"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_period(text)
    assert "period" in exc.value.message_dict


def test_default_period_is_the_current_one() -> None:
    today = dt.date(2026, 8, 15)
    assert parse_period("", kind="quarter", today=today).key == "2026-Q3"
    assert parse_period(None, today=today).key == "2026-08"


def test_weighted_score_formula() -> None:
    scheme = AssessmentScheme(name="s", effective_from=dt.date(2026, 1, 1), **WEIGHTS)
    rates = {
        "on_time_sign_for_rate": 0.9,
        "resolution_rate": 0.8,
        "satisfaction_rate": 0.75,
        "closure_rate": 1.0,
        "rehandling_rate": 0.2,
    }
    # 10*.9 + 40*.8 + 40*.75 + 5*1 + 5*(1-.2) = 9 + 32 + 30 + 5 + 4 = 80
    assert weighted_score(rates, scheme, received=10) == 80.0
    # no evaluation: resolution and satisfaction left out, the rest re-normalised over 20
    partial = {**rates, "resolution_rate": None, "satisfaction_rate": None}
    assert weighted_score(partial, scheme, received=10) == round(100 * (9 + 5 + 4) / 20, 2)
    assert weighted_score(rates, scheme, received=0) is None
    assert weighted_score(dict.fromkeys(rates), scheme, received=3) is None


def test_competition_ranks() -> None:
    assert competition_ranks([90.0, 95.0, 90.0, None, 80.0]) == [2, 1, 2, None, 4]
    assert competition_ranks([]) == []
