"""Writes of the phone app, composed ONLY of the owning apps' services: case transitions
(``cases.services.case_transition`` with the version the worker saw), handling records
(``case_handling_record``), photos (``cases.photos``) and the patrol-channel intake
(``cases.open311.intake.intake_with_record``, which ``POST /api/cases/patrol-reports`` uses).

Every write here is safe to replay: a queued action carries a client id that is stored on the
timeline event it wrote, a report carries an Idempotency-Key, so a phone that resends after a
lost answer never applies anything twice."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.cases import photos, services
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Case, Category, PhotoKind
from civicgrid.cases.open311.intake import intake_with_record
from civicgrid.common.errors import Conflict
from civicgrid.mobile import selectors

# The actions the phone offers (the others stay on the desktop case page).
MOBILE_ACTIONS: tuple[str, ...] = (
    A.ACKNOWLEDGE,
    A.ACCEPT_TRANSFER,
    A.REPORT_BACK,
    A.REQUEST_EXTENSION,
    A.RETURN_TO_DISPATCHER,
    A.REFUSE_TRANSFER,
)
RECORD = "record"  # 处置记录: a note and/or photos, no status change
# Actions whose note is required (the workflow's reasons plus what the service asks for).
NOTE_REQUIRED = frozenset({A.REPORT_BACK, A.REQUEST_EXTENSION, A.RETURN_TO_DISPATCHER, A.REFUSE_TRANSFER})
# Actions that may carry handling photos (taken while the case is being handled).
PHOTO_ACTIONS = frozenset({RECORD, A.REPORT_BACK})
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class ActResult:
    """What an action did. For a replay (``replayed``) ``status`` and ``version`` are the ones
    the first submission answered (kept on its timeline event), not the case's current ones,
    so the phone's queue chains the next action on exactly what it did."""

    case: Case
    replayed: bool
    photo_count: int
    status: str = ""
    version: int = 0


def _client_id(value: str) -> str:
    value = (value or "").strip()
    if value and not CLIENT_ID_RE.match(value):
        raise ValidationError({"client_id": _("操作编号格式不正确")})
    return value


def _event_action(action: str) -> str:
    return A.COMMENT if action == RECORD else action


def _replayed(actor: Any, case: Case, action: str, client_id: str) -> ActResult | None:
    """The first answer to an action already applied under ``client_id`` (None if none was)."""
    if not client_id:
        return None
    earlier = selectors.event_for_client_action(actor, case, client_id)
    if earlier is None:
        return None
    if earlier.action != _event_action(action):
        raise ValidationError({"client_id": _("该操作编号已用于另一项操作")})
    current = selectors.task_get(actor, case.pk)
    data = earlier.data or {}
    version = data.get("version")
    return ActResult(
        current,
        True,
        0,
        status=earlier.to_status or current.status,
        version=version if isinstance(version, int) else current.version,
    )


def task_act(
    *,
    actor: Any,
    case: Case,
    action: str,
    expected_version: int,
    note: str = "",
    hours: int | None = None,
    uploads: Iterable[Any] = (),
    photo_kind: str = PhotoKind.AFTER,
    client_id: str = "",
) -> ActResult:
    """Take one phone action on ``case`` (which the caller read through the selectors).

    ``action`` is one of ``MOBILE_ACTIONS`` or ``RECORD``. Photos are checked by content before
    anything is written; then, in one transaction: the photos (handling record, report back),
    the transition or the handling record, and the client id with the resulting version on
    the event. A stale ``expected_version`` raises Conflict (409) and writes nothing. A
    ``client_id`` (the queue's Idempotency-Key) seen before on this case returns what the
    first submission answered (``replayed``) without acting again; the check is repeated
    under the case's row lock, so two submissions racing each other apply it once."""
    if action not in (*MOBILE_ACTIONS, RECORD):
        raise ValidationError({"action": _("手机端不支持该操作")})
    client_id = _client_id(client_id)
    note = (note or "").strip()
    files = [f for f in uploads if f]
    if files and action not in PHOTO_ACTIONS:
        raise ValidationError({"photos": _("该操作不能附带照片")})
    if action in NOTE_REQUIRED and not note:
        label = _("处置情况") if action == A.REPORT_BACK else _("原因")
        raise ValidationError({"note": _("请填写%(what)s") % {"what": label}})
    replay = _replayed(actor, case, action, client_id)
    if replay is not None:
        return replay
    if case.version != expected_version:
        # Checked first, so a case that moved on answers "changed meanwhile", not a photo error.
        raise Conflict(_(services.CONFLICT_MESSAGE), code="conflict")
    checked = photos.check_photos(files)
    try:
        with transaction.atomic():
            # The row lock (PostgreSQL; SQLite's IMMEDIATE transactions serialise writers)
            # makes "seen this client id?" and the write one step.
            locked = Case.objects.select_for_update().filter(pk=case.pk).values_list("version", flat=True).first()
            replay = _replayed(actor, case, action, client_id)
            if replay is not None:
                return replay
            if locked != expected_version:
                raise Conflict(_(services.CONFLICT_MESSAGE), code="conflict")
            current = _apply(actor, case, action, expected_version, note, hours, checked, photo_kind, client_id)
    except Conflict:
        # Another submission of the same action may have won the race: answer as it did.
        replay = _replayed(actor, case, action, client_id)
        if replay is not None:
            return replay
        raise
    return current


def _apply(
    actor: Any,
    case: Case,
    action: str,
    expected_version: int,
    note: str,
    hours: int | None,
    checked: list[photos.CheckedPhoto],
    photo_kind: str,
    client_id: str,
) -> ActResult:
    tag: dict[str, Any] = {"client_id": client_id} if client_id else {}
    added = photos.handling_photos_add(actor=actor, case=case, checked=checked, kind=photo_kind)
    if added:
        tag["photos"] = [p.pk for p in added]
    if action == RECORD:
        if client_id:
            tag["version"] = expected_version  # a handling record does not bump the version
        services.case_handling_record(actor=actor, case=case, expected_version=expected_version, note=note, data=tag)
        current = case
    else:
        payload: dict[str, Any] = {}
        if action == A.REQUEST_EXTENSION:
            payload["hours"] = hours
        current = services.case_transition(
            actor=actor, case=case, action=action, expected_version=expected_version, note=note, **payload
        )
        if client_id:
            tag["version"] = current.version
        if tag:
            services.case_event_annotate(case=current, actor=actor, data=tag)
    return ActResult(current, False, len(added), status=current.status, version=current.version)


@dataclass(frozen=True)
class ReportResult:
    case: Case
    created: bool


def report_problem(
    *,
    actor: Any,
    data: Mapping[str, Any],
    uploads: Iterable[Any] = (),
    idempotency_key: str,
    patrol_id: int | None = None,
) -> ReportResult:
    """A "problem found" becomes a case in one step, through the patrol-channel intake (auto-registered
    and routed like ``POST /api/cases/patrol-reports``). ``data``: category, description,
    title (optional: the category's name), lon/lat, address, priority. The worker's patrol
    (``patrol_id`` if it is theirs, else their active one) is linked in the intake record's
    attributes. Photos are checked before anything is written and stored with the case in
    the same transaction. The same Idempotency-Key returns the first case (``created`` False),
    whatever the payload of the retry."""
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError({"idempotency_key": _("缺少 Idempotency-Key, 请刷新页面后重试")})
    earlier = services.case_for_idempotency_key(actor=actor, channel=Channel.PATROL, key=key)
    if earlier is not None:
        return ReportResult(earlier, False)
    fields = {k: data.get(k) for k in ("title", "description", "category", "lon", "lat", "address", "priority")}
    fields = {k: v for k, v in fields.items() if v not in (None, "")}
    if not str(fields.get("title") or "").strip():
        category = _category_or_none(fields.get("category"))
        fields["title"] = (_("巡查发现: %(c)s") % {"c": category.name})[:100] if category else _("巡查发现的问题")
    checked = photos.check_photos([f for f in uploads if f])
    patrol = selectors.my_patrol(actor, patrol_id)
    attributes = {"patrol_id": patrol.pk} if patrol is not None else {}
    with transaction.atomic():
        result = intake_with_record(
            actor=actor, channel=Channel.PATROL, data=fields, idempotency_key=key, attributes=attributes
        )
        if result.created:
            for item in checked:
                photos.photo_add(actor=actor, case=result.case, checked=item, kind=PhotoKind.REPORT)
    return ReportResult(result.case, result.created)


def _category_or_none(value: Any) -> Category | None:
    text = str(value or "").strip()
    if not text:
        return None
    qs = Category.objects.filter(pk=int(text)) if text.isdigit() else Category.objects.filter(code=text)
    return qs.first()
