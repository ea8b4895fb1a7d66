from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from civicgrid.notifications.selectors import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    """``unread_notifications``: the nav badge's number (one indexed COUNT, lazily)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    class _Lazy:
        _value: int | None = None

        def __int__(self) -> int:
            if self._value is None:
                self._value = unread_count(user)
            return self._value

        def __str__(self) -> str:
            return str(int(self))

        def __bool__(self) -> bool:
            return int(self) > 0

    return {"unread_notifications": _Lazy()}
