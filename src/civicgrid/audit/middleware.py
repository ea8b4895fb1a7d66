from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from civicgrid.audit import context


class RequestContextMiddleware:
    """Binds the current user and client IP for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        with context.bind(user=user, ip_address=context.client_ip(request.META)):
            return self.get_response(request)
