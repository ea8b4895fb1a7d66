"""Camera reads, always through ``accounts.scope.scope_queryset`` (a camera's and an
alert's ``area_code`` is its grid's code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import code_range_q, scope_queryset
from civicgrid.cameras.enums import AlertOutcome, CameraStatus
from civicgrid.cameras.models import Camera, CameraAlert, CameraImport
from civicgrid.cameras.services import offline_cutoff
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common.errors import NotFound

# Whoever sees cases sees the cameras that open them.
VIEW_CAPABILITY = CaseCapability.VIEW


def require_view(user: Any) -> None:
    if not has_capability(user, VIEW_CAPABILITY):
        raise PermissionDenied(_("您没有查看视频探头的权限"))


def shown_status(camera: Camera, *, cutoff: datetime | None = None) -> str:
    """What the registry shows: an "online" camera whose heartbeat is older than the
    offline threshold is already offline, even before the sweep marks it."""
    if camera.status != CameraStatus.ONLINE:
        return camera.status
    cutoff = cutoff or offline_cutoff()
    if camera.last_heartbeat_at is None or camera.last_heartbeat_at < cutoff:
        return CameraStatus.OFFLINE
    return CameraStatus.ONLINE


def _status_q(status: str, cutoff: datetime) -> Q:
    fresh = Q(status=CameraStatus.ONLINE, last_heartbeat_at__gte=cutoff)
    if status == CameraStatus.ONLINE:
        return fresh
    if status == CameraStatus.OFFLINE:
        return Q(status__in=[CameraStatus.ONLINE, CameraStatus.OFFLINE]) & ~fresh
    return Q(status=status)


@dataclass(frozen=True)
class CameraFilter:
    area: str = ""  # a street, community or grid code inside the user's scope
    status: str = ""
    kind: str = ""
    q: str = ""


def cameras_visible(user: Any, flt: CameraFilter | None = None) -> QuerySet[Camera]:
    """The user's cameras (grid, community and street joined), filtered, by area then code."""
    require_view(user)
    flt = flt or CameraFilter()
    qs = scope_queryset(user, Camera.objects.select_related("grid__parent__parent", "source"))
    if flt.area:
        qs = qs.filter(code_range_q("area_code", flt.area))
    if flt.status in CameraStatus.values:
        qs = qs.filter(_status_q(flt.status, offline_cutoff()))
    if flt.kind:
        qs = qs.filter(kind=flt.kind)
    if flt.q:
        qs = qs.filter(Q(code__icontains=flt.q) | Q(name__icontains=flt.q) | Q(address__icontains=flt.q))
    return qs.order_by("area_code", "code")


def status_counts(user: Any, flt: CameraFilter | None = None) -> dict[str, int]:
    """Online / offline / disabled counts of the filtered cameras (status filter ignored), in one query."""
    flt = flt or CameraFilter()
    base = cameras_visible(user, CameraFilter(area=flt.area, kind=flt.kind, q=flt.q))
    cutoff = offline_cutoff()
    row = base.order_by().aggregate(
        online=Count("id", filter=_status_q(CameraStatus.ONLINE, cutoff)),
        offline=Count("id", filter=_status_q(CameraStatus.OFFLINE, cutoff)),
        disabled=Count("id", filter=Q(status=CameraStatus.DISABLED)),
    )
    return {k: int(v or 0) for k, v in row.items()}


def camera_get(user: Any, camera_id: int) -> Camera:
    found = cameras_visible(user).filter(pk=camera_id).first()
    if found is None:
        raise NotFound(_("探头不存在或不在您的辖区范围内"))
    return found


@dataclass(frozen=True)
class AlertFilter:
    area: str = ""
    outcome: str = ""
    event_type: str = ""
    camera_id: int | None = None


def alerts_visible(user: Any, flt: AlertFilter | None = None) -> QuerySet[CameraAlert]:
    """The user's alerts, newest first, with camera, case and rule joined."""
    require_view(user)
    flt = flt or AlertFilter()
    qs = scope_queryset(
        user, CameraAlert.objects.select_related("camera", "case", "case__camera_link", "rule", "source")
    )
    if flt.area:
        qs = qs.filter(code_range_q("area_code", flt.area))
    if flt.outcome in AlertOutcome.values:
        qs = qs.filter(outcome=flt.outcome)
    if flt.event_type:
        qs = qs.filter(event_type=flt.event_type)
    if flt.camera_id is not None:
        qs = qs.filter(camera_id=flt.camera_id)
    return qs.order_by("-received_at", "-id")


def now() -> datetime:
    return timezone.now()


# --- imports ---------------------------------------------------------------------------------


def imports_visible(user: Any) -> QuerySet[CameraImport]:
    """A user's own camera imports (newest first), within their territory."""
    return scope_queryset(user, CameraImport.objects.filter(created_by=user), "area_code").order_by("-id")


def import_get(user: Any, pk: Any) -> CameraImport:
    try:
        return imports_visible(user).get(pk=int(pk))
    except (CameraImport.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound(_("未找到该导入任务。")) from exc
