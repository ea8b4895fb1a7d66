"""Case writes. ``case_transition`` is the ONLY code that changes ``Case.status``.

Every write is keyword-only and atomic; every case event writes one audit record in the same
transaction; side effects go through ``signals.case_event_recorded`` (same transaction) and
``signals.case_transitioned`` (on commit)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.accounts.models import Department, User
from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import code_within, ensure_in_scope, user_scope_code
from civicgrid.accounts.services import ensure_can_write
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import AuditEntry, audit_record_many
from civicgrid.cases import routing, signals, workflow
from civicgrid.cases.enums import (
    ASSIGNED_STATUSES,
    CaseAction,
    CaseStatus,
    Channel,
    NotAcceptedReason,
    Outcome,
    Priority,
    TargetKind,
    Tier,
)
from civicgrid.cases.models import Case, CaseEvent, Category, IntakeSubmission, case_owner
from civicgrid.cases.permissions import CaseCapability
from civicgrid.cases.routing import RouteDecision
from civicgrid.cases.workflow import SYSTEM_ACTOR, ResidentActor, SystemActor
from civicgrid.common.bulk import insert_rows
from civicgrid.common.errors import Conflict, DomainError, Forbidden, NotFound
from civicgrid.common.protected import ProtectedValue, protect
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.locate import INVALID, LocateResult, locate, locate_many
from civicgrid.territory.models import Area

PHONE_CONTEXT = "cases.case.reporter_phone"
TITLE_MAX = 100
DESCRIPTION_MAX = 2000
ADDRESS_MAX = 200
NOTE_MAX = 2000
IDEMPOTENCY_KEY_MAX = 64
CHANNELS = frozenset(Channel.values)  # (``Enum.values`` builds a new list on every use)
PRIORITIES = frozenset(Priority.values)
# Channels a member of the public or a machine may use without a staff account.
PUBLIC_CHANNELS = frozenset({Channel.RESIDENT_WEB, Channel.OPEN311, Channel.CAMERA, Channel.API})

# Marked for extraction only; translated where it is raised.
CONFLICT_MESSAGE = gettext_noop("该案件已被他人更新, 请刷新后重试")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _is_user(actor: Any) -> bool:
    return isinstance(actor, User)


def _actor_label(actor: Any) -> str:
    if isinstance(actor, SystemActor):
        return _("系统")
    if isinstance(actor, ResidentActor):
        return _("反映人")
    if _is_user(actor):
        return str(actor)
    return _("匿名")


# --- deadlines ----------------------------------------------------------------------------


def deadline_hours(case: Case) -> dict[str, float]:
    return case.category.hours_for(case.priority)


def _due(start: datetime, hours: float) -> datetime:
    return start + timedelta(hours=hours)


def compute_deadlines(case: Case, start: datetime) -> dict[str, datetime]:
    """Acknowledge, handle and close deadlines counted from ``start``."""
    hours = deadline_hours(case)
    return {
        "acknowledge_due": _due(start, hours["acknowledge"]),
        "handle_due": _due(start, hours["handle"]),
        "close_due": _due(start, hours["close"]),
    }


def _drop_marks(marks: Mapping[str, Any], *kinds: str) -> dict[str, Any]:
    return {k: v for k, v in marks.items() if k.split(":", 1)[0] not in kinds}


# --- the event and audit writer -------------------------------------------------------------


def _event_parts(
    *,
    case: Case,
    actor: Any,
    action: str,
    from_status: str,
    to_status: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    audit_action: str = AuditAction.TRANSITION,
    is_transition: bool = True,
    now: datetime,
    obj: models.Model | None = None,
    message: str | None = None,
) -> tuple[CaseEvent, AuditEntry]:
    """A timeline line (not saved yet) and the audit record that goes with it. The record is
    of ``obj`` (default: the case; joint handling records the part) with ``message`` (default
    "<action>: <note>"); a status change of the event is added to its changes."""
    user = actor if _is_user(actor) else None
    label = _actor_label(actor)
    event = CaseEvent(
        case=case,
        action=action,
        from_status=from_status,
        to_status=to_status,
        is_transition=is_transition,
        actor=user,
        actor_label=label[:150],
        note=note[:NOTE_MAX],
        data=data or {},
        area_code=case.area_code,
        occurred_at=now,
    )
    audit_changes = dict(changes or {})
    if from_status != to_status:
        audit_changes["status"] = {"before": from_status or None, "after": to_status}
    entry = AuditEntry(
        action=audit_action,
        obj=case if obj is None else obj,
        area_code=case.area_code,
        changes=audit_changes,
        message=(f"{action}: {note}" if message is None else message)[:500],
        actor=user,
        actor_label="" if user else label,
    )
    return event, entry


def _announce(case: Case, event: CaseEvent, *, on_commit: bool = True) -> None:
    """The in-transaction signal (outbox writers) and (``on_commit``) the on-commit one, for a
    saved event."""
    kwargs = {
        "case_id": case.pk,
        "event_id": event.pk,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "area_code": case.area_code,
    }
    signals.case_event_recorded.send(sender=Case, case=case, event=event, **kwargs)
    if on_commit:
        transaction.on_commit(lambda: signals.case_transitioned.send(sender=Case, **kwargs))


def _record_event(
    *,
    case: Case,
    actor: Any,
    action: str,
    from_status: str,
    to_status: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    audit_action: str = AuditAction.TRANSITION,
    is_transition: bool = True,
    now: datetime | None = None,
    obj: models.Model | None = None,
    message: str | None = None,
    on_commit: bool = True,
) -> CaseEvent:
    """One timeline line + one audit record + the in-transaction signal + (``on_commit``) the
    on-commit one; ``obj`` and ``message``: see ``_event_parts``. The writer of every single
    case event, joint handling's included. The audit record is appended last: it locks the
    chain head until the commit (D4)."""
    event, entry = _event_parts(
        case=case,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
        changes=changes,
        audit_action=audit_action,
        is_transition=is_transition,
        now=now or timezone.now(),
        obj=obj,
        message=message,
    )
    with transaction.atomic(savepoint=False):
        event.save(force_insert=True)
        _announce(case, event, on_commit=on_commit)
        audit_record_many([entry])
    return event


# --- intake -------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, label: str, limit: int, *, required: bool) -> str:
    value = data.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError({name: _("请填写%(label)s") % {"label": label}})
    if len(text) > limit:
        raise ValidationError(
            {name: _("%(label)s不能超过%(limit)d个字(现为%(n)d个)") % {"label": label, "limit": limit, "n": len(text)}}
        )
    return text


def _category(value: Any) -> Category:
    category: Category | None = None
    if isinstance(value, Category):
        category = value
    elif isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        category = _unique(Category.objects.select_related("parent").filter(pk=int(value)))
    elif isinstance(value, str) and value:
        category = _unique(Category.objects.select_related("parent").filter(code=value))
    if category is None:
        raise ValidationError({"category": _("案件类别不存在")})
    if not category.is_active:
        raise ValidationError({"category": _("该案件类别已停用")})
    return category


def _coordinates(data: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lon, lat = data.get("lon"), data.get("lat")
    if lon in (None, "") and lat in (None, ""):
        return None, None
    if lon in (None, "") or lat in (None, ""):
        raise ValidationError({"lon": _("经度和纬度必须同时填写")})
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError({"lon": _("坐标必须是数字")}) from None
    if not (math.isfinite(x) and -180.0 <= x <= 180.0):
        raise ValidationError({"lon": _("经度应在-180到180之间")})
    if not (math.isfinite(y) and -90.0 <= y <= 90.0):
        raise ValidationError({"lat": _("纬度应在-90到90之间")})
    return x, y


def _district_code() -> str:
    code = Area.objects.filter(level=AreaLevel.DISTRICT).order_by("code").values_list("code", flat=True).first()
    return str(code or "")


PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")
# The grid columns an intake loads (a grid's geometry can be large and is not needed).
GRID_COLUMNS = ("id", "code", "name", "level", "parent_id")


def _namespaced_key(actor: Any, channel: str, key: str) -> str:
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationError(
            {"idempotency_key": _("Idempotency-Key 长度应为1到%(n)d个字符") % {"n": IDEMPOTENCY_KEY_MAX}}
        )
    owner = f"u{actor.pk}" if _is_user(actor) else channel
    return f"{owner}:{key}"


_M = TypeVar("_M", bound=models.Model)


def _unique(queryset: QuerySet[_M]) -> _M | None:
    """The row of a lookup by a unique column, or None. Unordered: ``first()`` would add the
    model's ordering, which costs more to build than the lookup costs to run."""
    return next(iter(queryset.order_by()[:1]), None)


def _case_by_key(key: str) -> Case | None:
    return _unique(Case.objects.filter(idempotency_key=key))


def case_for_idempotency_key(*, actor: Any, channel: str, key: str | None) -> Case | None:
    """The case an earlier intake with this key (by the same caller) created, if any."""
    if not key or len(key.strip()) > IDEMPOTENCY_KEY_MAX or not key.strip():
        return None
    return _case_by_key(_namespaced_key(actor, channel, key))


def _intake_step(
    case: Case, *, actor: Any, action: str, now: datetime, note: str = "", **payload: Any
) -> tuple[CaseEvent, AuditEntry]:
    """``case_transition`` for a case that intake is creating and has not saved yet: the same
    table, permission check, field changes (``_apply``), version bump, timeline event and
    audit changes, applied in memory; ``case_intake`` then writes the case once."""
    to_status = workflow.target_status(case.status, action)
    if to_status is None:  # pragma: no cover - intake only takes register and dispatch
        raise DomainError(workflow.illegal_transition_message(case.status, action), code="illegal_transition")
    _check_permission(actor, case, action)
    note = _reason(payload, note, action=action)
    fields, data, override = _apply(case, action, actor, payload, note, now)
    to_status = override or to_status
    from_status = case.status
    changes = _set_fields(case, fields)
    case.status = to_status
    case.version += 1
    return _event_parts(
        case=case,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
        changes=changes,
        now=now,
    )


def case_intake(
    *,
    actor: Any,
    channel: str,
    data: Mapping[str, Any],
    idempotency_key: str | None = None,
    register: bool | None = None,
) -> Case:
    """Create a case from any channel.

    ``data``: title, description, category (id, code or instance), priority (optional),
    lon/lat (optional, together), address, reporter_name, reporter_phone. ``actor`` is a
    staff user with cases.intake, or None/SystemActor for the public channels (resident
    web form, Open311, camera webhook, API clients), which authenticate the caller
    themselves. With ``register`` (default: settings CASES_AUTO_REGISTER_CHANNELS) the case
    is registered and routed at once; otherwise it waits in the "received" queue.
    A repeated ``idempotency_key`` (per user, or per channel for anonymous callers)
    returns the case the first call created, unchanged.

    One compound step: the case is validated, located, registered and routed in memory
    (``_intake_plan``; ``_intake_step`` applies the transition table exactly as
    ``case_transition`` would), then written once, in one transaction: the case row, its
    timeline events (one INSERT), the in-transaction signals (notification outbox), and the
    audit records (one append, the last write, so the chain head is locked only until the
    commit). Receive, register and dispatch each keep their own event, audit record and
    version step. A repeated key is found by the unique index (the INSERT fails and the
    first case is returned): every caller looks the key up first
    (``case_for_idempotency_key``), so a second lookup here would only cost time."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("未知的来源渠道")})
    if _is_user(actor):
        ensure_can_write(actor)
        if not has_capability(actor, CaseCapability.INTAKE):
            raise PermissionDenied(_("您没有受理案件的权限"))
    elif channel not in PUBLIC_CHANNELS:
        raise PermissionDenied(_("该渠道须由工作人员登录后录入"))
    key = _namespaced_key(actor, channel, idempotency_key) if idempotency_key is not None else None
    try:
        case, steps = _intake_plan(actor=actor, channel=channel, data=data, key=key, register=register)
    except ValidationError:
        # A retry whose payload no longer validates (a category retired since) still gets
        # the case its first call created.
        existing = _case_by_key(key) if key is not None else None
        if existing is not None:
            return existing
        raise

    with transaction.atomic(savepoint=False):
        try:
            with transaction.atomic():
                case.save(force_insert=True)
        except IntegrityError:
            if key is not None:
                existing = _case_by_key(key)
                if existing is not None:
                    return existing
            raise
        events = CaseEvent.objects.bulk_create([event for event, _entry in steps])
        for event in events:
            _announce(case, event)
        audit_record_many([entry for _event, entry in steps])
    return case


@dataclass(frozen=True)
class IntakeFields:
    """An intake's input after validation: what a case is made of (and what an accepted
    machine submission stores; the reporter's phone only in its protected form)."""

    title: str
    description: str
    address: str
    reporter_name: str
    phone: ProtectedValue
    category: Category
    priority: str
    lon: float | None
    lat: float | None


def intake_validate(*, data: Mapping[str, Any], category: Category | None = None) -> IntakeFields:
    """Check everything about an intake's input that can be refused (ValidationError with the
    field): text limits, phone format, category (exists, active), priority, coordinates.
    Encrypts the phone. Reads at most the category (none when ``category`` is given)."""
    title = _text(data, "title", _("标题"), TITLE_MAX, required=True)
    description = _text(data, "description", _("描述"), DESCRIPTION_MAX, required=True)
    address = _text(data, "address", _("地址"), ADDRESS_MAX, required=False)
    reporter_name = _text(data, "reporter_name", _("反映人姓名"), 50, required=False)
    phone = _text(data, "reporter_phone", _("反映人电话"), 20, required=False)
    if phone and not PHONE_RE.match(phone):
        raise ValidationError({"reporter_phone": _("电话号码格式不正确")})
    if category is None:
        category = _category(data.get("category"))
    elif not category.is_active:
        raise ValidationError({"category": _("该案件类别已停用")})
    priority = str(data.get("priority") or category.priority)
    if priority not in PRIORITIES:
        raise ValidationError({"priority": _("未知的优先级")})
    lon, lat = _coordinates(data)
    return IntakeFields(
        title=title,
        description=description,
        address=address,
        reporter_name=reporter_name,
        phone=protect("phone", phone, context=PHONE_CONTEXT),
        category=category,
        priority=priority,
        lon=lon,
        lat=lat,
    )


def _intake_plan(
    *, actor: Any, channel: str, data: Mapping[str, Any], key: str | None, register: bool | None
) -> tuple[Case, list[tuple[CaseEvent, AuditEntry]]]:
    """The new case (not saved) in its final state, and one (event, audit record) per step:
    receive, then register and dispatch (or the manual queue) when it is registered now.
    Reads only; raises ValidationError for bad input."""
    fields = intake_validate(data=data)
    grid: Area | None = None
    area_code = ""
    located = None
    if fields.lon is not None and fields.lat is not None:
        located = locate(fields.lon, fields.lat)
        if located.status == INVALID:
            raise ValidationError({"lon": located.message})
        if located.inside and located.grid is not None:
            # The columns a case page, routing and the API use; the geometry stays deferred.
            grid = _unique(Area.objects.only(*GRID_COLUMNS).filter(pk=located.grid.id))
            area_code = located.grid.code
    if not area_code:
        area_code = _district_code()
    now = timezone.now()
    return _intake_build(
        fields,
        actor=actor,
        channel=channel,
        key=key,
        register=register,
        located=located,
        grid=grid,
        area_code=area_code,
        received_at=now,
        now=now,
        route=routing.route_case,
    )


def _intake_build(
    fields: IntakeFields,
    *,
    actor: Any,
    channel: str,
    key: str | None,
    register: bool | None,
    located: LocateResult | None,
    grid: Area | None,
    area_code: str,
    received_at: datetime,
    now: datetime,
    route: Callable[[Case], RouteDecision],
) -> tuple[Case, list[tuple[CaseEvent, AuditEntry]]]:
    """The case (not saved) and its steps, from validated input and its location. The one
    builder of the synchronous intake and of the batch (``case_intake_batch``): received at
    ``received_at`` (its deadlines count from then), registered and routed at ``now``."""
    category, priority, protected = fields.category, fields.priority, fields.phone
    case = Case(
        title=fields.title,
        description=fields.description,
        category=category,
        priority=priority,
        channel=channel,
        status=CaseStatus.RECEIVED,
        lon=fields.lon,
        lat=fields.lat,
        address=fields.address,
        grid=grid,
        area_code=area_code,
        reporter_name=fields.reporter_name,
        reporter_phone_cipher=protected.cipher,
        reporter_phone_masked=protected.masked,
        reporter_phone_digest=protected.digest,
        received_at=received_at,
        idempotency_key=key,
        created_by=actor if _is_user(actor) else None,
    )
    for name, value in compute_deadlines(case, received_at).items():
        setattr(case, name, value)
    steps = [
        _event_parts(
            case=case,
            actor=actor or SYSTEM_ACTOR,
            action=CaseAction.RECEIVE,
            from_status="",
            to_status=CaseStatus.RECEIVED,
            data={
                "channel": channel,
                "location": located.as_dict() if located else None,
                "category": category.code,
                "priority": priority,
            },
            audit_action=AuditAction.CREATE,
            changes={
                "title": {"before": None, "after": fields.title},
                "category": {"before": None, "after": category.code},
                "channel": {"before": None, "after": channel},
                "reporter_phone": {"before": None, "after": protected.masked or None},
            },
            now=received_at,
        )
    ]
    if register is None:
        auto = _setting("CASES_AUTO_REGISTER_CHANNELS", None)
        register = channel in (auto if auto is not None else CHANNELS)
    if register:
        registrar = actor if _is_user(actor) and workflow.may_take(actor, case, CaseAction.REGISTER) else SYSTEM_ACTOR
        steps.append(_intake_step(case, actor=registrar, action=CaseAction.REGISTER, now=now))
        decision = route(case)
        if not decision.is_manual:
            dispatch = _intake_step(
                case, actor=SYSTEM_ACTOR, action=CaseAction.DISPATCH, now=now, note=decision.reason, decision=decision
            )
            steps.append(dispatch)
        else:
            # The manual queue: the register event says why nobody was found.
            register_event = steps[-1][0]
            register_event.data = {**register_event.data, "routing": decision.as_data()}
            register_event.note = register_event.note or decision.reason[:NOTE_MAX]
    return case, steps


# --- batch intake (accepted machine submissions; cases.submissions drains them) ---------------


class LostClaim(Exception):
    """A submission of the batch is no longer pending under this claim (its lease expired and
    another drainer took it): the batch's transaction is rolled back, nothing is written."""


@dataclass
class BatchOutcome:
    created: list[tuple[IntakeSubmission, Case]]
    linked: list[tuple[IntakeSubmission, Case]]  # an earlier case had the key already
    failed: list[tuple[IntakeSubmission, str]]  # refused for good, with the reason


def submission_fields(submission: IntakeSubmission, category: Category) -> IntakeFields:
    """The validated input a submission stored (the phone stays protected)."""
    p = submission.payload
    return IntakeFields(
        title=str(p["title"]),
        description=str(p["description"]),
        address=str(p.get("address") or ""),
        reporter_name=str(p.get("reporter_name") or ""),
        phone=ProtectedValue(
            cipher=str(p.get("phone_cipher") or ""),
            masked=str(p.get("phone_masked") or ""),
            digest=str(p.get("phone_digest") or ""),
        ),
        category=category,
        priority=str(p["priority"]),
        lon=p.get("lon"),
        lat=p.get("lat"),
    )


def _mark_processed(pairs: list[tuple[int, int]], *, now: datetime, claim_token: str | None) -> int:
    """Mark (submission id, case id) pairs processed in ONE statement, only while they are
    pending (and still claimed by ``claim_token``); returns the rows updated. Raw SQL: the
    ORM's bulk_update builds a CASE expression per row and costs more than the rest of the
    batch's writes."""
    from civicgrid.cases.models import IntakeSubmission, SubmissionStatus

    if not pairs:
        return 0
    table = connection.ops.quote_name(IntakeSubmission._meta.db_table)
    cases = " ".join(["WHEN %s THEN %s"] * len(pairs))
    ids = ", ".join(["%s"] * len(pairs))
    guard, tail = ("", []) if claim_token is None else (" AND claim_token = %s", [claim_token])
    sql = (
        f"UPDATE {table} SET status = %s, error = '', lease_until = NULL, processed_at = %s, "  # noqa: S608
        f"case_id = CASE id {cases} END WHERE id IN ({ids}) AND status = %s{guard}"
    )
    params: list[Any] = [SubmissionStatus.PROCESSED, connection.ops.adapt_datetimefield_value(now)]
    params += [x for pair in pairs for x in pair]
    params += [sid for sid, _cid in pairs]
    params += [SubmissionStatus.PENDING, *tail]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def case_intake_batch(
    submissions: Sequence[IntakeSubmission], *, claim_token: str | None = None, now: datetime | None = None
) -> BatchOutcome:
    """Turn accepted submissions into cases, all in ONE transaction, with set-based writes.

    Each case is built by the same code as ``case_intake`` (``_intake_build``: receive, then
    register and dispatch by the transition table, routing by ``routing.route_case``), so a
    case, its timeline, its audit records and its notifications are exactly those the
    synchronous intake writes for the same input; only ids, times and the random tracking
    code differ. Reads: the categories, existing cases with the batch's keys, the grids, the
    district code (when needed), the routing rules and the grids' chiefs: one query each,
    whatever the batch size (locations with one vectorised ``locate_many``). Writes: the
    cases, their events, the notification outbox (``case_events_recorded``), the intake
    records, the submissions' status (guarded by ``claim_token``: a lost claim raises
    ``LostClaim`` and rolls everything back) and, last, the audit records in one append.

    A submission whose key already names a case (a retry that raced a synchronous intake) is
    linked to that case; one that cannot be built any more (its category was deleted) is
    marked failed with the reason; neither stops the others."""
    from civicgrid.cases.models import IntakeRecord, IntakeSubmission, SubmissionStatus

    now = now or timezone.now()
    subs = list(submissions)
    if not subs:
        return BatchOutcome([], [], [])
    category_ids = {int(s.payload.get("category_id") or 0) for s in subs}
    categories = Category.objects.select_related("parent", "department__area").in_bulk(category_ids)
    keys = [s.idempotency_key for s in subs if s.idempotency_key]
    existing = {c.idempotency_key: c for c in Case.objects.filter(idempotency_key__in=keys)} if keys else {}

    with_point = [
        i for i, s in enumerate(subs) if s.payload.get("lon") is not None and s.payload.get("lat") is not None
    ]
    located: dict[int, LocateResult] = {}
    if with_point:
        batch = locate_many([subs[i].payload["lon"] for i in with_point], [subs[i].payload["lat"] for i in with_point])
        located = {i: batch[n] for n, i in enumerate(with_point)}
    grid_ids = {r.grid.id for r in located.values() if r.inside and r.grid is not None}
    grids = Area.objects.only(*GRID_COLUMNS).in_bulk(grid_ids) if grid_ids else {}
    lookups = routing.RoutingLookups(grid_ids)
    district_code: str | None = None

    outcome = BatchOutcome([], [], [])
    planned: list[tuple[IntakeSubmission, Case, list[tuple[CaseEvent, AuditEntry]]]] = []
    for i, sub in enumerate(subs):
        if sub.idempotency_key and sub.idempotency_key in existing:
            outcome.linked.append((sub, existing[sub.idempotency_key]))
            continue
        category = categories.get(int(sub.payload.get("category_id") or 0))
        if category is None:
            outcome.failed.append((sub, _("案件类别不存在")))
            continue
        where = located.get(i)
        grid = grids.get(where.grid.id) if where is not None and where.inside and where.grid is not None else None
        if grid is not None:
            area_code = grid.code
        else:
            if district_code is None:
                district_code = _district_code()
            area_code = district_code
        language = sub.payload.get("language") or settings.LANGUAGE_CODE
        with translation.override(language) if language != translation.get_language() else nullcontext():
            case, steps = _intake_build(
                submission_fields(sub, category),
                actor=None,
                channel=sub.channel,
                key=sub.idempotency_key,
                register=sub.register,
                located=where,
                grid=grid,
                area_code=area_code,
                # Every step is dated at the acceptance, as the synchronous intake dates
                # them at its request: the same deadlines (the answer announced them); the
                # submission's processed_at records when the drainer got to it.
                received_at=sub.created_at,
                now=sub.created_at,
                route=lambda c: routing.route_case(c, lookups),
            )
        for _event, entry in steps:
            entry.ip_address = sub.client_ip
        planned.append((sub, case, steps))

    with transaction.atomic():
        cases = [case for _sub, case, _steps in planned]
        insert_rows(cases)
        insert_rows([event for _sub, _case, steps in planned for event, _entry in steps])
        items = [(case, event) for _sub, case, steps in planned for event, _entry in steps]
        signals.case_events_recorded.send(sender=Case, items=items)
        announced = [
            {
                "case_id": case.pk,
                "event_id": event.pk,
                "action": event.action,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "area_code": case.area_code,
            }
            for case, event in items
        ]

        def transitioned() -> None:
            for kwargs in announced:
                signals.case_transitioned.send(sender=Case, **kwargs)

        transaction.on_commit(transitioned)
        insert_rows(
            [
                IntakeRecord(
                    case=case,
                    channel=sub.channel,
                    fingerprint=sub.fingerprint,
                    api_key_id=sub.api_key_id,
                    token=sub.token,
                    attributes=sub.attributes,
                    media_url=sub.media_url,
                )
                for sub, case, _steps in planned
            ]
        )
        done = [(p[0], p[1]) for p in planned] + outcome.linked
        updated = _mark_processed([(sub.pk, case.pk) for sub, case in done], now=now, claim_token=claim_token)
        pending = IntakeSubmission.objects.filter(status=SubmissionStatus.PENDING)
        if claim_token is not None:
            pending = pending.filter(claim_token=claim_token)
        for sub, reason in outcome.failed:
            updated += pending.filter(pk=sub.pk).update(
                status=SubmissionStatus.FAILED, error=reason[:2000], processed_at=now, lease_until=None
            )
        expected = len(done) + len(outcome.failed)
        if updated != expected:
            raise LostClaim(f"{expected - updated} of {expected} submissions are no longer claimed")
        for sub, case in done:
            sub.status, sub.case, sub.error, sub.processed_at, sub.lease_until = (
                SubmissionStatus.PROCESSED,
                case,
                "",
                now,
                None,
            )
        for sub, reason in outcome.failed:
            sub.status, sub.error, sub.processed_at, sub.lease_until = SubmissionStatus.FAILED, reason, now, None
        audit_record_many([entry for _sub, _case, steps in planned for _event, entry in steps])
    outcome.created = [(sub, case) for (sub, _c, _s), case in zip(planned, cases, strict=True)]
    return outcome


# --- the one transition function -------------------------------------------------------------


def _load(case: Case | int) -> Case:
    pk = case if isinstance(case, int) else case.pk
    found = (
        Case.objects.select_related(
            "category", "category__parent", "grid", "current_handler", "current_department__area", "current_unit"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("案件不存在"))
    return found


def _reason(payload: dict[str, Any], note: str, *, action: str) -> str:
    text = (note or str(payload.get("reason") or "")).strip()
    if action in workflow.REASON_REQUIRED and not text:
        raise ValidationError({"note": _("请填写“%(action)s”的原因") % {"action": workflow.action_label(action)}})
    if len(text) > NOTE_MAX:
        raise ValidationError({"note": _("说明不能超过%(n)d个字") % {"n": NOTE_MAX}})
    return text


def _assign(fields: dict[str, Any], decision: RouteDecision) -> None:
    fields["current_handler"] = decision.handler
    fields["current_department"] = decision.department
    fields["current_unit"] = decision.unit
    fields["current_tier"] = decision.tier
    fields["in_manual_queue"] = False


def _clear_owner(fields: dict[str, Any]) -> None:
    fields["current_handler"] = None
    fields["current_department"] = None
    fields["current_unit"] = None


def _manual_decision(case: Case, payload: dict[str, Any], actor: Any) -> RouteDecision:
    """A dispatcher's explicit target: handler, department, unit (a territory node) or the
    grid chief of the case's grid."""
    handler, department, unit = payload.get("handler"), payload.get("department"), payload.get("unit")
    chosen = [x for x in (handler, department, unit) if x is not None] + ([1] if payload.get("grid_chief") else [])
    if len(chosen) != 1:
        raise ValidationError({"target": _("请选择一个派遣对象: 处置人、部门、处置单位或网格长")})
    who = _actor_label(actor)
    if handler is not None:
        user = handler if isinstance(handler, User) else User.objects.filter(pk=handler).select_related("area").first()
        if user is None or not user.is_active:
            raise ValidationError({"handler": _("处置人不存在或已停用")})
        if not has_capability(user, CaseCapability.HANDLE):
            raise ValidationError({"handler": _("%(user)s没有处置案件的权限") % {"user": user}})
        scope = user_scope_code(user)
        if scope is None or not code_within(case.area_code, scope):
            raise ValidationError({"handler": _("该案件不在%(user)s的辖区内") % {"user": user}})
        tier = routing.LEVEL_TIER.get(user.area.level, Tier.GRID) if user.area else Tier.DISTRICT
        return RouteDecision(
            TargetKind.GRID_CHIEF, _("%(who)s派往%(user)s") % {"who": who, "user": user}, handler=user, tier=tier
        )
    if department is not None:
        dept = (
            department
            if isinstance(department, Department)
            else Department.objects.filter(pk=department).select_related("area").first()
        )
        if dept is None or not dept.is_active:
            raise ValidationError({"department": _("部门不存在或已停用")})
        return RouteDecision(
            TargetKind.DEPARTMENT,
            _("%(who)s派往%(dept)s") % {"who": who, "dept": dept.name},
            department=dept,
            tier=routing.department_tier(dept),
        )
    if unit is not None:
        area = unit if isinstance(unit, Area) else Area.objects.filter(pk=unit).first()
        if area is None or area.level == AreaLevel.GRID or not case.area_code.startswith(area.code):
            raise ValidationError({"unit": _("处置单位必须是案件所在的社区、街道或区")})
        return RouteDecision(
            TargetKind.TIER,
            _("%(who)s派往%(unit)s") % {"who": who, "unit": area.name},
            unit=area,
            tier=routing.LEVEL_TIER[area.level],
        )
    chief = routing.grid_chief_of(case.grid_id)
    if chief is None:
        raise ValidationError({"target": _("该案件所在网格没有网格长")})
    return RouteDecision(
        TargetKind.GRID_CHIEF, _("%(who)s派往网格长%(user)s") % {"who": who, "user": chief}, handler=chief
    )


def _merge_target(case: Case, payload: dict[str, Any], actor: Any) -> Case:
    target = payload.get("duplicate_of")
    if target is None:
        raise ValidationError({"duplicate_of": _("请选择要合并到的案件")})
    other = target if isinstance(target, Case) else Case.objects.filter(pk=target).first()
    seen: set[int] = set()
    while other is not None and other.status == CaseStatus.MERGED and other.duplicate_of_id and other.pk not in seen:
        seen.add(other.pk)
        other = Case.objects.filter(pk=other.duplicate_of_id).first()
    if other is None:
        raise ValidationError({"duplicate_of": _("要合并到的案件不存在")})
    if other.pk == case.pk:
        raise ValidationError({"duplicate_of": _("不能把案件合并到它自己")})
    if _is_user(actor):
        ensure_in_scope(actor, other.area_code)
    return other


def _apply(
    case: Case, action: str, actor: Any, payload: dict[str, Any], note: str, now: datetime
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The field changes of ``action`` (and the event data, and an overriding target status)."""
    fields: dict[str, Any] = {}
    data: dict[str, Any] = {}
    override: str | None = None
    marks = dict(case.deadline_marks or {})
    hours = deadline_hours(case)

    if action == CaseAction.REGISTER:
        fields.update(registered_at=now, in_manual_queue=True)
        _clear_owner(fields)
    elif action == CaseAction.NOT_ACCEPT:
        reason = str(payload.get("reason_code") or NotAcceptedReason.NOT_A_CASE)
        if reason not in NotAcceptedReason.values:
            raise ValidationError({"reason_code": _("未知的不予受理原因")})
        fields.update(not_accepted_reason=reason, outcome=Outcome.NOT_ACCEPTED, in_manual_queue=False)
        data["reason_code"] = reason
    elif action == CaseAction.ANSWER_DIRECTLY:
        if not note:
            raise ValidationError({"note": _("请填写答复内容")})
        fields.update(outcome=Outcome.ANSWERED_DIRECTLY, closed_at=now, in_manual_queue=False)
    elif action == CaseAction.MERGE:
        other = _merge_target(case, payload, actor)
        fields.update(duplicate_of=other, outcome=Outcome.DUPLICATE, in_manual_queue=False)
        data["duplicate_of"] = {"id": other.pk, "tracking_code": other.tracking_code}
    elif action == CaseAction.DISPATCH:
        decision = payload.get("decision")
        if not isinstance(decision, RouteDecision):
            decision = _manual_decision(case, payload, actor)
        if decision.is_manual:
            raise ValidationError({"target": _("请选择派遣对象")})
        _assign(fields, decision)
        fields.update(
            dispatched_at=now,
            acknowledged_at=None,
            acknowledge_due=_due(now, hours["acknowledge"]),
            deadline_marks=_drop_marks(marks, "acknowledge"),
        )
        data["routing"] = decision.as_data()
    elif action == CaseAction.ACKNOWLEDGE:
        fields.update(acknowledged_at=now, current_handler=actor)
    elif action == CaseAction.RETURN_TO_DISPATCHER or action == CaseAction.REFUSE_TRANSFER:
        _clear_owner(fields)
        fields["in_manual_queue"] = True
    elif action == CaseAction.TRANSFER:
        dept = payload.get("department")
        if not isinstance(dept, Department):
            dept = Department.objects.filter(pk=dept).first() if isinstance(dept, int | str) else None
        if dept is None or not dept.is_active:
            raise ValidationError({"department": _("请选择转办部门")})
        if dept.pk == case.current_department_id and not case.current_handler_id:
            raise ValidationError({"department": _("案件已在该部门")})
        _clear_owner(fields)
        fields.update(current_department=dept, current_tier=routing.department_tier(dept))
        data["department"] = {"id": dept.pk, "name": dept.name}
    elif action == CaseAction.ACCEPT_TRANSFER:
        fields.update(current_handler=actor, acknowledged_at=now)
    elif action == CaseAction.ESCALATE:
        tier = routing.next_tier(case.current_tier)
        unit = None
        while tier is not None and unit is None:
            unit = routing.tier_unit(case.area_code, tier)
            if unit is None:
                tier = routing.next_tier(tier)
        if tier is None or unit is None:
            raise DomainError(_("案件已在区级处置, 不能再上报"), code="cannot_escalate")
        # The acknowledge deadline starts again; a handle/close deadline escalates only once.
        escalated_marks = _drop_marks(marks, "acknowledge")
        if payload.get("deadline") in ("handle", "close"):
            escalated_marks[f"{payload['deadline']}:escalated"] = now.isoformat()
        _clear_owner(fields)
        fields.update(
            current_unit=unit,
            current_tier=tier,
            escalation_count=case.escalation_count + 1,
            dispatched_at=now,
            acknowledged_at=None,
            acknowledge_due=_due(now, hours["acknowledge"]),
            deadline_marks=escalated_marks,
        )
        data["escalated_to"] = {"tier": tier, "unit_code": unit.code, "unit_name": unit.name}
        if payload.get("deadline"):
            data["deadline"] = payload["deadline"]
    elif action == CaseAction.REPORT_BACK:
        if not note:
            raise ValidationError({"note": _("请填写处置情况")})
        fields["reported_at"] = now
        # Joint handling: no open co-handling part, or an explicit override (cancels them).
        from civicgrid.cases.joint import report_back_guard

        data.update(report_back_guard(case=case, actor=actor, override=payload.get("assist_override"), now=now))
    elif action == CaseAction.REQUEST_EXTENSION:
        try:
            extra = int(payload.get("hours") or 0)
        except (TypeError, ValueError):
            extra = 0
        limit = int(_setting("CASES_MAX_EXTENSION_HOURS", 168))
        if not 1 <= extra <= limit:
            raise ValidationError({"hours": _("延期时长应为1到%(n)d小时") % {"n": limit}})
        if case.extension_count >= int(_setting("CASES_MAX_EXTENSIONS", 2)):
            raise DomainError(_("延期次数已达上限"), code="extension_limit")
        if not note:
            raise ValidationError({"note": _("请填写延期原因")})
        fields.update(
            handle_due=(case.handle_due or now) + timedelta(hours=extra),
            close_due=(case.close_due or now) + timedelta(hours=extra),
            extension_count=case.extension_count + 1,
            deadline_marks=_drop_marks(marks, "handle", "close"),
        )
        data["hours"] = extra
    elif action == CaseAction.VERIFY_PASS:
        outcome = str(payload.get("outcome") or Outcome.FIXED)
        if outcome not in (Outcome.FIXED, Outcome.CLOSED_NOT_FIXED):
            raise ValidationError({"outcome": _("核查结案的结果只能是“已解决”或“结案未解决”")})
        fields.update(outcome=outcome, closed_at=now)
        data["outcome"] = outcome
    elif action == CaseAction.VERIFY_FAIL:
        fields.update(
            rehandle_count=case.rehandle_count + 1,
            last_reopened_at=now,
            reported_at=None,
            handle_due=_due(now, hours["handle"]),
            close_due=_due(now, hours["close"]),
            overdue_at=None,
            warned_at=None,
            deadline_marks={},
        )
    elif action == CaseAction.EVALUATE:
        try:
            satisfaction = int(payload.get("satisfaction"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            satisfaction = 0
        if not 1 <= satisfaction <= 5:
            raise ValidationError({"satisfaction": _("满意度应为1到5分")})
        resolved = payload.get("resolved")
        if not isinstance(resolved, bool):
            raise ValidationError({"resolved": _("请选择问题是否解决")})
        fields.update(satisfaction=satisfaction, resolved=resolved, evaluated_at=now)
        data.update(satisfaction=satisfaction, resolved=resolved)
    elif action == CaseAction.REOPEN:
        fields.update(
            reopen_count=case.reopen_count + 1,
            rehandle_count=case.rehandle_count + 1,
            last_reopened_at=now,
            outcome="",
            closed_at=None,
            reported_at=None,
            evaluated_at=None,
            satisfaction=None,
            resolved=None,
            dispatched_at=now,
            acknowledged_at=None,
            overdue_at=None,
            warned_at=None,
            deadline_marks={},
            acknowledge_due=_due(now, hours["acknowledge"]),
            handle_due=_due(now, hours["handle"]),
            close_due=_due(now, hours["close"]),
        )
        data["previous"] = {
            "outcome": case.outcome,
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
            "satisfaction": case.satisfaction,
            "resolved": case.resolved,
        }
        if case_owner(case) is None:
            # Nobody handled it (answered directly): route it like a new case.
            decision = routing.route_case(case)
            data["routing"] = decision.as_data()
            if decision.is_manual:
                _clear_owner(fields)
                fields["in_manual_queue"] = True
                override = CaseStatus.REGISTERED
            else:
                _assign(fields, decision)
        elif case.current_handler_id is None:
            fields["in_manual_queue"] = False
    else:  # pragma: no cover - the table and this function list the same actions
        raise DomainError(_("未实现的操作"), code="illegal_transition")
    return fields, data, override


def _check_permission(actor: Any, case: Case, action: str) -> None:
    if _is_user(actor):
        ensure_can_write(actor)
    if any(workflow.rule_allows(rule, actor, case) for rule in workflow.ACTION_RULES.get(action, ())):
        return
    if _is_user(actor):
        rules = workflow.ACTION_RULES.get(action, ())
        if workflow.HANDLER in rules or workflow.TARGET_DEPARTMENT in rules:
            raise Forbidden(
                _("只有当前处置人或处置部门可以执行“%(action)s”") % {"action": workflow.action_label(action)},
                code="forbidden",
            )
        scope = user_scope_code(actor)
        if scope is None or not code_within(case.area_code, scope):
            raise Forbidden(_("该案件不在您的辖区范围内"))
    raise Forbidden(_("您没有执行“%(action)s”的权限") % {"action": workflow.action_label(action)})


@transaction.atomic
def case_transition(
    *,
    actor: Any,
    case: Case | int,
    action: str,
    expected_version: int,
    note: str = "",
    at: datetime | None = None,
    **payload: Any,
) -> Case:
    """Take ``action`` on ``case``. The ONLY code that changes ``Case.status``.

    Validates the action against ``workflow.TRANSITIONS`` (DomainError "illegal_transition"
    listing the allowed actions), checks the actor's permission, applies optimistic locking
    (Conflict 409 when the case changed since ``expected_version``), and writes the case, a
    CaseEvent and an audit record in one transaction. Returns the updated case."""
    current = _load(case)
    if current.version != expected_version:
        raise Conflict(_(CONFLICT_MESSAGE), code="conflict")
    to_status = workflow.target_status(current.status, action)
    if to_status is None:
        raise DomainError(workflow.illegal_transition_message(current.status, action), code="illegal_transition")
    _check_permission(actor, current, action)
    note = _reason(payload, note, action=action)
    # Only the platform (the deadline sweep) may date an action other than now.
    now = at if at is not None and isinstance(actor, SystemActor) else timezone.now()
    fields, data, override = _apply(current, action, actor, payload, note, now)
    to_status = override or to_status
    from_status = current.status
    updated = Case.objects.filter(pk=current.pk, version=expected_version).update(
        status=to_status, version=expected_version + 1, updated_at=now, **fields
    )
    if updated == 0:
        raise Conflict(_(CONFLICT_MESSAGE), code="conflict")
    changes = _set_fields(current, fields)
    current.status = to_status
    current.version = expected_version + 1
    _record_event(
        case=current,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
        changes=changes,
        now=now,
    )
    if action == CaseAction.REGISTER and payload.get("route", True):
        decision = routing.route_case(current)
        if not decision.is_manual:
            current = case_transition(
                actor=SYSTEM_ACTOR,
                case=current,
                action=CaseAction.DISPATCH,
                expected_version=current.version,
                note=decision.reason,
                decision=decision,
            )
        else:
            # The manual queue: the register event says why nobody was found.
            event = current.events.order_by("-id").first()
            if event is not None:
                event.data = {**event.data, "routing": decision.as_data()}
                event.note = event.note or decision.reason
                event.save(update_fields=["data", "note"])
    return current


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _set_fields(obj: models.Model, fields: Mapping[str, Any], *, only_changed: bool = True) -> dict[str, Any]:
    """Set ``fields`` on ``obj`` and return the audit changes ({name: {before, after}}): only
    the fields whose value changed (all of them with ``only_changed`` False); the deadline
    marks are bookkeeping, never listed."""
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        before, after = _plain(getattr(obj, name)), _plain(value)
        setattr(obj, name, value)
        if (before != after or not only_changed) and name != "deadline_marks":
            changes[name] = {"before": before, "after": after}
    return changes


# --- convenience wrappers -----------------------------------------------------------------


def case_dispatch(
    *,
    actor: Any,
    case: Case | int,
    expected_version: int,
    handler: User | int | None = None,
    department: Department | int | None = None,
    unit: Area | int | None = None,
    grid_chief: bool = False,
    note: str = "",
) -> Case:
    """Manual dispatch (from the manual queue, or a re-dispatch): exactly one target."""
    return case_transition(
        actor=actor,
        case=case,
        action=CaseAction.DISPATCH,
        expected_version=expected_version,
        note=note,
        handler=handler,
        department=department,
        unit=unit,
        grid_chief=grid_chief,
    )


def case_evaluate_by_resident(
    *, tracking_code: str, satisfaction: int, resolved: bool, comment: str = "", reopen_if_unsatisfied: bool = False
) -> Case:
    """The public tracking page: the resident rates a closed case (and may ask to reopen it
    when not satisfied)."""
    found = Case.objects.filter(tracking_code=tracking_code.strip().upper(), is_hidden=False).first()
    if found is None:
        raise NotFound(_("查询码不存在"))
    actor = ResidentActor(tracking_code=found.tracking_code)
    with transaction.atomic():
        case = case_transition(
            actor=actor,
            case=found,
            action=CaseAction.EVALUATE,
            expected_version=found.version,
            note=comment,
            satisfaction=satisfaction,
            resolved=resolved,
        )
        if reopen_if_unsatisfied and (satisfaction <= 2 or not resolved):
            case = case_transition(
                actor=actor,
                case=case,
                action=CaseAction.REOPEN,
                expected_version=case.version,
                note=comment or _("反映人对处置结果不满意"),
            )
    return case


MODERATED_FIELDS = ("title", "description", "category", "lon", "lat", "address", "is_hidden", "priority")


@transaction.atomic
def can_moderate(actor: Any) -> bool:
    """The moderation right (correct a report, hide it or its photos): dispatch or verify."""
    return has_capability(actor, CaseCapability.DISPATCH) or has_capability(actor, CaseCapability.VERIFY)


def case_moderate(*, actor: Any, case: Case | int, expected_version: int, reason: str, **changes: Any) -> Case:
    """Staff correct a report's text, location, category or priority, or hide it from the
    public. The status does not change; the original values are kept in the event's data."""
    ensure_can_write(actor)
    current = _load(case)
    if not can_moderate(actor):
        raise Forbidden(_("您没有审核修改案件的权限"))
    ensure_in_scope(actor, current.area_code)
    if current.version != expected_version:
        raise Conflict(_(CONFLICT_MESSAGE), code="conflict")
    unknown = set(changes) - set(MODERATED_FIELDS)
    if unknown:
        raise ValidationError(_("不能修改这些字段: %(f)s") % {"f": ", ".join(sorted(unknown))})
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("请填写修改原因")})
    fields: dict[str, Any] = {}
    if "title" in changes:
        fields["title"] = _text(changes, "title", _("标题"), TITLE_MAX, required=True)
    if "description" in changes:
        fields["description"] = _text(changes, "description", _("描述"), DESCRIPTION_MAX, required=True)
    if "address" in changes:
        fields["address"] = _text(changes, "address", _("地址"), ADDRESS_MAX, required=False)
    if "category" in changes:
        fields["category"] = _category(changes["category"])
    if "priority" in changes:
        if changes["priority"] not in Priority.values:
            raise ValidationError({"priority": _("未知的优先级")})
        fields["priority"] = changes["priority"]
    if "is_hidden" in changes:
        fields["is_hidden"] = bool(changes["is_hidden"])
    if "lon" in changes or "lat" in changes:
        lon, lat = _coordinates({"lon": changes.get("lon"), "lat": changes.get("lat")})
        fields.update(lon=lon, lat=lat)
        grid: Area | None = None
        if lon is not None and lat is not None:
            located = locate(lon, lat)
            if located.inside and located.grid is not None:
                grid = Area.objects.filter(pk=located.grid.id).first()
        fields["grid"] = grid
        fields["area_code"] = grid.code if grid else _district_code()
        if fields["area_code"] != current.area_code:
            ensure_in_scope(actor, fields["area_code"])
    before = {name: _plain(getattr(current, name)) for name in fields}
    after = {name: _plain(value) for name, value in fields.items()}
    diff = {k: {"before": before[k], "after": after[k]} for k in fields if before[k] != after[k]}
    if not diff:
        return current
    now = timezone.now()
    updated = Case.objects.filter(pk=current.pk, version=expected_version).update(
        version=expected_version + 1, updated_at=now, **fields
    )
    if updated == 0:
        raise Conflict(_(CONFLICT_MESSAGE), code="conflict")
    for name, value in fields.items():
        setattr(current, name, value)
    current.version = expected_version + 1
    _record_event(
        case=current,
        actor=actor,
        action=CaseAction.MODERATE,
        from_status=current.status,
        to_status=current.status,
        note=reason,
        data={"original": {k: v["before"] for k, v in diff.items()}, "changes": diff},
        changes=diff,
        audit_action=AuditAction.UPDATE,
        is_transition=False,
        now=now,
    )
    return current


def case_owner_ok(case: Case) -> bool:
    """The ownership invariant (used by tests and a system check): an assigned case has
    exactly one owner, a queued case none."""
    owner = case_owner(case)
    if case.status in ASSIGNED_STATUSES:
        if case.in_manual_queue or owner is None:
            return False
        if case.status in (CaseStatus.HANDLING, CaseStatus.REPORTED) and not case.current_handler_id:
            return False
        return not (
            case.status == CaseStatus.TRANSFER_PENDING and (case.current_handler_id or not case.current_department_id)
        )
    if case.status == CaseStatus.REGISTERED:
        return case.in_manual_queue and owner is None
    if case.status == CaseStatus.RECEIVED:
        return not case.in_manual_queue and owner is None
    return not case.in_manual_queue


# Reads the hotline console needs, kept with the services for discoverability.
from civicgrid.cases.selectors import case_find_by_caller_phone, case_possible_duplicates  # noqa: E402

__all__ = [
    "can_moderate",
    "case_dispatch",
    "case_evaluate_by_resident",
    "case_find_by_caller_phone",
    "case_intake",
    "case_moderate",
    "case_possible_duplicates",
    "case_transition",
]


# --- handling records (the worker's phone app) ------------------------------------------------


@transaction.atomic
def case_handling_record(
    *, actor: Any, case: Case | int, expected_version: int, note: str = "", data: dict[str, Any] | None = None
) -> CaseEvent:
    """处置记录: the current handler notes progress on a case being handled (and lists the
    photos added with it) without changing its status. Only the current owner (the handler
    rule of ``workflow.ACTION_RULES``) may write one, only while the case is being handled;
    a stale ``expected_version`` is a 409 like any transition. The version is NOT bumped (a
    note never makes another person's form stale). One timeline event (备注, internal) and
    one audit record."""
    if _is_user(actor):
        ensure_can_write(actor)
    current = _load(case)
    if current.version != expected_version:
        raise Conflict(_(CONFLICT_MESSAGE), code="conflict")
    if current.status != CaseStatus.HANDLING:
        raise DomainError(
            _("案件当前状态为“%(status)s”, 不能填写处置记录") % {"status": workflow.status_label(current.status)},
            code="illegal_transition",
        )
    if not workflow.rule_allows(workflow.HANDLER, actor, current):
        raise Forbidden(_("只有当前处置人可以填写处置记录"))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("说明不能超过%(n)d个字") % {"n": NOTE_MAX}})
    payload = dict(data or {})
    if not note and not payload.get("photos"):
        raise ValidationError({"note": _("请填写处置情况或上传照片")})
    return _record_event(
        case=current,
        actor=actor,
        action=CaseAction.COMMENT,
        from_status=current.status,
        to_status=current.status,
        note=note,
        data=payload,
        changes={"note": {"before": None, "after": note[:200] or None}},
        audit_action=AuditAction.UPDATE,
        is_transition=False,
    )


@transaction.atomic
def case_event_annotate(*, case: Case, actor: Any, data: Mapping[str, Any]) -> CaseEvent | None:
    """Add ``data`` (a client action id, the ids of photos taken with it) to the event the
    actor's last action on ``case`` wrote. Call it inside the same transaction, right after
    ``case_transition``; the status, the note and the audit record are not touched."""
    event = CaseEvent.objects.filter(case_id=case.pk, actor_id=getattr(actor, "pk", None)).order_by("-id").first()
    if event is None:
        return None
    event.data = {**(event.data or {}), **dict(data)}
    event.save(update_fields=["data"])
    return event
