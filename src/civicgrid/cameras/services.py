"""Camera writes: registration, alerts (rules, suppression, cases), heartbeats and the
offline sweep. Every state change writes an audit record in the same transaction.

Alerts are serialised per camera: the camera row is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's IMMEDIATE transactions already admit one writer at a time) before the
open case is looked up, and the partial unique constraint ``cameracaselink_one_open``
(one open link per camera and event type) backs it up, so two alerts arriving together can
never open two cases."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cameras import conf
from civicgrid.cameras.enums import AlertOutcome, CameraKind, CameraStatus
from civicgrid.cameras.models import AlertRule, Camera, CameraAlert, CameraCaseLink
from civicgrid.cases import photos
from civicgrid.cases import services as case_services
from civicgrid.cases.enums import OPEN_STATUSES, CaseAction, Channel
from civicgrid.cases.models import Case, PhotoKind, WebhookSource
from civicgrid.cases.photos import CheckedPhoto
from civicgrid.cases.workflow import SYSTEM_ACTOR
from civicgrid.common.errors import NotFound
from civicgrid.common.text import join_list
from civicgrid.territory.locate import locate
from civicgrid.territory.models import Area

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}$")
EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,49}$")
DELIVERY_ID_MAX = 100
DESCRIPTION_MAX = 500
COMMUNITY_CODE_LENGTH = 12


def _source_label(source: WebhookSource) -> str:
    return _("告警接入源 %(name)s") % {"name": source.name}


# --- registration -----------------------------------------------------------------------------


def locate_camera(lon: Any, lat: Any) -> tuple[float, float, Area]:
    """Checked coordinates and the grid that contains them (ValidationError outside the
    district's grids: a camera always belongs to a grid)."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError({"lon": _("坐标必须是数字")}) from None
    located = locate(x, y)
    if not located.inside or located.grid is None:
        raise ValidationError({"lon": _("探头位置不在任何网格内: %(msg)s") % {"msg": located.message}})
    grid = Area.objects.get(pk=located.grid.id)
    return x, y, grid


@transaction.atomic
def camera_register(
    *,
    code: str,
    name: str,
    lon: Any,
    lat: Any,
    kind: str = CameraKind.BULLET,
    address: str = "",
    source: WebhookSource | None = None,
    status: str = CameraStatus.OFFLINE,
    actor: Any = None,
) -> Camera:
    """Register one camera at a point inside a grid (offline until its first heartbeat)."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise ValidationError({"code": _("探头编号只能包含字母、数字、点、横线和下划线, 最长50个字符")})
    if Camera.objects.filter(code=code).exists():
        raise ValidationError({"code": _("探头编号 %(code)s 已存在") % {"code": code}})
    x, y, grid = locate_camera(lon, lat)
    camera = Camera(
        code=code,
        name=(name or "").strip() or code,
        kind=kind,
        lon=x,
        lat=y,
        address=(address or "").strip(),
        grid=grid,
        area_code=grid.code,
        source=source,
        status=status,
        status_changed_at=timezone.now(),
    )
    camera.full_clean()
    camera.save()
    audit_record(
        action=AuditAction.CREATE,
        obj=camera,
        area_code=camera.area_code,
        changes={
            "code": {"before": None, "after": code},
            "grid": {"before": None, "after": grid.code},
            "status": {"before": None, "after": status},
        },
        message=f"camera {code}",
        actor=actor,
    )
    return camera


# --- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertIn:
    """A verified alert, as the HTTP layer parsed it."""

    delivery_id: str
    camera_code: str
    event_type: str
    occurred_at: datetime
    description: str = ""
    snapshot: CheckedPhoto | None = None


@dataclass(frozen=True)
class AlertResult:
    alert: CameraAlert
    replayed: bool
    occurrences: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert.pk,
            "delivery_id": self.alert.delivery_id,
            "camera": self.alert.camera.code,
            "event_type": self.alert.event_type,
            "outcome": self.alert.outcome,
            "case_id": self.alert.case_id,
            "occurrences": self.occurrences,
            "replayed": self.replayed,
        }


def validate_alert(data: AlertIn, *, now: datetime | None = None) -> None:
    """Field checks (ValidationError with the field): nothing is written for a bad alert."""
    now = now or timezone.now()
    if not data.delivery_id or len(data.delivery_id) > DELIVERY_ID_MAX:
        raise ValidationError({"delivery_id": _("缺少或无效的投递编号 delivery_id (1到100个字符)")})
    if not data.camera_code or len(data.camera_code) > 50:
        raise ValidationError({"camera": _("缺少探头编号 camera")})
    if not EVENT_TYPE_RE.match(data.event_type or ""):
        raise ValidationError({"event_type": _("事件类型 event_type 只能包含字母、数字、横线和下划线, 最长50个字符")})
    if len(data.description) > DESCRIPTION_MAX:
        raise ValidationError({"description": _("说明不能超过%(n)d个字") % {"n": DESCRIPTION_MAX}})
    if data.occurred_at > now + timedelta(seconds=conf.clock_skew_seconds()):
        raise ValidationError({"occurred_at": _("告警时间晚于当前时间, 请检查平台时钟")})
    if data.occurred_at < now - timedelta(hours=conf.max_alert_age_hours()):
        raise ValidationError(
            {"occurred_at": _("告警时间早于%(h)d小时前, 不再受理") % {"h": conf.max_alert_age_hours()}}
        )


def _replay(source: WebhookSource, delivery_id: str) -> AlertResult | None:
    earlier = (
        CameraAlert.objects.select_related("camera", "case__camera_link")
        .filter(source=source, delivery_id=delivery_id)
        .first()
    )
    if earlier is None:
        return None
    return AlertResult(alert=earlier, replayed=True, occurrences=earlier.occurrence)


def rule_for(source: WebhookSource, event_type: str) -> AlertRule | None:
    """The active rule of this source for the event type, else the active rule for all sources."""
    rules = list(
        AlertRule.objects.select_related("category")
        .filter(Q(source=source) | Q(source__isnull=True), event_type=event_type, is_active=True)
        .order_by("source_id")
    )
    own = [r for r in rules if r.source_id == source.pk]
    chosen = own or rules
    return chosen[0] if chosen else None


def _case_key(source: WebhookSource, delivery_id: str) -> str:
    # case_intake's Idempotency-Key (<= 64 characters), namespaced by the camera channel.
    return "cam-" + hashlib.sha256(f"{source.pk}:{delivery_id}".encode()).hexdigest()[:48]


def _local(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def _open_case(
    *, source: WebhookSource, camera: Camera, rule: AlertRule, data: AlertIn, now: datetime
) -> tuple[Case, CameraCaseLink]:
    label = rule.label or data.event_type
    lines = [
        data.description or _("视频探头自动告警: %(t)s") % {"t": label},
        _("探头: %(code)s %(name)s") % {"code": camera.code, "name": camera.name},
        _("事件类型: %(t)s") % {"t": data.event_type},
        _("告警时间: %(t)s") % {"t": _local(data.occurred_at)},
    ]
    payload: dict[str, Any] = {
        "title": (_("探头告警 %(code)s: %(label)s") % {"code": camera.code, "label": label})[:100],
        "description": "\n".join(lines)[:2000],
        "category": rule.category,
        "lon": camera.lon,
        "lat": camera.lat,
        "address": (camera.address or camera.name)[:200],
    }
    if rule.priority:
        payload["priority"] = rule.priority
    case = case_services.case_intake(
        actor=None, channel=Channel.CAMERA, data=payload, idempotency_key=_case_key(source, data.delivery_id)
    )
    with transaction.atomic():  # a savepoint: a lost race leaves the outer transaction usable
        link = CameraCaseLink.objects.create(
            camera=camera,
            event_type=data.event_type,
            case=case,
            occurrences=1,
            first_at=data.occurred_at,
            last_at=data.occurred_at,
        )
    return case, link


def _merge(*, link: CameraCaseLink, camera: Camera, data: AlertIn, label: str, now: datetime) -> None:
    """One more occurrence on the open case: the count, and a line on its timeline."""
    link.occurrences += 1
    link.last_at = max(link.last_at, data.occurred_at)
    link.save(update_fields=["occurrences", "last_at"])
    case = link.case
    note = _("探头 %(code)s 再次告警“%(label)s”(%(time)s), 累计%(n)d次") % {
        "code": camera.code,
        "label": label,
        "time": _local(data.occurred_at),
        "n": link.occurrences,
    }
    case_services._record_event(  # the case engine's one timeline writer (as photos and the sweep use it)
        case=case,
        actor=SYSTEM_ACTOR,
        action=CaseAction.COMMENT,
        from_status=case.status,
        to_status=case.status,
        note=note,
        data={
            "camera": camera.code,
            "event_type": data.event_type,
            "occurrences": link.occurrences,
            "delivery_id": data.delivery_id,
        },
        changes={"camera_occurrences": {"before": link.occurrences - 1, "after": link.occurrences}},
        audit_action=AuditAction.UPDATE,
        is_transition=False,
        now=now,
    )


def _current_link(camera: Camera, event_type: str, rule: AlertRule, occurred_at: datetime) -> CameraCaseLink | None:
    """The open link an alert merges into, closing a link whose case is closed or whose
    window has passed (the next alert then opens a new case)."""
    link = (
        CameraCaseLink.objects.select_related("case").filter(camera=camera, event_type=event_type, is_open=True).first()
    )
    if link is None:
        return None
    window = timedelta(minutes=rule.suppression_minutes)
    still_open = link.case.status in OPEN_STATUSES
    within = rule.suppression_minutes > 0 and abs(occurred_at - link.last_at) <= window
    if still_open and within:
        return link
    link.is_open = False
    link.save(update_fields=["is_open"])
    return None


def _touch_heartbeat(camera: Camera, at: datetime, *, actor_label: str, reason: str) -> bool:
    """Record a sign of life (never moving the heartbeat back); an offline camera comes
    online (audited). Returns whether the status changed. The caller holds the row lock."""
    fields = []
    if camera.last_heartbeat_at is None or at > camera.last_heartbeat_at:
        camera.last_heartbeat_at = at
        fields.append("last_heartbeat_at")
    changed = camera.status == CameraStatus.OFFLINE
    if changed:
        camera.status = CameraStatus.ONLINE
        camera.status_changed_at = timezone.now()
        fields += ["status", "status_changed_at"]
    if fields:
        camera.save(update_fields=[*fields, "updated_at"])
    if changed:
        audit_record(
            action=AuditAction.TRANSITION,
            obj=camera,
            area_code=camera.area_code,
            changes={"status": {"before": CameraStatus.OFFLINE, "after": CameraStatus.ONLINE}},
            message=f"camera {camera.code} online ({reason})",
            actor_label=actor_label,
        )
    return changed


def alert_receive(*, source: WebhookSource, data: AlertIn, now: datetime | None = None) -> AlertResult:
    """Accept one verified alert of ``source``.

    A repeated delivery id answers what the first delivery did (``replayed``) and writes
    nothing. Otherwise, with the camera row locked: a disabled camera's alert is recorded
    and dropped; an event type without an active rule, or whose rule makes no case, is
    recorded and ignored; else the alert merges into the camera's open case of that event
    type when the previous alert is within the rule's window (count + timeline line), or
    opens a new case through ``case_intake`` on the camera channel (with the snapshot, if
    any, through the case photo pipeline). An alert is also a sign of life of its camera."""
    now = now or timezone.now()
    validate_alert(data, now=now)
    earlier = _replay(source, data.delivery_id)
    if earlier is not None:
        return earlier
    camera = Camera.objects.filter(code=data.camera_code).first()
    if camera is None or (camera.source_id is not None and camera.source_id != source.pk):
        raise NotFound(
            _("探头 %(code)s 未登记(或不属于该接入源)") % {"code": data.camera_code},
            code="unknown_camera",
            fields={"camera": [_("未登记的探头编号")]},
        )
    actor_label = _source_label(source)
    try:
        with transaction.atomic():
            camera = Camera.objects.select_for_update().get(pk=camera.pk)
            earlier = _replay(source, data.delivery_id)  # a concurrent redelivery got the lock first
            if earlier is not None:
                return earlier
            rule = rule_for(source, data.event_type)
            case: Case | None = None
            occurrence = 0
            snapshot = None
            if camera.status == CameraStatus.DISABLED:
                outcome = AlertOutcome.CAMERA_DISABLED
            elif rule is None:
                outcome = AlertOutcome.NO_RULE
            elif not rule.makes_case or rule.category is None:
                outcome = AlertOutcome.IGNORED_BY_RULE
            else:
                link = _current_link(camera, data.event_type, rule, data.occurred_at)
                if link is not None:
                    _merge(link=link, camera=camera, data=data, label=rule.label or data.event_type, now=now)
                    outcome, case, occurrence = AlertOutcome.MERGED, link.case, link.occurrences
                else:
                    case, link = _open_case(source=source, camera=camera, rule=rule, data=data, now=now)
                    outcome, occurrence = AlertOutcome.CASE_OPENED, 1
                    if data.snapshot is not None:
                        snapshot = photos.photo_add(actor=None, case=case, checked=data.snapshot, kind=PhotoKind.REPORT)
            if camera.status != CameraStatus.DISABLED:
                _touch_heartbeat(camera, min(data.occurred_at, now), actor_label=actor_label, reason="alert")
            alert = CameraAlert.objects.create(
                source=source,
                delivery_id=data.delivery_id,
                camera=camera,
                event_type=data.event_type,
                occurred_at=data.occurred_at,
                received_at=now,
                description=data.description,
                rule=rule,
                outcome=outcome,
                case=case,
                occurrence=occurrence,
                snapshot=snapshot,
                had_snapshot=data.snapshot is not None,
                area_code=camera.area_code,
            )
            audit_record(
                action=AuditAction.CREATE,
                obj=alert,
                area_code=camera.area_code,
                changes={
                    "camera": {"before": None, "after": camera.code},
                    "event_type": {"before": None, "after": data.event_type},
                    "outcome": {"before": None, "after": outcome},
                    "case": {"before": None, "after": case.pk if case else None},
                },
                message=f"camera alert {source.name}:{data.delivery_id}",
                actor_label=actor_label,
            )
    except IntegrityError:
        # A concurrent delivery won a uniqueness race (same delivery id, or another open
        # link): answer what it recorded.
        earlier = _replay(source, data.delivery_id)
        if earlier is None:
            raise
        return earlier
    return AlertResult(alert=alert, replayed=False, occurrences=occurrence)


# --- heartbeats and the offline sweep -----------------------------------------------------------


@dataclass
class HeartbeatResult:
    accepted: list[str] = field(default_factory=list)
    came_online: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "came_online": self.came_online,
            "unknown": self.unknown,
        }


def camera_heartbeat(*, source: WebhookSource, codes: Iterable[str], at: datetime | None = None) -> HeartbeatResult:
    """Cameras of ``source`` (or of no source) that are alive at ``at`` (default now).
    Heartbeats never move back in time, so a replayed heartbeat changes nothing; an offline
    camera comes online (audited); a disabled one only has its heartbeat noted. Codes the
    source may not report for are returned as unknown."""
    now = timezone.now()
    at = min(at or now, now)
    wanted = []
    for raw in codes:
        code = str(raw).strip()
        if code and code not in wanted:
            wanted.append(code)
    if not wanted:
        raise ValidationError({"cameras": _("请至少提供一个探头编号")})
    if len(wanted) > conf.heartbeat_max_batch():
        raise ValidationError({"cameras": _("一次最多%(n)d个探头") % {"n": conf.heartbeat_max_batch()}})
    result = HeartbeatResult()
    actor_label = _source_label(source)
    with transaction.atomic():
        mine = Q(source=source) | Q(source__isnull=True)
        cameras = {c.code: c for c in Camera.objects.filter(mine, code__in=wanted)}
        result.unknown = [c for c in wanted if c not in cameras]
        result.accepted = [c for c in wanted if c in cameras]
        # Fresh heartbeats in one statement; status changes one by one (each audited).
        Camera.objects.filter(mine, code__in=result.accepted).filter(
            Q(last_heartbeat_at__isnull=True) | Q(last_heartbeat_at__lt=at)
        ).update(last_heartbeat_at=at, updated_at=now)
        offline = [c.pk for c in cameras.values() if c.status == CameraStatus.OFFLINE]
        for camera in Camera.objects.select_for_update().filter(pk__in=offline, status=CameraStatus.OFFLINE):
            if _touch_heartbeat(camera, at, actor_label=actor_label, reason="heartbeat"):
                result.came_online.append(camera.code)
    return result


@dataclass
class SweepResult:
    checked: int = 0
    marked_offline: int = 0
    notified: int = 0
    codes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"checked": self.checked, "marked_offline": self.marked_offline, "notified": self.notified}


def offline_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(minutes=conf.offline_after_minutes())


def camera_offline_sweep(now: datetime | None = None) -> SweepResult:
    """Mark online cameras without a heartbeat for ``CAMERAS_OFFLINE_AFTER_MINUTES`` offline.
    Idempotent (only online cameras are touched, each by a conditional UPDATE, so a
    heartbeat arriving meanwhile wins); one audit record per camera; one in-app message per
    community worker listing their community's cameras that went offline."""
    now = now or timezone.now()
    cutoff = offline_cutoff(now)
    stale = Q(last_heartbeat_at__lt=cutoff) | Q(last_heartbeat_at__isnull=True)
    candidates = list(
        Camera.objects.filter(stale, status=CameraStatus.ONLINE).values_list("pk", "code", "name", "area_code")
    )
    result = SweepResult(checked=len(candidates))
    if not candidates:
        return result
    by_community: dict[str, list[str]] = defaultdict(list)
    with transaction.atomic():
        for pk, code, name, area_code in candidates:
            updated = Camera.objects.filter(stale, pk=pk, status=CameraStatus.ONLINE).update(
                status=CameraStatus.OFFLINE, status_changed_at=now, updated_at=now
            )
            if not updated:
                continue
            result.marked_offline += 1
            result.codes.append(code)
            by_community[area_code[:COMMUNITY_CODE_LENGTH]].append(f"{code} {name}")
            audit_record(
                action=AuditAction.TRANSITION,
                object_type="cameras.camera",
                object_id=str(pk),
                object_repr=f"{code} {name}"[:200],
                area_code=area_code,
                changes={"status": {"before": CameraStatus.ONLINE, "after": CameraStatus.OFFLINE}},
                message=f"camera {code} offline: no heartbeat since {cutoff.isoformat()}",
                actor_label=_("系统"),
            )
        result.notified = _notify_offline(by_community, now)
    return result


def _notify_offline(by_community: dict[str, list[str]], now: datetime) -> int:
    """The community workers of each community, in the same transaction (outbox)."""
    if not by_community:
        return 0
    from civicgrid.notifications.enums import NotificationChannel
    from civicgrid.notifications.services import Recipient, notification_enqueue

    workers: dict[str, list[int]] = defaultdict(list)
    for pk, code in User.objects.filter(
        role=Role.COMMUNITY_WORKER, is_active=True, area__code__in=list(by_community)
    ).values_list("pk", "area__code"):
        workers[code].append(pk)
    sent = 0
    stamp = now.strftime("%Y%m%d%H%M%S")
    for community, cameras in by_community.items():
        if not workers.get(community):
            continue
        shown = join_list(cameras[:10])
        if len(cameras) > 10:
            shown = _("%(names)s 等%(n)d个") % {"names": shown, "n": len(cameras)}
        sent += notification_enqueue(
            recipients=[Recipient(NotificationChannel.IN_APP, user_id=pk) for pk in workers[community]],
            subject=_("%(n)d个探头离线") % {"n": len(cameras)},
            body=_("以下探头超过%(m)d分钟没有心跳, 已标记为离线: %(list)s")
            % {"m": conf.offline_after_minutes(), "list": shown},
            cause=f"cameras:offline:{community}:{stamp}",
            object_type="cameras.camera",
            link=f"/cameras/?area={community}&status=offline",
            area_code=community,
            now=now,
        )
    return sent
