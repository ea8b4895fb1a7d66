from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from civicgrid.accounts.permissions import capabilities


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"capabilities": capabilities(user)}
