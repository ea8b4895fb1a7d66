"""The periodic job: last period's report once per schedule (idempotent), recipients told in-app,
failures recorded, retention purge; schedule services validate owner and recipients."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.audit.models import AuditEvent
from civicgrid.common.scheduler import registered_jobs
from civicgrid.notifications.models import Notification
from civicgrid.reports.models import Report, ReportStatus
from civicgrid.reports.services import report_schedule_create, reports_purge, schedules_run
from civicgrid.reports.tasks import SCHEDULES_JOB

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def schedule(fx):
    return report_schedule_create(
        actor=fx.w.operator,
        data={"name": "全区月报", "area": fx.d.district, "period_kind": "month", "want_xlsx": True, "want_pdf": True},
        recipients=[fx.w.leader, fx.w.operator],
    )


def test_last_month_once_and_recipients_told(fx, schedule):
    first = schedules_run()
    assert (first.created, first.generated, first.failed) == (1, 1, 0)
    report = Report.objects.get()
    assert (report.period_key, report.status, report.schedule_id) == ("2026-02", ReportStatus.DONE, schedule.pk)
    assert report.xlsx_file and report.pdf_file
    assert report.requested_by == fx.w.operator
    told = Notification.objects.filter(object_type="reports.report", object_id=str(report.pk))
    assert sorted(n.recipient_id or 0 for n in told) == sorted([fx.w.leader.pk, fx.w.operator.pk])
    assert AuditEvent.objects.filter(object_id=str(report.pk), message="scheduled report").exists()
    # again the same day, and later the same month: nothing new
    again = schedules_run()
    assert (again.created, again.skipped) == (0, 1)
    with time_machine.travel(dt.datetime(2026, 3, 31, 23, 0, tzinfo=TZ), tick=False):
        assert schedules_run().created == 0
    # the next month makes March's
    with time_machine.travel(dt.datetime(2026, 4, 1, 0, 30, tzinfo=TZ), tick=False):
        run = schedules_run()
    assert run.created == 1
    assert sorted(Report.objects.values_list("period_key", flat=True)) == ["2026-02", "2026-03"]
    schedule.refresh_from_db()
    assert schedule.last_period_key == "2026-03"


def test_inactive_schedule_makes_nothing(fx, schedule):
    schedule.is_active = False
    schedule.save()
    assert schedules_run().created == 0
    assert not Report.objects.exists()


def test_owner_who_lost_the_right_fails_visibly_once(fx, schedule):
    fx.w.operator.is_active = False
    fx.w.operator.save()
    run = schedules_run()
    assert (run.created, run.failed) == (1, 1)
    report = Report.objects.get()
    assert report.status == ReportStatus.FAILED
    assert report.message.startswith("生成失败")
    assert schedules_run().created == 0  # not retried every quarter of an hour


def test_schedule_validation(fx):
    base = {"name": "街道半年报", "area": fx.d.streets[0], "period_kind": "half", "want_xlsx": True}
    with pytest.raises(ValidationError) as exc:
        report_schedule_create(actor=fx.w.street_admin, data={**base, "period_kind": "week"})
    assert "period_kind" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        report_schedule_create(actor=fx.w.street_admin, data={**base, "want_xlsx": False, "want_pdf": False})
    assert "formats" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        report_schedule_create(actor=fx.w.street_admin, data=base, recipients=[fx.w.officer])
    assert "部门处置人员" in exc.value.message_dict["recipients"][0]
    with pytest.raises(PermissionDenied):
        report_schedule_create(actor=fx.w.street_admin, data={**base, "area": fx.d.streets[1]})
    with pytest.raises(PermissionDenied):
        report_schedule_create(actor=fx.w.leader, data=base)  # read-only
    with pytest.raises(PermissionDenied):
        report_schedule_create(actor=fx.community_worker, data={**base, "area": fx.d.communities[0]})
    # the system administrator (no case reading) must name an owner who can read cases
    with pytest.raises(ValidationError) as exc:
        report_schedule_create(actor=fx.sysadmin, data=base)
    assert "owner" in exc.value.message_dict
    ok = report_schedule_create(actor=fx.sysadmin, data={**base, "owner": fx.w.street_admin})
    assert ok.owner == fx.w.street_admin


def test_retention_purge_deletes_rows_and_files(fx, schedule, settings):
    schedules_run()
    report = Report.objects.get()
    storage, names = report.xlsx_file.storage, [str(report.xlsx_file.name), str(report.pdf_file.name)]
    assert all(storage.exists(n) for n in names)
    settings.REPORTS_RETENTION_DAYS = 30
    assert reports_purge(today=dt.date(2026, 4, 10)) == 0  # 23 days old
    assert reports_purge(today=dt.date(2026, 4, 30)) == 1
    assert not Report.objects.exists()
    assert not any(storage.exists(n) for n in names)
    assert AuditEvent.objects.filter(object_type="reports.report", action="delete").exists()
    settings.REPORTS_RETENTION_DAYS = 0
    assert reports_purge(today=dt.date(2030, 1, 1)) == 0


def test_job_is_registered():
    assert SCHEDULES_JOB in {j.name for j in registered_jobs()}
