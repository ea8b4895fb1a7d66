"""Report writes: request a generation (``report_generate``), run it (``report_run``), schedules
(create / update / delete), the periodic job (``schedules_run``) and the retention purge
(``reports_purge``). Every change is audited; generating is audited as an EXPORT (it reads
data; leaders may do it)."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.scope import ensure_in_scope
from civicgrid.accounts.services import ensure_can_write
from civicgrid.audit import context
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.errors import NotFound
from civicgrid.dashboards.screen import screen_node
from civicgrid.reports import conf
from civicgrid.reports.models import Report, ReportSchedule, ReportStatus
from civicgrid.reports.periods import PERIOD_KINDS, ReportPeriod, last_completed, parse_period, period_containing
from civicgrid.reports.permissions import require_generate, require_manage_schedules, validate_reader
from civicgrid.territory.models import Area

logger = logging.getLogger(__name__)
PROGRESS_TTL = 6 * 3600
SCHEDULE_FIELDS = ("name", "area", "period_kind", "want_xlsx", "want_pdf", "owner", "is_active")


def progress_key(report_id: int) -> str:
    return f"civicgrid:report:{report_id}"


def _formats(want_xlsx: bool, want_pdf: bool) -> None:
    if not (want_xlsx or want_pdf):
        raise ValidationError({"formats": [_("请至少选择一种格式 (Excel 或 PDF)")]})


def _period_of(report: Report) -> ReportPeriod:
    return ReportPeriod(report.period_kind, report.period_key, report.period_start, report.period_end)


@transaction.atomic
def report_generate(
    *,
    actor: Any,
    area_code: str,
    period: str,
    want_xlsx: bool = True,
    want_pdf: bool = True,
    today: dt.date | None = None,
    start: bool = True,
) -> Report:
    """Queue the report of ``area_code`` for ``period`` (2026-05 / 2026-H1 / 2026), generated as
    ``actor``; the generation starts after the transaction commits (``jobs.start``). The same
    person asking again for the same report while it is being made gets that one back."""
    require_generate(actor)
    today = today or timezone.localdate()
    code = (area_code or "").strip()
    if not code:
        raise ValidationError({"area": [_("请选择辖区")]})
    if not code.isdigit():
        raise ValidationError({"area": [_("辖区编码只能是数字")]})
    parsed = parse_period(period, today=today)
    _formats(want_xlsx, want_pdf)
    node = screen_node(actor, code)  # NotFound outside the user's territory
    running = (
        Report.objects.filter(
            requested_by=actor,
            area=node,
            period_key=parsed.key,
            want_xlsx=want_xlsx,
            want_pdf=want_pdf,
            schedule__isnull=True,
            status__in=(ReportStatus.PENDING, ReportStatus.RUNNING),
        )
        .order_by("-id")
        .first()
    )
    if running is not None:
        return running
    report = _create(node, parsed, want_xlsx, want_pdf, requested_by=actor, schedule=None)
    audit_record(
        action=AuditAction.EXPORT,
        obj=report,
        actor=actor,
        changes={
            "report": {
                "before": None,
                "after": {"area": node.code, "period": parsed.key, "formats": report.formats_label},
            }
        },
        message="report requested",
    )
    if start:
        from civicgrid.reports.jobs import start_report

        start_report(report.pk)
    return report


def _create(
    node: Area,
    period: ReportPeriod,
    want_xlsx: bool,
    want_pdf: bool,
    *,
    requested_by: Any,
    schedule: ReportSchedule | None,
) -> Report:
    return Report.objects.create(
        area=node,
        area_code=node.code,
        area_name=node.name,
        period_kind=period.kind,
        period_key=period.key,
        period_start=period.start,
        period_end=period.end,
        want_xlsx=want_xlsx,
        want_pdf=want_pdf,
        requested_by=requested_by,
        schedule=schedule,
    )


@dataclass(frozen=True)
class RunResult:
    report: Report
    ok: bool


def report_run(report_id: int, *, today: dt.date | None = None) -> RunResult:
    """Make the files of a queued report (in a worker, a thread or inline). Progress goes to the
    cache; the row moves pending → running → done/failed; recipients of a schedule are told."""
    from civicgrid.reports.content import STEPS, report_data, report_json
    from civicgrid.reports.excel import write_excel
    from civicgrid.reports.pdf import write_pdf

    claimed = Report.objects.filter(pk=report_id, status=ReportStatus.PENDING).update(
        status=ReportStatus.RUNNING, started_at=timezone.now()
    )
    report = Report.objects.select_related("requested_by", "area", "schedule").get(pk=report_id)
    if not claimed:  # already run (or running) elsewhere: do not run twice
        return RunResult(report, report.status == ReportStatus.DONE)
    total = STEPS + int(report.want_xlsx) + int(report.want_pdf)

    def progress(done: int, _steps: int) -> None:
        cache.set(progress_key(report_id), {"done": done, "total": total}, PROGRESS_TTL)

    actor = report.requested_by
    try:
        if actor is None:
            raise ValidationError(_("生成身份的账号已不存在"))
        with context.bind(user=actor), tempfile.TemporaryDirectory(prefix="civicgrid-report-") as tmp:
            data = report_data(actor, report.area_code, _period_of(report), today=today, progress=progress)
            files: dict[str, Path] = {}
            if report.want_xlsx:
                files["xlsx"] = write_excel(data, Path(tmp) / report.download_name("xlsx"))
                progress(STEPS + 1, total)
            if report.want_pdf:
                files["pdf"] = write_pdf(data, Path(tmp) / report.download_name("pdf"))
            summary = {
                "received": data.metrics.received,
                "closed": data.metrics.closed,
                "closure_rate": data.metrics.closure_rate,
                "overdue": data.overdue_total,
                "end": data.end.isoformat(),
            }
            _store(report, files, summary, report_json(data))
    except Exception as exc:
        logger.exception("report %s failed", report_id)
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(getattr(exc, "message", exc))
        Report.objects.filter(pk=report_id).update(
            status=ReportStatus.FAILED, message=(_("生成失败: ") + message)[:500], finished_at=timezone.now()
        )
        cache.delete(progress_key(report_id))
        report.refresh_from_db()
        return RunResult(report, False)
    cache.delete(progress_key(report_id))
    report.refresh_from_db()
    return RunResult(report, True)


@transaction.atomic
def _store(report: Report, files: dict[str, Path], summary: dict[str, Any], payload: dict[str, Any]) -> None:
    for fmt, path in files.items():
        field = report.xlsx_file if fmt == "xlsx" else report.pdf_file
        with path.open("rb") as handle:
            field.save(report.download_name(fmt), File(handle), save=False)
        setattr(report, f"{fmt}_size", path.stat().st_size)
    report.status = ReportStatus.DONE
    report.summary = summary
    report.data = payload
    report.finished_at = timezone.now()
    report.message = ""
    report.save()
    if report.schedule_id:
        _notify(report)


REPORT_FORMATS = ("xlsx", "pdf")


def report_file_open(*, actor: Any, report: Report, fmt: str) -> File:  # type: ignore[type-arg]
    """Open a done report's Excel or PDF (``report`` already read through the scoped selector)
    for download, audited as an EXPORT; NotFound when that file was not made (or is gone)."""
    field = {"xlsx": report.xlsx_file, "pdf": report.pdf_file}.get(fmt)
    if field is None or not field or not field.name or not field.storage.exists(field.name):
        raise NotFound(_("文件不存在"))
    handle = field.open("rb")
    audit_record(
        action=AuditAction.EXPORT,
        obj=report,
        actor=actor,
        changes={"download": {"before": None, "after": fmt}},
        message="report downloaded",
    )
    return handle


def _notify(report: Report) -> None:
    from civicgrid.notifications.enums import NotificationChannel
    from civicgrid.notifications.services import Recipient, notification_enqueue

    assert report.schedule is not None
    users = list(report.schedule.recipients.filter(is_active=True).values_list("pk", flat=True))
    notification_enqueue(
        recipients=[Recipient(channel=NotificationChannel.IN_APP, user_id=pk) for pk in users],
        subject=_("%(area)s %(period)s 报表已生成") % {"area": report.area_name, "period": report.period_key},
        body=_("定时报表“%(name)s”已生成, 可在统计报表页下载。") % {"name": report.schedule.name},
        cause=f"report:{report.pk}:ready",
        object_type="reports.report",
        object_id=str(report.pk),
        link=reverse("reports:detail", args=[report.pk]),
        area_code=report.area_code,
    )


# --- schedules ---------------------------------------------------------------------------


def _clean_schedule(actor: Any, data: dict[str, Any], instance: ReportSchedule | None) -> dict[str, Any]:
    values = {f: data.get(f, getattr(instance, f) if instance else None) for f in SCHEDULE_FIELDS}
    name = str(values["name"] or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("请填写名称")]
    elif len(name) > 100:
        errors["name"] = [_("名称不能超过100个字")]
    values["name"] = name
    area = values["area"]
    if not isinstance(area, Area):
        errors["area"] = [_("请选择辖区")]
    if values["period_kind"] not in PERIOD_KINDS:
        errors["period_kind"] = [_("报表类型只能是月报、半年报或年报")]
    values["want_xlsx"] = bool(values["want_xlsx"])
    values["want_pdf"] = bool(values["want_pdf"])
    values["is_active"] = True if values["is_active"] is None else bool(values["is_active"])
    if not (values["want_xlsx"] or values["want_pdf"]):
        errors["formats"] = [_("请至少选择一种格式 (Excel 或 PDF)")]
    if errors:
        raise ValidationError(errors)
    assert isinstance(area, Area)
    if not actor.is_superuser:
        ensure_in_scope(actor, area.code)
    owner = values["owner"] or actor
    values["owner"] = owner
    validate_reader(owner, area.code, "owner")
    return values


def _recipients(recipients: Iterable[Any] | None, area_code: str) -> list[Any] | None:
    if recipients is None:
        return None
    users = list(recipients)
    for user in users:
        validate_reader(user, area_code, "recipients")
    return users


def _schedule_snapshot(s: ReportSchedule, recipients: list[Any] | None = None) -> dict[str, Any]:
    people = recipients if recipients is not None else list(s.recipients.all())
    return {
        "name": s.name,
        "area": s.area_code,
        "period_kind": s.period_kind,
        "formats": s.formats_label,
        "owner": s.owner.username if s.owner_id else None,
        "recipients": sorted(u.username for u in people),
        "is_active": s.is_active,
    }


@transaction.atomic
def report_schedule_create(
    *, actor: Any, data: dict[str, Any], recipients: Iterable[Any] | None = None
) -> ReportSchedule:
    ensure_can_write(actor)
    require_manage_schedules(actor)
    values = _clean_schedule(actor, data, None)
    people = _recipients(recipients, values["area"].code) or []
    schedule = ReportSchedule.objects.create(**values, area_code=values["area"].code, created_by=actor)
    schedule.recipients.set(people)
    after = _schedule_snapshot(schedule, people)
    audit_record(
        action=AuditAction.CREATE,
        obj=schedule,
        actor=actor,
        changes={k: {"before": None, "after": v} for k, v in after.items()},
    )
    return schedule


@transaction.atomic
def report_schedule_update(
    *, actor: Any, schedule_id: int, data: dict[str, Any], recipients: Iterable[Any] | None = None
) -> ReportSchedule:
    ensure_can_write(actor)
    require_manage_schedules(actor)
    schedule = _schedule_for_write(actor, schedule_id)
    before = _schedule_snapshot(schedule)
    values = _clean_schedule(actor, data, schedule)
    people = _recipients(recipients, values["area"].code)
    if people is None:  # keep the recipients, but they must still fit a changed node
        people = list(schedule.recipients.all())
        _recipients(people, values["area"].code)
    for key, value in values.items():
        setattr(schedule, key, value)
    schedule.area_code = values["area"].code
    schedule.save()
    schedule.recipients.set(people)
    after = _schedule_snapshot(schedule, people)
    changes = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changes:
        audit_record(action=AuditAction.UPDATE, obj=schedule, actor=actor, changes=changes)
    return schedule


@transaction.atomic
def report_schedule_delete(*, actor: Any, schedule_id: int) -> None:
    ensure_can_write(actor)
    require_manage_schedules(actor)
    schedule = _schedule_for_write(actor, schedule_id)
    before = _schedule_snapshot(schedule)
    audit_record(
        action=AuditAction.DELETE,
        obj=schedule,
        actor=actor,
        changes={k: {"before": v, "after": None} for k, v in before.items()},
    )
    schedule.delete()  # its reports stay (schedule set to NULL)


def _schedule_for_write(actor: Any, schedule_id: int) -> ReportSchedule:
    from civicgrid.reports.selectors import schedule_list

    schedule = schedule_list(actor).select_for_update().filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(_("定时报表不存在或不在您的辖区范围内"))
    return schedule


# --- the periodic job ----------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRun:
    created: int
    generated: int
    failed: int
    skipped: int
    purged: int

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "generated": self.generated,
            "failed": self.failed,
            "skipped": self.skipped,
            "purged": self.purged,
        }


def schedules_run(*, today: dt.date | None = None) -> ScheduleRun:
    """For every active schedule, make the report of the last completed period once
    (idempotent: the (schedule, period) pair is unique, so two workers running at once make
    one report), then purge reports past the retention. Safe to run as often as wanted."""
    today = today or timezone.localdate()
    created = generated = failed = skipped = 0
    schedules = ReportSchedule.objects.filter(is_active=True).select_related("area", "owner").order_by("id")
    for schedule in schedules:
        period = last_completed(schedule.period_kind, today)
        if Report.objects.filter(schedule=schedule, period_key=period.key).exists():
            skipped += 1
            continue
        report = _schedule_report(schedule, period)
        if report is None:
            skipped += 1
            continue
        created += 1
        result = report_run(report.pk, today=today)
        if result.ok:
            generated += 1
        else:
            failed += 1
    purged = reports_purge(today=today)
    return ScheduleRun(created, generated, failed, skipped, purged)


def _schedule_report(schedule: ReportSchedule, period: ReportPeriod) -> Report | None:
    try:
        with transaction.atomic():
            report = _create(
                schedule.area,
                period,
                schedule.want_xlsx,
                schedule.want_pdf,
                requested_by=schedule.owner,
                schedule=schedule,
            )
            ReportSchedule.objects.filter(pk=schedule.pk).update(last_period_key=period.key)
            audit_record(
                action=AuditAction.EXPORT,
                obj=report,
                actor=None,
                actor_label="scheduler",
                changes={
                    "report": {
                        "before": None,
                        "after": {"area": schedule.area_code, "period": period.key, "schedule": schedule.pk},
                    }
                },
                message="scheduled report",
            )
    except IntegrityError:  # another worker made it a moment ago
        return None
    return report


def reports_purge(*, today: dt.date | None = None) -> int:
    """Delete reports (rows and files) older than ``conf.retention_days()`` (0: keep)."""
    days = conf.retention_days()
    if days <= 0:
        return 0
    today = today or timezone.localdate()
    cutoff = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days), dt.time.min))
    old = list(Report.objects.filter(created_at__lt=cutoff).exclude(status=ReportStatus.RUNNING).order_by("id")[:500])
    if not old:
        return 0
    with transaction.atomic():
        audit_record(
            action=AuditAction.DELETE,
            object_type="reports.report",
            object_id=",".join(str(r.pk) for r in old)[:60],
            object_repr=_("过期报表清理"),
            actor=None,
            actor_label="scheduler",
            changes={"reports": {"before": len(old), "after": 0}},
            message=f"retention {days} days",
        )
        Report.objects.filter(pk__in=[r.pk for r in old]).delete()
    for r in old:  # files after the rows are gone (a crash leaves a file, never a dangling row)
        for field in (r.xlsx_file, r.pdf_file):
            if field and field.name:
                field.storage.delete(field.name)
    return len(old)


__all__ = [
    "ScheduleRun",
    "period_containing",
    "progress_key",
    "report_file_open",
    "report_generate",
    "report_run",
    "report_schedule_create",
    "report_schedule_delete",
    "report_schedule_update",
    "reports_purge",
    "schedules_run",
]
