from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from civicgrid.accounts.schemas import MeOut
from civicgrid.accounts.selectors import user_profile

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut, summary="The signed-in account: role, territorial scope and capabilities")
def me(request: HttpRequest) -> dict[str, Any]:
    return user_profile(request.user)
