"""Territorial scope: the one place that decides which records a user may see.

Every scoped record carries the hierarchical ``area_code`` of the node it belongs to.
A user bound to node C sees exactly the records whose code starts with C. Codes are
digit strings, so "starts with C" is the index-friendly range [C, C + "9"*k] on every
database (no LIKE, no joins)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

M = TypeVar("M", bound=models.Model)

MAX_CODE_LENGTH = 20


def code_range_q(field: str, code: str) -> Q:
    """Records at ``code`` or below it in the tree."""
    if not code:
        return Q()
    upper = code + "9" * (MAX_CODE_LENGTH - len(code))
    return Q(**{f"{field}__gte": code, f"{field}__lte": upper})


def code_within(code: str, scope_code: str) -> bool:
    return code.startswith(scope_code)


def user_scope_code(user: Any) -> str | None:
    """The user's code prefix; "" means everything; None means nothing at all."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.area_id is None:
        # Unbound accounts see everything only if they are installation-wide superusers.
        return "" if user.is_superuser else None
    return str(user.area.code)


def scope_queryset(user: Any, queryset: models.QuerySet[M], field: str = "area_code") -> models.QuerySet[M]:
    """Filter any queryset to the user's territory. Every selector goes through this."""
    code = user_scope_code(user)
    if code is None:
        return queryset.none()
    return queryset.filter(code_range_q(field, code))


def ensure_in_scope(user: Any, area_code: str) -> None:
    code = user_scope_code(user)
    if code is None or not code_within(area_code, code):
        raise PermissionDenied(_("该记录不在您的辖区范围内"))


class ScopedAdminMixin:
    """For ModelAdmin classes: the admin sees only what the user's scope allows."""

    scope_field = "area_code"

    def get_queryset(self, request: Any) -> Any:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return scope_queryset(request.user, queryset, self.scope_field)
