"""Report reads, always scoped: a person sees the reports of nodes in their territory that they
asked for, and the scheduled reports of those nodes (department handlers: only their own, as
their case view is by department)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.scope import scope_queryset
from civicgrid.common.errors import NotFound
from civicgrid.reports.models import Report, ReportSchedule
from civicgrid.reports.permissions import may_generate, may_manage_schedules


def report_list(user: Any, *, area_code: str = "", period_kind: str = "", period_key: str = "") -> QuerySet[Report]:
    """The reports the user may see (newest first), without their JSON figures (``report_data_json``)."""
    if not may_generate(user):
        return Report.objects.none()
    qs = scope_queryset(user, Report.objects.all(), "area_code")
    if str(user.role) == Role.DEPARTMENT_HANDLER:
        qs = qs.filter(requested_by=user, schedule__isnull=True)
    else:
        qs = qs.filter(Q(requested_by=user) | Q(schedule__isnull=False))
    if area_code:
        qs = qs.filter(area_code=area_code)
    if period_kind:
        qs = qs.filter(period_kind=period_kind)
    if period_key:
        qs = qs.filter(period_key=period_key)
    return qs.select_related("requested_by", "schedule").defer("data").order_by("-created_at", "-id")


def report_get(user: Any, report_id: int) -> Report:
    report = report_list(user).filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("报表不存在或不在您的辖区范围内"))
    return report


def report_data_json(user: Any, report_id: int) -> Any:
    """The stored figures of a report the user may see (None: not made yet, or made before
    figures were kept); NotFound outside the user's reports."""
    found = list(report_list(user).filter(pk=report_id).values_list("data", flat=True)[:1])
    if not found:
        raise NotFound(_("报表不存在或不在您的辖区范围内"))
    return found[0]


def schedule_list(user: Any) -> QuerySet[ReportSchedule]:
    if not may_manage_schedules(user):
        return ReportSchedule.objects.none()
    qs = (
        ReportSchedule.objects.all()
        if user.is_superuser
        else scope_queryset(user, ReportSchedule.objects.all(), "area_code")
    )
    return qs.select_related("area", "owner").prefetch_related("recipients").order_by("area_code", "period_kind", "id")


def schedule_get(user: Any, schedule_id: int) -> ReportSchedule:
    schedule = schedule_list(user).filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(_("定时报表不存在或不在您的辖区范围内"))
    return schedule
