"""Who may do what with assessment schemes.

The weights are a case-engine setting, so they follow the case engine's administrator
capability (the system administrator); every case reader may see the rankings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import Capability, has_capability

MANAGE_SCHEMES = Capability.CASES_ADMIN
VIEW_RANKINGS = Capability.CASES_VIEW


def may_manage_schemes(user: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser) or has_capability(user, MANAGE_SCHEMES)


def require_manage_schemes(user: Any) -> None:
    if not may_manage_schemes(user):
        raise PermissionDenied(_("您没有设置考核方案的权限"))


def may_view_rankings(user: Any) -> bool:
    return has_capability(user, VIEW_RANKINGS)
