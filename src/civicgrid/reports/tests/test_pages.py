"""Pages: the list (scoped, paginated, query count), generate now (400 with Chinese messages,
404 outside scope), detail/progress partial, scoped download, overdue list, schedules."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.audit.models import AuditEvent
from civicgrid.dashboards.tests.conftest import TODAY
from civicgrid.reports.content import report_data
from civicgrid.reports.models import Report, ReportSchedule, ReportStatus
from civicgrid.reports.periods import parse_period
from civicgrid.reports.services import _create

pytestmark = pytest.mark.django_db


def _reports(fx, n: int, user=None, schedule=None):
    period = parse_period("2026-01", today=TODAY)
    return [
        _create(fx.d.district, period, True, False, requested_by=user or fx.w.operator, schedule=schedule)
        for _ in range(n)
    ]


def test_list_is_scoped_paginated_and_constant_in_queries(fx, client, django_assert_max_num_queries):
    _reports(fx, 25)
    period = parse_period("2026-01", today=TODAY)
    schedule = ReportSchedule.objects.create(
        name="小召月报", area=fx.d.streets[1], area_code=fx.d.streets[1].code, period_kind="month", owner=fx.w.operator
    )
    _create(fx.d.streets[1], period, True, True, requested_by=fx.w.operator, schedule=schedule)
    _create(fx.d.streets[0], period, True, True, requested_by=fx.w.street_admin, schedule=None)
    client.force_login(fx.w.operator)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("reports:list"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 20
    # the operator's own 25 and the scheduled one; not the street administrator's own request
    assert response.context["page"].paginator.count == 26
    with django_assert_max_num_queries(14):
        assert client.get(reverse("reports:list") + "?page=2&kind=month").status_code == 200
    client.force_login(fx.w.street_admin)
    page = client.get(reverse("reports:list")).context["page"]
    # only their own request: the district reports and the other street's scheduled one are not theirs to see
    assert [r.area_code for r in page.object_list] == [fx.d.streets[0].code]


def test_generate_form_errors_are_400_in_chinese(fx, client):
    client.force_login(fx.w.operator)
    url = reverse("reports:list")
    bad = client.post(url, {"area": fx.d.district.code, "period": "2026-13", "want_xlsx": "on"})
    assert bad.status_code == 400
    assert "报表周期格式不正确" in bad.content.decode()
    none = client.post(url, {"area": fx.d.district.code, "period": "2026-02"})
    assert none.status_code == 400
    assert "请至少选择一种格式" in none.content.decode()
    assert not Report.objects.exists()


def test_generate_outside_scope(fx, client):
    client.force_login(fx.w.street_admin)
    response = client.post(
        reverse("reports:list"), {"area": fx.d.streets[1].code, "period": "2026-02", "want_xlsx": "on"}
    )
    assert response.status_code == 400  # not even a choice of the form
    assert not Report.objects.exists()
    client.force_login(fx.sysadmin)
    assert client.get(reverse("reports:list")).status_code == 403
    client.logout()
    assert client.get(reverse("reports:list")).status_code == 302


def test_generate_detail_download(fx, client, django_capture_on_commit_callbacks):
    client.force_login(fx.w.street_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:list"),
            {"area": fx.d.streets[0].code, "period": "2026-02", "want_xlsx": "on", "want_pdf": "on"},
        )
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[report.pk])
    assert report.status == ReportStatus.DONE, report.message
    partial = client.get(reverse("reports:detail", args=[report.pk]), HTTP_HX_REQUEST="true")
    assert 'data-status="done"' in partial.content.decode()
    assert "hx-trigger" not in partial.content.decode()
    download = client.get(reverse("reports:download", args=[report.pk, "xlsx"]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content)[:2] == b"PK"
    assert AuditEvent.objects.filter(object_id=str(report.pk), message="report downloaded").count() == 1
    # another street cannot see it, download it or poll it
    client.force_login(fx.w.other_worker)
    assert client.get(reverse("reports:detail", args=[report.pk])).status_code == 404
    assert client.get(reverse("reports:download", args=[report.pk, "xlsx"])).status_code == 404
    # a bad format is a 404
    client.force_login(fx.w.street_admin)
    assert client.get(reverse("reports:download", args=[report.pk, "doc"])).status_code == 404


def test_pending_report_polls(fx, client):
    report = _reports(fx, 1)[0]
    client.force_login(fx.w.operator)
    partial = client.get(reverse("reports:detail", args=[report.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial
    assert 'data-status="pending"' in partial


def test_overdue_list_counts_the_report_figure(fx, client, django_assert_max_num_queries):
    client.force_login(fx.w.operator)
    data = report_data(fx.w.operator, fx.d.district.code, parse_period("2026-02", today=TODAY))
    url = reverse("reports:overdue") + f"?area={fx.d.district.code}&end=2026-02-28"
    assert data.overdue_url.endswith(url)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.context["page"].paginator.count == data.overdue_total
    assert client.get(reverse("reports:overdue") + "?area=x&end=2026-02-28").status_code == 400
    assert client.get(reverse("reports:overdue") + f"?area={fx.d.district.code}&end=02-28").status_code == 400
    client.force_login(fx.w.street_admin)
    assert client.get(url).status_code == 404


def test_schedule_pages(fx, client, django_assert_max_num_queries):
    client.force_login(fx.w.street_admin)
    url = reverse("reports:schedules")
    response = client.post(
        url,
        {
            "name": "兴隆巷月报",
            "area": fx.d.streets[0].pk,
            "period_kind": "month",
            "want_pdf": "on",
            "recipients": [fx.w.worker.pk],
            "is_active": "on",
        },
    )
    # a community worker cannot read the street's report: refused, nothing written
    assert response.status_code == 400
    assert "所选辖区不在账号 worker0 的辖区范围内" in response.content.decode()
    assert not ReportSchedule.objects.exists()
    response = client.post(
        url,
        {
            "name": "兴隆巷月报",
            "area": fx.d.streets[0].pk,
            "period_kind": "month",
            "want_pdf": "on",
            "recipients": [fx.w.street_admin.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    schedule = ReportSchedule.objects.get()
    assert schedule.owner == fx.w.street_admin
    assert list(schedule.recipients.all()) == [fx.w.street_admin]
    assert AuditEvent.objects.filter(object_type="reports.reportschedule", action="create").exists()
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200
    # no format: 400 with the Chinese message, nothing changed
    edit = reverse("reports:schedule_edit", args=[schedule.pk])
    bad = client.post(edit, {"name": "x", "area": fx.d.streets[0].pk, "period_kind": "month"})
    assert bad.status_code == 400
    assert "请至少选择一种格式" in bad.content.decode()
    ok = client.post(edit, {"name": "兴隆巷年报", "area": fx.d.streets[0].pk, "period_kind": "year", "want_xlsx": "on"})
    assert ok.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.name, schedule.period_kind, schedule.want_pdf) == ("兴隆巷年报", "year", False)
    # outside the street: another street's admin cannot see it; a community worker cannot manage
    client.force_login(fx.w.other_worker)
    assert client.get(url).status_code == 403
    client.force_login(fx.w.street_admin)
    assert client.post(reverse("reports:schedule_delete", args=[schedule.pk])).status_code == 302
    assert not ReportSchedule.objects.exists()
    assert AuditEvent.objects.filter(object_type="reports.reportschedule", action="delete").exists()
