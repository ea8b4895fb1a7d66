"""Account signal handlers. (Password history is recorded by User.save; the audit of
log-ins lives in civicgrid.audit.signals.)"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from civicgrid.accounts.middleware import SESSION_LAST_SEEN


@receiver(user_logged_in, dispatch_uid="civicgrid_accounts_start_idle_clock")
def start_idle_clock(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """The idle timeout counts from the log-in itself, not from the first page after it."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_LAST_SEEN] = time.time()
