"""Pluggable delivery gateways, one per external channel.

``settings.NOTIFICATION_GATEWAYS`` maps a channel ("sms", "wechat") to the dotted path of a
class with ``send(message: OutgoingMessage) -> None``; raising any exception means "not
delivered, retry later". The defaults only log. A real gateway should pass
``message.message_id`` (stable across retries) to the provider as its idempotency key
(阿里云短信 OutId, 企业微信 msgid...): the outbox delivers at least once, and a redelivery
after a crash between the provider's acceptance and our "sent" mark then stays one message."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("civicgrid.notifications")

DEFAULT_GATEWAYS = {
    "sms": "civicgrid.notifications.gateways.LoggingSmsGateway",
    "wechat": "civicgrid.notifications.gateways.LoggingWeChatGateway",
}


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str  # the notification's dedupe key: stable across retries
    channel: str
    address: str  # plaintext phone / openid (revealed just for the send)
    subject: str
    body: str
    link: str


class Gateway(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class GatewayError(Exception):
    """A gateway could not deliver (the dispatcher retries with backoff)."""


class LoggingSmsGateway:
    """The default: writes the message to the log and reports success."""

    def send(self, message: OutgoingMessage) -> None:
        logger.info("SMS %s to %s: %s", message.message_id, _mask(message.address), message.subject)


class LoggingWeChatGateway:
    def send(self, message: OutgoingMessage) -> None:
        logger.info("WeChat %s to %s: %s", message.message_id, _mask(message.address), message.subject)


def _mask(address: str) -> str:
    return address[:3] + "****" + address[-4:] if len(address) > 7 else "****"


@cache
def _load(path: str) -> Gateway:
    cls = import_string(path)
    return cls()  # type: ignore[no-any-return]


def gateway_for(channel: str) -> Gateway:
    configured = {**DEFAULT_GATEWAYS, **getattr(settings, "NOTIFICATION_GATEWAYS", {})}
    path = configured.get(channel)
    if not path:
        raise GatewayError(f"no gateway for channel {channel}")
    return _load(path)


def clear_gateway_cache() -> None:
    _load.cache_clear()
