"""/notifications/: the in-app inbox (paginated), read marks and the follow toggles that case
and area pages call (htmx: the button fragment comes back; without htmx: a redirect)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.common.errors import NotFound
from civicgrid.notifications import selectors, services

PAGE_SIZE = 30


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(request.user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/inbox.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        note = services.notification_mark_read(user=request.user, notification_id=pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if request.POST.get("go") and note.link.startswith("/"):
        return redirect(note.link)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.notification_mark_all_read(user=request.user)
    return redirect("notifications:inbox")


@login_required
def badge(request: HttpRequest) -> HttpResponse:
    """The nav badge as an htmx fragment (polled by base.html)."""
    return render(request, "notifications/_badge.html", {"unread_notifications": selectors.unread_count(request.user)})


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


def _button(request: HttpRequest, *, kind: str, target: str, following: bool) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return render(
            request,
            "notifications/follow_button.html",
            {"follow_kind": kind, "follow_target": target, "following": following},
        )
    return _back(request)


@login_required
@require_POST
def follow_case(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        following = services.subscription_toggle_case(user=request.user, case_id=case_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return _button(request, kind="case", target=str(case_id), following=following)


@login_required
@require_POST
def follow_area(request: HttpRequest, area_code: str) -> HttpResponse:
    try:
        following = services.subscription_toggle_area(user=request.user, area_code=area_code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    except PermissionDenied:
        raise
    return _button(request, kind="area", target=area_code, following=following)


__all__ = ["_"]
