"""/patrols/: the worker's phone page (today's duty, start/end, the track recorder)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from civicgrid.accounts.permissions import Capability, capability_required
from civicgrid.patrols import selectors

PAGE_SIZE = 10


@capability_required(Capability.PATROL)
def phone(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.patrols_mine(request.user, selectors.today()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "patrols/phone.html",
        {
            "duty": selectors.duty_status(request.user),
            "active": selectors.active_patrol(request.user),
            "page": page,
        },
    )
