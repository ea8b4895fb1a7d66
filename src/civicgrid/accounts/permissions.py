"""What each role may do. One table, read by views, the API and the admin alike."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role


class Capability(models.TextChoices):
    VIEW_TERRITORY = "territory.view"
    EDIT_TERRITORY = "territory.edit"
    VIEW_PEOPLE = "people.view"
    EDIT_PEOPLE = "people.edit"
    REVEAL_PEOPLE = "people.reveal"
    IMPORT_PEOPLE = "people.import"
    EXPORT_PEOPLE = "people.export"
    MANAGE_ACCOUNTS = "accounts.manage"
    MANAGE_SECURITY = "security.manage"
    VIEW_AUDIT = "audit.view"
    EXPORT_AUDIT = "audit.export"
    USE_ADMIN = "admin.use"
    # cases (issue 3): see civicgrid/cases/workflow.py for which action needs which.
    CASES_VIEW = "cases.view"
    CASES_INTAKE = "cases.intake"
    CASES_DISPATCH = "cases.dispatch"
    CASES_HANDLE = "cases.handle"
    CASES_VERIFY = "cases.verify"
    CASES_ADMIN = "cases.admin"
    # patrols (issue 4): chiefs patrol; supervisors view patrols in their scope.
    PATROL = "patrols.patrol"
    VIEW_PATROLS = "patrols.view"
    REVIEW_PATROLS = "patrols.review"

    # indicators (issue 5): departments enter their own indicators' values; admins manage
    # the register; leaders and command staff read it.
    VIEW_INDICATORS = "indicators.view"
    ENTER_INDICATORS = "indicators.enter"
    MANAGE_INDICATORS = "indicators.manage"


_READ = {Capability.VIEW_TERRITORY, Capability.VIEW_PEOPLE}
_STAFF_WRITE = _READ | {Capability.EDIT_PEOPLE}

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.COMMAND_OPERATOR: frozenset(_STAFF_WRITE | {Capability.REVEAL_PEOPLE}),
    Role.STREET_ADMIN: frozenset(
        _STAFF_WRITE
        | {Capability.REVEAL_PEOPLE, Capability.IMPORT_PEOPLE, Capability.EXPORT_PEOPLE, Capability.EDIT_TERRITORY}
    ),
    Role.COMMUNITY_WORKER: frozenset(
        _STAFF_WRITE | {Capability.REVEAL_PEOPLE, Capability.IMPORT_PEOPLE, Capability.EXPORT_PEOPLE}
    ),
    Role.GRID_CHIEF: frozenset(_STAFF_WRITE | {Capability.REVEAL_PEOPLE}),
    Role.ROAD_CHIEF: frozenset({Capability.VIEW_TERRITORY}),
    Role.AREA_CHIEF: frozenset(_READ),
    Role.DEPARTMENT_HANDLER: frozenset({Capability.VIEW_TERRITORY}),
    Role.PARTY_SECRETARY: frozenset(_READ),
    Role.LEADER: frozenset(_READ),
    # 三员分立: the system administrator runs the system but never reads the audit trail;
    # the security administrator manages accounts' security; the audit administrator
    # only reads the trail and changes nothing.
    Role.SYSTEM_ADMIN: frozenset(
        {Capability.VIEW_TERRITORY, Capability.EDIT_TERRITORY, Capability.MANAGE_ACCOUNTS, Capability.USE_ADMIN}
    ),
    Role.SECURITY_ADMIN: frozenset({Capability.MANAGE_SECURITY, Capability.MANAGE_ACCOUNTS, Capability.USE_ADMIN}),
    Role.AUDIT_ADMIN: frozenset({Capability.VIEW_AUDIT, Capability.EXPORT_AUDIT}),
}

# cases (issue 3): the command centre takes calls, dispatches, verifies and handles what is
# escalated to the district; streets dispatch and handle street-tier cases; communities take
# walk-ins, verify and handle community-tier cases; grid, road and area chiefs report what
# they find on patrol and handle; departments handle; leaders and party secretaries read.
_CASES_ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.COMMAND_OPERATOR: frozenset(
        {
            Capability.CASES_VIEW,
            Capability.CASES_INTAKE,
            Capability.CASES_DISPATCH,
            Capability.CASES_VERIFY,
            Capability.CASES_HANDLE,
        }
    ),
    Role.STREET_ADMIN: frozenset(
        {Capability.CASES_VIEW, Capability.CASES_DISPATCH, Capability.CASES_VERIFY, Capability.CASES_HANDLE}
    ),
    Role.COMMUNITY_WORKER: frozenset(
        {Capability.CASES_VIEW, Capability.CASES_INTAKE, Capability.CASES_VERIFY, Capability.CASES_HANDLE}
    ),
    Role.GRID_CHIEF: frozenset({Capability.CASES_VIEW, Capability.CASES_INTAKE, Capability.CASES_HANDLE}),
    Role.ROAD_CHIEF: frozenset({Capability.CASES_VIEW, Capability.CASES_INTAKE}),
    Role.AREA_CHIEF: frozenset({Capability.CASES_VIEW, Capability.CASES_INTAKE}),
    Role.DEPARTMENT_HANDLER: frozenset({Capability.CASES_VIEW, Capability.CASES_HANDLE}),
    Role.PARTY_SECRETARY: frozenset({Capability.CASES_VIEW}),
    Role.LEADER: frozenset({Capability.CASES_VIEW}),
    Role.SYSTEM_ADMIN: frozenset({Capability.CASES_ADMIN}),
}
ROLE_CAPABILITIES = {
    role: caps | _CASES_ROLE_CAPABILITIES.get(role, frozenset()) for role, caps in ROLE_CAPABILITIES.items()
}

# patrols (issue 4): grid, road and area chiefs patrol; streets, communities, the command
# centre and leaders see patrols in their scope.
_PATROLS_ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.GRID_CHIEF: frozenset({Capability.PATROL}),
    Role.ROAD_CHIEF: frozenset({Capability.PATROL}),
    Role.AREA_CHIEF: frozenset({Capability.PATROL}),
    Role.STREET_ADMIN: frozenset({Capability.VIEW_PATROLS, Capability.REVIEW_PATROLS}),
    Role.COMMUNITY_WORKER: frozenset({Capability.VIEW_PATROLS, Capability.REVIEW_PATROLS}),
    Role.COMMAND_OPERATOR: frozenset({Capability.VIEW_PATROLS, Capability.REVIEW_PATROLS}),
    Role.LEADER: frozenset({Capability.VIEW_PATROLS}),
}
ROLE_CAPABILITIES = {
    role: caps | _PATROLS_ROLE_CAPABILITIES.get(role, frozenset()) for role, caps in ROLE_CAPABILITIES.items()
}

# indicators (issue 5): a department handler enters values of the indicators owned by their
# own department (checked in indicators/services.py); the system administrator manages the
# register and targets; leaders, the command centre and street administrators read it.
_INDICATORS_ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.DEPARTMENT_HANDLER: frozenset({Capability.VIEW_INDICATORS, Capability.ENTER_INDICATORS}),
    Role.SYSTEM_ADMIN: frozenset({Capability.VIEW_INDICATORS, Capability.MANAGE_INDICATORS}),
    Role.LEADER: frozenset({Capability.VIEW_INDICATORS}),
    Role.COMMAND_OPERATOR: frozenset({Capability.VIEW_INDICATORS}),
    Role.STREET_ADMIN: frozenset({Capability.VIEW_INDICATORS}),
}
ROLE_CAPABILITIES = {
    role: caps | _INDICATORS_ROLE_CAPABILITIES.get(role, frozenset()) for role, caps in ROLE_CAPABILITIES.items()
}

READ_ONLY_ROLES = frozenset({Role.LEADER, Role.AUDIT_ADMIN})


def capabilities(user: Any) -> frozenset[str]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    return ROLE_CAPABILITIES.get(str(user.role), frozenset())


def has_capability(user: Any, capability: str) -> bool:
    return capability in capabilities(user)


def is_read_only(user: Any) -> bool:
    """Leaders and the audit administrator read; they never change data."""
    return str(getattr(user, "role", "")) in READ_ONLY_ROLES


def require_capability(user: Any, capability: str) -> None:
    """Raise PermissionDenied (403 on pages and the API) unless ``user`` has ``capability``."""
    if not has_capability(user, capability):
        raise PermissionDenied(_("您没有执行此操作的权限"))


F = TypeVar("F", bound=Callable[..., Any])


def capability_required(capability: str) -> Callable[[F], F]:
    """View decorator: log-in required (redirect), then the capability (403)."""

    def decorator(view: F) -> F:
        from django.contrib.auth.views import redirect_to_login

        @wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_capability(request.user, capability)
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
