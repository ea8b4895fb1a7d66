"""Account writes. Every function is keyword-only, atomic and audited.

``ensure_can_write(actor)`` is THE guard every write service in every app calls first:
read-only roles (leader, audit administrator) and anonymous or inactive actors are refused.
``audit_record`` applies the same rule to data-changing actions as a backstop, so a service
that forgot the guard still cannot let a read-only role change anything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, User
from civicgrid.accounts.permissions import Capability, has_capability, is_read_only
from civicgrid.accounts.scope import code_within, user_scope_code
from civicgrid.audit.diff import model_diff, snapshot
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.territory.models import Area

# The three separated administrators (三员分立): only the security administrator (or a
# superuser) may create or assign these roles.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


def ensure_can_write(actor: Any) -> None:
    """Refuse any data change by a read-only role, an anonymous or an inactive actor."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("请先登录"))
    if is_read_only(actor):
        raise PermissionDenied(_("您的角色为只读, 不能修改数据"))


def validate_account_assignment(*, actor: Any, role: str, area: Area | None, target: User | None = None) -> None:
    """May ``actor`` give an account this role and territory? Raises PermissionDenied or
    ValidationError with a Chinese message."""
    ensure_can_write(actor)
    if not (actor.is_superuser or has_capability(actor, Capability.MANAGE_ACCOUNTS)):
        raise PermissionDenied(_("您没有管理账号的权限"))
    if role not in Role.values:
        raise ValidationError({"role": _("角色不存在")})
    changes_own = role != target.role or (area.pk if area else None) != target.area_id if target else False
    if target is not None and target.pk == actor.pk and changes_own:
        raise PermissionDenied(_("不能修改自己的角色或辖区"))
    granting_admin_role = role in ADMIN_ROLES or (target is not None and target.role in ADMIN_ROLES)
    if granting_admin_role and not (actor.is_superuser or has_capability(actor, Capability.MANAGE_SECURITY)):
        raise PermissionDenied(_("只有安全管理员可以分配或修改管理员角色"))
    scope = user_scope_code(actor)
    if scope is None:
        raise PermissionDenied(_("您的账号未绑定辖区"))
    if area is None:
        if role not in ADMIN_ROLES:
            raise ValidationError({"area": _("业务账号必须绑定辖区")})
        if scope != "":
            raise PermissionDenied(_("只有全区范围的管理员可以创建不绑定辖区的账号"))
    elif not code_within(area.code, scope):
        raise PermissionDenied(_("该辖区不在您的管理范围内"))
    if target is not None and target.area is not None and not code_within(target.area.code, scope):
        raise PermissionDenied(_("该账号不在您的管理范围内"))


def _check_departments(actor: Any, departments: Iterable[Department]) -> list[Department]:
    items = list(departments)
    scope = user_scope_code(actor) or ""
    for dept in items:
        if not code_within(dept.area.code, scope):
            raise PermissionDenied(_("部门“%(name)s”不在您的管理范围内") % {"name": dept.name})
    return items


def _audit_user(action: str, user: User, before: Any, actor: Any) -> None:
    audit_record(
        action=action,
        obj=user,
        area_code=user.area.code if user.area else "",
        changes=model_diff(before, snapshot(user) if action != AuditAction.DELETE else None),
        actor=actor,
    )


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    role: str,
    area: Area | None,
    departments: Iterable[Department] = (),
    display_name: str = "",
    password: str,
    mobile: str = "",
    is_demo: bool = False,
) -> User:
    validate_account_assignment(actor=actor, role=role, area=area)
    depts = _check_departments(actor, departments)
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("用户名已存在")})
    user = User(username=username, role=role, area=area, display_name=display_name, mobile=mobile, is_demo=is_demo)
    user.full_clean(exclude=["password"])
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    user.departments.set(depts)
    _audit_user(AuditAction.CREATE, user, None, actor)
    return user


_UPDATABLE = ("display_name", "mobile", "role", "area", "is_active", "is_demo")


@transaction.atomic
def user_update(*, actor: Any, user: User, departments: Iterable[Department] | None = None, **fields: Any) -> User:
    unknown = set(fields) - set(_UPDATABLE)
    if unknown:
        raise ValidationError(_("不能修改这些字段: %(f)s") % {"f": ", ".join(sorted(unknown))})
    user = User.objects.select_for_update(of=("self",)).select_related("area").get(pk=user.pk)
    before = snapshot(user)
    validate_account_assignment(
        actor=actor, role=fields.get("role", user.role), area=fields.get("area", user.area), target=user
    )
    if user.pk == actor.pk and fields.get("is_active") is False:
        raise PermissionDenied(_("不能停用自己的账号"))
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save()
    if departments is not None:
        user.departments.set(_check_departments(actor, departments))
    _audit_user(AuditAction.UPDATE, user, before, actor)
    return user


@transaction.atomic
def user_set_password(*, actor: Any, user: User, password: str) -> User:
    """Set a password (one's own, or another's by an account manager). The validators run
    (length, classes, history); User.save records the history and the audit entry."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("请先登录"))
    if actor.pk != user.pk:
        validate_account_assignment(actor=actor, role=user.role, area=user.area, target=user)
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def department_create(*, actor: Any, code: str, name: str, kind: str, area: Area, phone: str = "") -> Department:
    ensure_can_write(actor)
    if not (actor.is_superuser or has_capability(actor, Capability.MANAGE_ACCOUNTS)):
        raise PermissionDenied(_("您没有管理部门的权限"))
    scope = user_scope_code(actor)
    if scope is None or not code_within(area.code, scope):
        raise PermissionDenied(_("该辖区不在您的管理范围内"))
    dept = Department(code=code, name=name, kind=kind, area=area, phone=phone)
    dept.full_clean()
    dept.save()
    audit_record(action=AuditAction.CREATE, obj=dept, area_code=area.code, changes=model_diff(None, dept), actor=actor)
    return dept
