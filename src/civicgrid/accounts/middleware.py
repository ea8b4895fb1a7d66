from __future__ import annotations

import datetime
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

SESSION_LAST_SEEN = "civicgrid_last_seen"


class IdleTimeoutMiddleware:
    """Logs a user out after SESSION_IDLE_TIMEOUT_SECONDS without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - float(last_seen) > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                logout(request)
                messages.info(request, _("您已长时间未操作, 请重新登录。"))
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect(f"{reverse('accounts:login')}?next={request.path}")
            request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class PasswordExpiryMiddleware:
    """Sends a user whose password is older than PASSWORD_MAX_AGE_DAYS to change it."""

    EXEMPT_PREFIXES = ("/static/", "/i18n/", "/logout", "/login", "/password", "/api/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(self.EXEMPT_PREFIXES):
            changed = getattr(user, "password_changed_at", None)
            max_age = datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)
            if changed is None or timezone.now() - changed > max_age:
                messages.warning(request, _("您的密码已过期, 请修改密码。"))
                return redirect("accounts:password_change")
        return self.get_response(request)
