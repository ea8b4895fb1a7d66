"""Test gateways: record what was sent; fail on demand."""

from __future__ import annotations

from civicgrid.notifications.gateways import GatewayError, OutgoingMessage

SENT: list[OutgoingMessage] = []
FAIL_NEXT: list[bool] = []


class RecordingGateway:
    def send(self, message: OutgoingMessage) -> None:
        if FAIL_NEXT and FAIL_NEXT.pop(0):
            raise GatewayError("provider unavailable")
        SENT.append(message)
