"""Joint handling (联合处置): the lead of a case asks linkage departments to co-handle it.

The lead (the case's current owner - a grid chief, a department, a tier unit - or a
dispatcher of its territory) asks one or more co-handling departments (协办单位) for help;
each part (``models.CaseAssist``) is signed for, worked and reported back by the department
(or declined with a reason), or cancelled by the lead. The lead may report the whole case back
only when no part is still open, or with an explicit override reason (then the open parts are
cancelled with that reason; ``report_back_guard``, called from the REPORT_BACK path).

Every write here is keyword-only and atomic; a part's status changes only through
``workflow.ASSIST_TRANSITIONS``; each change bumps the part's ``version`` (optimistic locking:
a stale version is a 409), writes one CaseEvent (timeline, not a transition), one audit record
and the notifications (transactional outbox) in the same transaction. A part never changes the
case's status; asking for co-handlers bumps the case's version (so a report back racing with a
new request is a conflict, never a report with an unseen open part)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.accounts.models import Department, User
from civicgrid.accounts.permissions import ROLE_CAPABILITIES
from civicgrid.accounts.services import ensure_can_write
from civicgrid.audit.enums import AuditAction
from civicgrid.cases import selectors, workflow
from civicgrid.cases.enums import OPEN_ASSIST_STATUSES, TERMINAL_STATUSES, AssistAction, AssistStatus, CaseAction
from civicgrid.cases.models import Case, CaseAssist, CaseEvent
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.services import _record_event, _set_fields
from civicgrid.cases.workflow import SYSTEM_ACTOR
from civicgrid.common.errors import Conflict, DomainError, Forbidden, NotFound
from civicgrid.common.text import join_list

NOTE_MAX = 2000
MAX_DEPARTMENTS_PER_REQUEST = 10

# Marked for extraction only; translated where they are raised.
CASE_CONFLICT_MESSAGE = gettext_noop("该案件已被他人更新, 请刷新后重试")
ASSIST_CONFLICT_MESSAGE = gettext_noop("该协办任务已被他人更新, 请刷新后重试")


def _actor_label(actor: Any) -> str:
    return str(actor) if isinstance(actor, User) else _("系统")


def _text(value: Any, *, field: str, label: str, required: bool) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
    if len(text) > NOTE_MAX:
        raise ValidationError({field: _("%(label)s不能超过%(n)d个字") % {"label": label, "n": NOTE_MAX}})
    return text


def _assist_data(assist: CaseAssist, from_status: str, to_status: str) -> dict[str, Any]:
    return {
        "assist": {
            "id": assist.pk,
            "department": {"id": assist.department_id, "name": assist.department.name},
            "from": from_status,
            "to": to_status,
            "due_at": assist.due_at.isoformat(),
        }
    }


def _record(
    *,
    case: Case,
    assist: CaseAssist,
    actor: Any,
    action: str,
    from_status: str,
    to_status: str,
    note: str,
    changes: dict[str, Any],
    audit_action: str,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> CaseEvent:
    """One timeline line (not a transition: the case's status is unchanged) + one audit record
    of the part (its status change added) + the in-transaction signal (the case engine's hook
    for the outbox), through the case engine's event writer."""
    event_action = workflow.ASSIST_EVENT[action]
    data = _assist_data(assist, from_status, to_status)
    if extra:
        data["assist"].update(extra)
    return _write_event(
        case=case,
        assist=assist,
        actor=actor,
        action=event_action,
        note=note,
        data=data,
        changes={**changes, "status": {"before": from_status or None, "after": to_status}},
        audit_action=audit_action,
        message=f"{event_action} case:{case.pk} {assist.department.name}: {note}",
        now=now,
    )


def _write_event(
    *,
    case: Case,
    assist: CaseAssist,
    actor: Any,
    action: str,
    note: str,
    data: dict[str, Any],
    changes: dict[str, Any],
    audit_action: str,
    message: str,
    now: datetime,
) -> CaseEvent:
    """A part's event on the case's timeline (the case's status unchanged, no on-commit
    signal) and its audit record (of the part), written by ``services._record_event``. An
    actor that is not a user is "the system"."""
    return _record_event(
        case=case,
        actor=actor if isinstance(actor, User) else SYSTEM_ACTOR,
        action=action,
        from_status=case.status,
        to_status=case.status,
        note=note,
        data=data,
        changes=changes,
        audit_action=audit_action,
        is_transition=False,
        now=now,
        obj=assist,
        message=message,
        on_commit=False,
    )


# --- notifications (the transactional outbox) ------------------------------------------------------


def _handler_roles() -> list[str]:
    return [role for role, caps in ROLE_CAPABILITIES.items() if CaseCapability.HANDLE in caps]


def _department_members(department_id: int) -> list[int]:
    qs = User.objects.filter(departments=department_id, is_active=True, role__in=_handler_roles())
    return list(qs.order_by("pk").values_list("pk", flat=True)[:50])


def _lead_users(case: Case, assist: CaseAssist) -> list[int]:
    """Who hears back from a co-handler: the one who asked, and the case's current owner (the
    handler; else the members of its department; else the staff of its tier unit)."""
    ids: list[int] = []
    if assist.requested_by_id:
        ids.append(assist.requested_by_id)
    if case.current_handler_id:
        ids.append(case.current_handler_id)
    elif case.current_department_id:
        ids += _department_members(case.current_department_id)
    elif case.current_unit_id:
        qs = User.objects.filter(area_id=case.current_unit_id, is_active=True, role__in=_handler_roles())
        ids += list(qs.order_by("pk").values_list("pk", flat=True)[:50])
    active = set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    return [uid for uid in dict.fromkeys(ids) if uid in active]


def _notify(*, case: Case, assist: CaseAssist, actor: Any, action: str, event: CaseEvent, text: str) -> None:
    from civicgrid.notifications.enums import NotificationChannel
    from civicgrid.notifications.services import Recipient, notification_enqueue

    to_department = action in (AssistAction.REQUEST, AssistAction.CANCEL)
    user_ids = _department_members(assist.department_id) if to_department else _lead_users(case, assist)
    actor_id = getattr(actor, "pk", None)
    values = {
        "code": case.tracking_code,
        "title": case.title,
        "dept": assist.department.name,
        "who": _actor_label(actor),
        "text": text or "-",
        "due": timezone.localtime(assist.due_at).strftime("%Y-%m-%d %H:%M"),
    }
    if action == AssistAction.REQUEST:
        subject = _("请求协办: %(title)s") % values
        body = _("%(who)s请%(dept)s协办案件 %(code)s “%(title)s”: %(text)s。协办时限 %(due)s。") % values
    elif action == AssistAction.ACKNOWLEDGE:
        subject = _("协办已签收: %(dept)s · %(title)s") % values
        body = _("%(dept)s(%(who)s)已签收案件 %(code)s 的协办任务。") % values
    elif action == AssistAction.REPORT:
        subject = _("协办已反馈: %(dept)s · %(title)s") % values
        body = _("%(dept)s反馈案件 %(code)s 的协办结果: %(text)s") % values
    elif action == AssistAction.DECLINE:
        subject = _("协办被拒绝: %(dept)s · %(title)s") % values
        body = _("%(dept)s拒绝协办案件 %(code)s, 原因: %(text)s") % values
    else:
        subject = _("协办已撤回: %(title)s") % values
        body = _("案件 %(code)s 的协办任务已撤回, 原因: %(text)s") % values
    notification_enqueue(
        recipients=[Recipient(NotificationChannel.IN_APP, user_id=uid) for uid in user_ids if uid != actor_id],
        subject=subject,
        body=body,
        cause=f"case:{case.pk}:event:{event.pk}:assist",
        object_type="cases.case",
        object_id=str(case.pk),
        link=f"/cases/{case.pk}/#case-joint",
        area_code=case.area_code,
    )


# --- request --------------------------------------------------------------------------------------


def _load_case(case: Case | int) -> Case:
    pk = case if isinstance(case, int) else case.pk
    found = Case.objects.select_related("category", "current_department", "current_handler").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("案件不存在"))
    return found


def _department_ids(value: Iterable[Any] | None) -> list[int]:
    ids: list[int] = []
    for item in value or ():
        pk = item.pk if isinstance(item, Department) else item
        try:
            number = int(str(pk).strip())
        except (TypeError, ValueError):
            raise ValidationError({"department_ids": _("协办单位编号不正确")}) from None
        if number not in ids:
            ids.append(number)
    if not ids:
        raise ValidationError({"department_ids": _("请选择至少一个协办单位")})
    if len(ids) > MAX_DEPARTMENTS_PER_REQUEST:
        raise ValidationError({"department_ids": _("一次最多请求%(n)d个协办单位") % {"n": MAX_DEPARTMENTS_PER_REQUEST}})
    return ids


def assist_due(case: Case, start: datetime) -> datetime:
    """A part's deadline: the category's handle deadline (for the case's priority) from ``start``."""
    return start + timedelta(hours=case.category.hours_for(case.priority)["handle"])


@transaction.atomic
def case_assist_request(
    *, actor: Any, case: Case | int, department_ids: Iterable[Any], note: str, expected_version: int
) -> list[CaseAssist]:
    """The lead asks ``department_ids`` to co-handle ``case`` (``note``: what is asked).

    The case must be dispatched or in handling and ``expected_version`` its current version
    (409 otherwise; the case's version is bumped). Each department must be active, serve the
    case's territory, not be the case's own department, and not already hold an open part.
    Returns the new parts (one event, audit record and notification each)."""
    ensure_can_write(actor)
    current = _load_case(case)
    if current.version != expected_version:
        raise Conflict(_(CASE_CONFLICT_MESSAGE), code="conflict")
    if current.status not in workflow.ASSIST_REQUEST_CASE_STATUSES:
        raise DomainError(
            _("案件当前状态为“%(status)s”, 不能请求协办; 只有已派遣或处置中的案件可以请求协办")
            % {"status": workflow.status_label(current.status)},
            code="illegal_assist",
        )
    if not workflow.is_assist_lead(actor, current):
        raise Forbidden(_("只有案件的当前处置人(牵头单位)或辖区的指挥调度人员可以请求协办"))
    note = _text(note, field="note", label=_("协办事项"), required=True)
    ids = _department_ids(department_ids)
    if current.current_department_id in ids:
        raise ValidationError({"department_ids": _("牵头单位不能请求本单位协办")})
    eligible = {d.pk: d for d in selectors.assist_departments(current).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in eligible]
    if missing:
        raise ValidationError(
            {"department_ids": _("以下部门不存在、已停用或不服务该案件所在辖区: %(ids)s") % {"ids": join_list(missing)}}
        )
    busy = CaseAssist.objects.filter(case=current, department_id__in=ids, status__in=OPEN_ASSIST_STATUSES)
    busy_names = sorted({a.department.name for a in busy.select_related("department")})
    if busy_names:
        raise ValidationError({"department_ids": _("%(names)s已在协办该案件") % {"names": join_list(busy_names)}})

    now = timezone.now()
    updated = Case.objects.filter(pk=current.pk, version=expected_version).update(
        version=expected_version + 1, updated_at=now
    )
    if updated == 0:
        raise Conflict(_(CASE_CONFLICT_MESSAGE), code="conflict")
    current.version = expected_version + 1
    due = assist_due(current, now)
    parts: list[CaseAssist] = []
    for pk in ids:
        assist = CaseAssist(
            case=current,
            department=eligible[pk],
            status=AssistStatus.REQUESTED,
            area_code=current.area_code,
            note=note,
            requested_by=actor,
            requested_at=now,
            due_at=due,
            updated_at=now,
        )
        try:
            with transaction.atomic():
                assist.save(force_insert=True)
        except IntegrityError:
            raise Conflict(_(CASE_CONFLICT_MESSAGE), code="conflict") from None
        event = _record(
            case=current,
            assist=assist,
            actor=actor,
            action=AssistAction.REQUEST,
            from_status="",
            to_status=AssistStatus.REQUESTED,
            note=note,
            changes={
                "case": {"before": None, "after": current.pk},
                "department": {"before": None, "after": pk},
                "due_at": {"before": None, "after": due.isoformat()},
            },
            audit_action=AuditAction.CREATE,
            now=now,
        )
        _notify(case=current, assist=assist, actor=actor, action=AssistAction.REQUEST, event=event, text=note)
        parts.append(assist)
    return parts


# --- one part's actions -----------------------------------------------------------------------------


def _load_assist(assist: CaseAssist | int) -> CaseAssist:
    pk = assist if isinstance(assist, int) else assist.pk
    found = (
        CaseAssist.objects.select_related(
            "case", "case__category", "case__current_department", "case__current_handler", "department"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("协办任务不存在"))
    return found


def _check_permission(actor: Any, case: Case, assist: CaseAssist, action: str) -> None:
    rules = workflow.ASSIST_RULES.get(action, ())
    if any(workflow.assist_rule_allows(rule, actor, case, assist) for rule in rules):
        return
    label = workflow.assist_action_label(action)
    if workflow.CO_HANDLER in rules:
        raise Forbidden(
            _("只有协办单位“%(dept)s”的处置人员可以执行“%(action)s”")
            % {"dept": assist.department.name, "action": label}
        )
    raise Forbidden(_("只有案件的当前处置人(牵头单位)或辖区的指挥调度人员可以执行“%(action)s”") % {"action": label})


TEXT_LABELS: dict[str, str] = {
    AssistAction.REPORT: gettext_noop("协办结果"),
    AssistAction.DECLINE: gettext_noop("拒绝原因"),
    AssistAction.CANCEL: gettext_noop("撤回原因"),
}


def _assist_act(
    *,
    actor: Any,
    assist: CaseAssist | int,
    action: str,
    expected_version: int,
    text: str = "",
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> CaseAssist:
    """The one writer of ``CaseAssist.status``: table -> case still open -> permission ->
    text -> ``UPDATE ... WHERE version=?`` -> event + audit + outbox."""
    ensure_can_write(actor)
    current = _load_assist(assist)
    case = current.case
    if current.version != expected_version:
        raise Conflict(_(ASSIST_CONFLICT_MESSAGE), code="conflict")
    to_status = workflow.assist_target_status(current.status, action)
    if to_status is None:
        raise DomainError(workflow.illegal_assist_message(current.status, action), code="illegal_transition")
    if case.status in TERMINAL_STATUSES:
        raise DomainError(
            _("案件已“%(status)s”, 协办任务不能再变更") % {"status": workflow.status_label(case.status)},
            code="case_finished",
        )
    _check_permission(actor, case, current, action)
    label = TEXT_LABELS.get(action, gettext_noop("说明"))
    text = _text(text, field="note", label=_(label), required=action in workflow.ASSIST_TEXT_REQUIRED)
    now = now or timezone.now()
    fields: dict[str, Any] = {}
    if action == AssistAction.ACKNOWLEDGE:
        fields.update(acknowledged_at=now, acknowledged_by=actor)
    elif action in (AssistAction.REPORT, AssistAction.DECLINE):
        fields.update(responded_at=now, responded_by=actor, response=text)
    elif action == AssistAction.CANCEL:
        fields.update(cancelled_at=now, cancel_reason=text)
    updated = CaseAssist.objects.filter(pk=current.pk, version=expected_version).update(
        status=to_status, version=expected_version + 1, updated_at=now, **fields
    )
    if updated == 0:
        raise Conflict(_(ASSIST_CONFLICT_MESSAGE), code="conflict")
    from_status = current.status
    changes = _set_fields(current, fields, only_changed=False)
    current.status = to_status
    current.version = expected_version + 1
    current.updated_at = now
    event = _record(
        case=case,
        assist=current,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=text,
        changes=changes,
        audit_action=AuditAction.TRANSITION,
        now=now,
        extra=extra,
    )
    _notify(case=case, assist=current, actor=actor, action=action, event=event, text=text)
    return current


@transaction.atomic
def case_assist_acknowledge(
    *, actor: Any, assist: CaseAssist | int, expected_version: int, note: str = ""
) -> CaseAssist:
    """A member of the co-handling department signs for its part (签收)."""
    return _assist_act(
        actor=actor, assist=assist, action=AssistAction.ACKNOWLEDGE, expected_version=expected_version, text=note
    )


@transaction.atomic
def case_assist_report(*, actor: Any, assist: CaseAssist | int, expected_version: int, note: str) -> CaseAssist:
    """The co-handling department reports its part back (反馈; ``note`` is what it did)."""
    return _assist_act(
        actor=actor, assist=assist, action=AssistAction.REPORT, expected_version=expected_version, text=note
    )


@transaction.atomic
def case_assist_decline(*, actor: Any, assist: CaseAssist | int, expected_version: int, note: str) -> CaseAssist:
    """The co-handling department declines its part, with a reason (拒绝协办)."""
    return _assist_act(
        actor=actor, assist=assist, action=AssistAction.DECLINE, expected_version=expected_version, text=note
    )


@transaction.atomic
def case_assist_cancel(*, actor: Any, assist: CaseAssist | int, expected_version: int, note: str) -> CaseAssist:
    """The lead withdraws a part, with a reason (撤回协办)."""
    return _assist_act(
        actor=actor, assist=assist, action=AssistAction.CANCEL, expected_version=expected_version, text=note
    )


ASSIST_SERVICES: dict[str, Any] = {
    AssistAction.ACKNOWLEDGE: case_assist_acknowledge,
    AssistAction.REPORT: case_assist_report,
    AssistAction.DECLINE: case_assist_decline,
    AssistAction.CANCEL: case_assist_cancel,
}


def case_assist_act(
    *, actor: Any, assist: CaseAssist | int, action: str, expected_version: int, note: str = ""
) -> CaseAssist:
    """Dispatch one part action by name (API and pages)."""
    service = ASSIST_SERVICES.get(action)
    if service is None:
        raise DomainError(_("未知的协办操作: %(action)s") % {"action": action}, code="illegal_transition")
    result: CaseAssist = service(actor=actor, assist=assist, expected_version=expected_version, note=note)
    return result


# --- the lead's report-back guard (called from services._apply for REPORT_BACK) -----------------


def report_back_guard(*, case: Case, actor: Any, override: Any, now: datetime) -> dict[str, Any]:
    """May the lead report ``case`` back now? Yes when no part is open. With open parts the
    lead must give an override reason: the open parts are then cancelled with it (recorded on
    each part, on the timeline and in the report-back event's data). Returns the event data."""
    parts = list(CaseAssist.objects.filter(case_id=case.pk).select_related("department").order_by("id"))
    if not parts:
        return {}
    open_parts = [p for p in parts if p.status in OPEN_ASSIST_STATUSES]
    summary = {
        "done": sum(1 for p in parts if p.status == AssistStatus.DONE),
        "declined": sum(1 for p in parts if p.status == AssistStatus.DECLINED),
        "open": len(open_parts),
    }
    if not open_parts:
        return {"assists": summary}
    reason = "" if override is None else str(override).strip()
    names = join_list(p.department.name for p in open_parts)
    if not reason:
        raise DomainError(
            _("以下协办单位尚未办结: %(names)s。请等待其反馈, 或填写强制反馈的理由(未办结的协办将被撤回)")
            % {"names": names},
            code="assists_open",
            fields={"assist_override": [_("请填写强制反馈的理由")]},
        )
    if len(reason) > NOTE_MAX:
        raise ValidationError({"assist_override": _("强制反馈的理由不能超过%(n)d个字") % {"n": NOTE_MAX}})
    cancelled = []
    for part in open_parts:
        _assist_act(
            actor=actor,
            assist=part.pk,
            action=AssistAction.CANCEL,
            expected_version=part.version,
            text=_("牵头单位强制反馈: %(reason)s") % {"reason": reason},
            now=now,
            extra={"override": True},
        )
        cancelled.append({"id": part.pk, "department": part.department.name})
    return {"assists": summary, "assist_override": {"reason": reason, "cancelled": cancelled}}


def ensure_may_request(actor: Any, case: Case) -> None:
    """For pages: PermissionDenied unless ``actor`` may ask for co-handlers now."""
    if not workflow.may_request_assist(actor, case):
        raise PermissionDenied(_("您不能为该案件请求协办"))


# --- the deadline sweep's marks (called by deadlines.assist_sweep) ----------------------------------

WARNING = "warning"
OVERDUE = "overdue"
SWEEP_EVENT: dict[str, str] = {
    WARNING: CaseAction.ASSIST_DEADLINE_WARNING,
    OVERDUE: CaseAction.ASSIST_DEADLINE_OVERDUE,
}


@transaction.atomic
def assist_deadline_mark(*, assist: CaseAssist, kind: str, now: datetime) -> bool:
    """Mark an open part as warned (``kind`` "warning": its due time is near) or overdue
    ("overdue": past it; a part never warned is marked warned at the same time, so no late
    warning follows). Written once: ``UPDATE ... WHERE version=? AND <mark> IS NULL`` (a part
    acted on meanwhile is left for the next sweep, a marked one is never marked again), so
    running the sweep twice changes nothing. Not a status change and no version bump (a
    co-handler's action racing with the sweep is not a conflict). One timeline event, one
    audit record and the notifications: the department's handlers; for overdue also the lead.
    Returns whether the part was marked."""
    if kind not in SWEEP_EVENT:
        raise ValueError(f"unknown assist deadline mark {kind!r}")
    mark_field = "overdue_at" if kind == OVERDUE else "warned_at"
    fields: dict[str, Any] = {mark_field: now}
    if kind == OVERDUE and assist.warned_at is None:
        fields["warned_at"] = now
    updated = CaseAssist.objects.filter(
        pk=assist.pk, version=assist.version, status__in=OPEN_ASSIST_STATUSES, **{f"{mark_field}__isnull": True}
    ).update(**fields)
    if not updated:
        return False
    changes = _set_fields(assist, fields, only_changed=False)
    case = assist.case
    due = timezone.localtime(assist.due_at).strftime("%Y-%m-%d %H:%M")
    values = {"dept": assist.department.name, "due": due, "code": case.tracking_code, "title": case.title}
    if kind == WARNING:
        note = _("%(dept)s的协办任务将于%(due)s到期") % values
    else:
        note = _("%(dept)s的协办任务已超过协办时限(%(due)s)") % values
    event_action = SWEEP_EVENT[kind]
    data = _assist_data(assist, assist.status, assist.status)
    data["assist"]["deadline"] = kind
    event = _write_event(
        case=case,
        assist=assist,
        actor=None,
        action=event_action,
        note=note,
        data=data,
        changes=changes,
        audit_action=AuditAction.UPDATE,
        message=f"{event_action} case:{case.pk} {assist.department.name}",
        now=now,
    )
    _notify_deadline(case=case, assist=assist, kind=kind, event=event, values=values)
    return True


def _notify_deadline(*, case: Case, assist: CaseAssist, kind: str, event: CaseEvent, values: dict[str, str]) -> None:
    from civicgrid.notifications.enums import NotificationChannel
    from civicgrid.notifications.services import Recipient, notification_enqueue

    user_ids = _department_members(assist.department_id)
    if kind == WARNING:
        subject = _("协办即将到期: %(title)s") % values
        body = _("案件 %(code)s “%(title)s” 的协办任务将于 %(due)s 到期, 请及时办理并反馈。") % values
    else:
        user_ids += _lead_users(case, assist)
        subject = _("协办已超期: %(dept)s · %(title)s") % values
        body = _("%(dept)s协办案件 %(code)s “%(title)s” 已超过协办时限(%(due)s), 请尽快办理并反馈。") % values
    notification_enqueue(
        recipients=[Recipient(NotificationChannel.IN_APP, user_id=uid) for uid in dict.fromkeys(user_ids)],
        subject=subject,
        body=body,
        cause=f"case:{case.pk}:event:{event.pk}:assist",
        object_type="cases.case",
        object_id=str(case.pk),
        link=f"/cases/{case.pk}/#case-joint",
        area_code=case.area_code,
    )
