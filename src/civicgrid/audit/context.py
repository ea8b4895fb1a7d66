"""The request's actor and IP, carried in a context variable so services can audit
without every caller threading the request through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    user: Any = None
    ip_address: str | None = None


_EMPTY = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("civicgrid_request_context", default=_EMPTY)


def current() -> RequestContext:
    return _current.get()


@contextmanager
def bind(*, user: Any = None, ip_address: str | None = None) -> Iterator[None]:
    token = _current.set(RequestContext(user=user, ip_address=ip_address))
    try:
        yield
    finally:
        _current.reset(token)


def client_ip(meta: dict[str, Any]) -> str | None:
    # Behind a trusted proxy the first X-Forwarded-For hop is the client.
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    addr = meta.get("REMOTE_ADDR")
    return str(addr) if addr else None
