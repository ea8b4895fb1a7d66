"""Who may do what with reports.

- Generate and download: every case reader (``cases.view``); reports of nodes in their scope.
- Manage schedules on the page: the command centre and street administrators (territory
  staff who may write) for nodes in their scope; the system administrator and superusers in
  the admin (choosing the account the report is generated as).
- A schedule's owner (the account its figures follow) and recipients must be case readers
  whose territory covers the node; department handlers are left out because their case view
  is by department, not by territory."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.permissions import Capability, has_capability, is_read_only
from civicgrid.accounts.scope import code_within, user_scope_code

GENERATE = Capability.CASES_VIEW
SCHEDULE_ROLES = frozenset({Role.COMMAND_OPERATOR, Role.STREET_ADMIN})


def _active(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False)) and bool(user.is_active)


def may_generate(user: Any) -> bool:
    return _active(user) and has_capability(user, GENERATE)


def require_generate(user: Any) -> None:
    if not may_generate(user):
        raise PermissionDenied(_("您没有生成统计报表的权限"))


def may_manage_schedules(user: Any) -> bool:
    if not _active(user) or is_read_only(user):
        return False
    if user.is_superuser or has_capability(user, Capability.CASES_ADMIN):
        return True
    return str(user.role) in SCHEDULE_ROLES and has_capability(user, GENERATE)


def require_manage_schedules(user: Any) -> None:
    if not may_manage_schedules(user):
        raise PermissionDenied(_("您没有管理定时报表的权限"))


def reader_refusal(user: Any, area_code: str) -> str | None:
    """Why ``user`` cannot be a schedule's owner or recipient for the node (None: they can)."""
    if not _active(user):
        return _("账号 %(u)s 已停用") % {"u": getattr(user, "username", "")}
    if not has_capability(user, GENERATE):
        return _("账号 %(u)s 没有查看案件的权限") % {"u": user.username}
    if str(user.role) == Role.DEPARTMENT_HANDLER:
        return _("部门处置人员 %(u)s 按部门查看案件, 不能接收辖区报表") % {"u": user.username}
    scope = user_scope_code(user)
    if scope is None or not code_within(area_code, scope):
        return _("所选辖区不在账号 %(u)s 的辖区范围内") % {"u": user.username}
    return None


def validate_reader(user: Any, area_code: str, field: str) -> None:
    reason = reader_refusal(user, area_code)
    if reason:
        raise ValidationError({field: [reason]})
