"""Log-in, failed log-in, log-out and lock-out go to the audit trail, with the client IP."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from civicgrid.audit.context import client_ip
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record

USERNAME_MAX = 150


def _ip(request: Any) -> str | None:
    meta = getattr(request, "META", None)
    return client_ip(meta) if meta is not None else None


def _area_code(user: Any) -> str:
    area = getattr(user, "area", None) if user is not None else None
    return str(getattr(area, "code", "") or "")


def _known_user(username: str) -> Any:
    if not username:
        return None
    model = get_user_model()
    return model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()


@receiver(user_logged_in, dispatch_uid="civicgrid_audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.LOGIN, obj=user, area_code=_area_code(user), actor=user, ip_address=_ip(request))


@receiver(user_logged_out, dispatch_uid="civicgrid_audit_logout")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:  # logging out an anonymous session
        return
    reason = str(getattr(request, "civicgrid_logout_reason", "") or "")
    audit_record(
        action=AuditAction.LOGOUT,
        obj=user,
        area_code=_area_code(user),
        actor=user,
        ip_address=_ip(request),
        message=reason,
    )


@receiver(user_login_failed, dispatch_uid="civicgrid_audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # ``credentials`` has the password already masked by Django; only the username is kept.
    username = str(credentials.get("username", "") or "")[:USERNAME_MAX]
    user = _known_user(username)
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=username,
        area_code=_area_code(user),
        actor_label=username,
        ip_address=_ip(request),
        message="" if user else "unknown_user",
    )


@receiver(user_locked_out, dispatch_uid="civicgrid_audit_lockout")
def audit_lockout(
    sender: Any, request: Any = None, username: str | None = None, ip_address: str | None = None, **kwargs: Any
) -> None:
    name = str(username or "")[:USERNAME_MAX]
    user = _known_user(name)
    audit_record(
        action=AuditAction.LOCKOUT,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=name,
        area_code=_area_code(user),
        actor_label=name,
        ip_address=ip_address or _ip(request),
    )
