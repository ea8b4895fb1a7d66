"""Authentication of the machine intake endpoints: API keys and signed webhooks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader

from civicgrid.cases import apikeys, webhooks
from civicgrid.cases.models import ApiKey, WebhookSource


class ApiKeyAuth(APIKeyHeader):
    """``X-Api-Key: cg_<prefix>_<secret>`` (issued by ``civicgrid apikey create``); the key's
    per-minute budget applies (429)."""

    param_name = "X-Api-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        api_key = apikeys.apikey_authenticate(key)
        apikeys.apikey_throttle(api_key)
        return api_key


class WebhookSignatureAuth(APIKeyHeader):
    """HMAC-SHA256 over ``timestamp + "." + body`` with the source's secret (see webhooks)."""

    param_name = webhooks.SIGNATURE_HEADER

    def authenticate(self, request: HttpRequest, key: str | None) -> WebhookSource | None:
        match = request.resolver_match
        source = str(match.kwargs.get("source", "")) if match else ""
        return webhooks.verify(request, source)


def intake_caller(request: HttpRequest, idempotency_key: str | None) -> tuple[Any, str | None]:
    """Staff act as themselves; an API-key client acts as nobody (a public channel), and its
    Idempotency-Key is namespaced by its key so two clients never collide."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        key = f"k{auth.prefix}.{idempotency_key}" if idempotency_key is not None else None
        return None, key
    return request.user, idempotency_key
