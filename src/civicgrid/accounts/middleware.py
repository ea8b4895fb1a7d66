from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

SESSION_LAST_SEEN = "civicgrid_last_seen"
# Read by the audit log-out handler to say why the session ended.
LOGOUT_REASON_ATTR = "civicgrid_logout_reason"


def _redirect_with_message(request: HttpRequest, url: str, level: int, text: str) -> HttpResponse:
    """These middlewares run before MessageMiddleware and answer without calling it, so they
    keep the message in a storage of their own and write it onto the response."""
    response = redirect(url)
    existing = getattr(request, "_messages", None)
    storage = existing if existing is not None else default_storage(request)
    storage.add(level, text)
    if existing is None:
        storage.update(response)
    return response


class IdleTimeoutMiddleware:
    """Logs a user out after SESSION_IDLE_TIMEOUT_SECONDS without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - float(last_seen) > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                setattr(request, LOGOUT_REASON_ATTR, "idle_timeout")
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                url = f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"
                return _redirect_with_message(request, url, messages.INFO, _("您已长时间未操作, 请重新登录。"))
            # Record activity at most once a minute (or a tenth of the timeout): a session
            # write per request would cost every page view an UPDATE and a commit.
            resolution = min(60.0, settings.SESSION_IDLE_TIMEOUT_SECONDS / 10)
            if last_seen is None or now - float(last_seen) >= resolution:
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
                return _redirect_with_message(
                    request, reverse("accounts:password_change"), messages.WARNING, _("您的密码已过期, 请修改密码。")
                )
        return self.get_response(request)


class HtmxAuthRedirectMiddleware:
    """An htmx request whose answer is "log in again" or "change your password" (a redirect
    to those pages) must move the whole window there, not swap the log-in page into a
    fragment of the current one; htmx does that on ``HX-Redirect``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or response.status_code not in (301, 302, 303):
            return response
        location = response.get("Location", "")
        targets = (reverse("accounts:login"), reverse("accounts:password_change"))
        if not location.split("?")[0].endswith(targets):
            return response
        redirect_all = HttpResponse(status=204)
        # Already on that page (its own nav badge asking): nothing to swap, nowhere to go.
        current = urlsplit(request.headers.get("HX-Current-URL", "")).path
        if current != urlsplit(location).path:
            redirect_all["HX-Redirect"] = location
        return redirect_all
