import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from civicgrid.audit.chain import audit_purge_expired, verify_chain
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AppendOnlyError, AuditCheckpoint, AuditEvent
from civicgrid.audit.services import audit_record

pytestmark = pytest.mark.django_db


def make_events(n, **kwargs):
    return [
        audit_record(
            action=AuditAction.UPDATE,
            object_type="test.thing",
            object_id=str(i),
            message=f"event {i}",
            changes={"v": {"before": i, "after": i + 1}},
            **kwargs,
        )
        for i in range(n)
    ]


def first_bad(report=None):
    problem = (report or verify_chain()).first_bad
    assert problem is not None
    return problem


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_command():
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    return out.getvalue()


def test_intact_chain_verifies(db):
    events = make_events(5)
    assert events[0].prev_hash == "0" * 64 and events[1].prev_hash == events[0].hash
    report = verify_chain()
    assert report.ok and report.checked == 5
    assert "OK: 5 records" in verify_command()


def test_orm_cannot_change_or_delete(db):
    event = make_events(1)[0]
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(message="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_edited_record_is_detected_and_named(db):
    events = make_events(6)
    raw("UPDATE audit_auditevent SET message = %s WHERE id = %s", ["tampered", events[2].pk])
    raw("UPDATE audit_auditevent SET message = %s WHERE id = %s", ["tampered", events[4].pk])
    report = verify_chain()
    assert not report.ok
    assert first_bad(report).record_id == events[2].pk and first_bad(report).kind == "edited"
    with pytest.raises(CommandError, match=f"first bad record #{events[2].pk} \\(edited\\)"):
        verify_command()


def test_edited_and_rehashed_record_breaks_the_next_link(db):
    events = make_events(4)
    target = AuditEvent.objects.get(pk=events[1].pk)
    target.message = "tampered"
    raw(
        "UPDATE audit_auditevent SET message = %s, hash = %s WHERE id = %s",
        ["tampered", target.compute_hash(), target.pk],
    )
    report = verify_chain()
    assert first_bad(report).record_id == events[2].pk and first_bad(report).kind == "broken_link"


def test_deleted_record_is_detected_and_named(db):
    events = make_events(6)
    raw("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    report = verify_chain()
    assert first_bad(report).record_id == events[3].pk and first_bad(report).kind == "missing"
    with pytest.raises(CommandError, match=f"#{events[3].pk} \\(missing\\)"):
        verify_command()


def test_deleted_tail_is_detected(db):
    events = make_events(4)
    raw("DELETE FROM audit_auditevent WHERE id >= %s", [events[2].pk])
    report = verify_chain()
    assert first_bad(report).record_id == events[2].pk and first_bad(report).kind == "tail_missing"


def test_deleted_first_record_is_detected(db):
    events = make_events(3)
    raw("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])
    assert first_bad().record_id == events[0].pk


def test_purge_deletes_only_expired_records_and_chain_still_verifies(db):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=200), tick=False):
        old = make_events(3)
    with time_machine.travel(now - datetime.timedelta(days=179), tick=False):
        young = make_events(2)  # inside the 180-day retention: must survive
    with time_machine.travel(now, tick=False):
        recent = make_events(2)
        out = io.StringIO()
        call_command("audit", "purge", stdout=out)
    assert "deleted 3 records" in out.getvalue()
    remaining = set(AuditEvent.objects.values_list("id", flat=True))
    assert not remaining & {e.pk for e in old}
    assert {e.pk for e in young + recent} <= remaining
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.last_purged_id == old[-1].pk and checkpoint.last_purged_hash == old[-1].hash
    purge_event = AuditEvent.objects.get(action=AuditAction.PURGE)
    assert purge_event.changes["deleted"] == 3
    assert verify_chain().ok
    assert "from checkpoint" in verify_command()
    # A second purge has nothing to do.
    with time_machine.travel(now, tick=False):
        assert audit_purge_expired().deleted == 0


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_retention_below_180_days_is_never_applied(db):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=100), tick=False):
        kept = make_events(2)
    with time_machine.travel(now, tick=False):
        result = audit_purge_expired()
    assert result.deleted == 0
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in kept]).count() == 2


def test_purge_stops_at_first_young_record(db):
    """Only a prefix goes: an old record after a young one (clock skew) stays, so the
    chain has no hole in the middle."""
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=300), tick=False):
        first = make_events(1)
    with time_machine.travel(now - datetime.timedelta(days=10), tick=False):
        make_events(1)
    with time_machine.travel(now - datetime.timedelta(days=300), tick=False):
        late_old = make_events(1)
    with time_machine.travel(now, tick=False):
        assert audit_purge_expired().deleted == 1
    assert not AuditEvent.objects.filter(pk=first[0].pk).exists()
    assert AuditEvent.objects.filter(pk=late_old[0].pk).exists()
    assert verify_chain().ok


def test_dry_run_deletes_nothing(db):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=400), tick=False):
        make_events(2)
    with time_machine.travel(now, tick=False):
        out = io.StringIO()
        call_command("audit", "purge", "--dry-run", stdout=out)
    assert "would delete 2" in out.getvalue()
    assert AuditEvent.objects.count() == 2 and not AuditCheckpoint.objects.exists()


def test_tampering_after_a_purge_is_still_detected(db):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(days=400), tick=False):
        make_events(2)
    with time_machine.travel(now, tick=False):
        survivors = make_events(3)
        audit_purge_expired()
    raw("DELETE FROM audit_auditevent WHERE id = %s", [survivors[0].pk])
    assert first_bad().record_id == survivors[0].pk
