"""Every kind of outbound POST the relay sends, each with its preparer; imports no services.

A new kind (a deployment review answered to GitHub, say) is a message in `messages.Outbound`
and a preparer here that builds and signs its POST; the sender stays the same.
"""

from __future__ import annotations

import ssl

from bot.delivery.callbacks import CallbackSigner
from bot.delivery.outbound import DEFAULT_TIMEOUT, AddressGuard, HttpSender, OutboundDelivery


def outbound_delivery(
    guard: AddressGuard | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tls: ssl.SSLContext | None = None,
) -> OutboundDelivery:
    sender = HttpSender(guard or AddressGuard(), timeout, tls)
    return OutboundDelivery(sender, {"callback": CallbackSigner()})
