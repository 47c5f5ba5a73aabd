"""Sends one claimed outbox row and decides what becomes of it: sent, retried when, waiting,
or dead-lettered and why. Writes nothing (the relay records the outcome); imports only the
port protocol from adapters, and never services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort, PermanentFailure, RateLimited, TemporaryFailure
from bot.delivery.compose import Composed, NothingToSend
from bot.delivery.marks import Attempt
from bot.delivery.messages import Message, Outbound, RoomTask
from bot.delivery.outbound import OutboundDelivery
from bot.delivery.retry import RetryPolicy
from bot.delivery.rooms import RoomNotReady, deliver_room_task
from workflows.policy import Policy

log = logging.getLogger("signoff.outbox")


class Claimed(NamedTuple):
    """A claimed row, its message (or why it cannot be read), and what to send (None: a room
    task, which reads what it needs as it goes)."""

    row: Row[Any]
    message: Message | ValueError
    plan: Composed | Exception | None


@dataclass
class RowSender:
    """What one pass sends with: the platforms, the callbacks' sender and the retry rules."""

    engine: AsyncEngine
    ports: Mapping[str, ChatPort]
    policy: Callable[[], Policy]
    retry: RetryPolicy
    jitter: Callable[[], float]
    outbound: OutboundDelivery

    async def attempt(self, claimed: Claimed, now: datetime) -> Attempt:
        """Send one claimed row and decide what becomes of it; writes nothing."""
        row, message, plan = claimed
        port = self.ports.get(row.platform)
        if port is None and not isinstance(message, Outbound):
            read = None if isinstance(message, ValueError) else message
            return Attempt(row, "dead", read, error=f"platform {row.platform} is not enabled")
        if isinstance(message, ValueError):
            # A message no kind of ours describes: a bug or a hand edit, worth a look; it is
            # retried, and dead-lettered with age, without holding up the rows behind it.
            unread = f"{type(message).__name__}: {message}"
            return self._backoff(row, None, now, "error", unread)
        if isinstance(plan, NothingToSend):
            return Attempt(row, "dead", message, error=str(plan))
        if isinstance(plan, Exception):
            log.error("outbox row %s could not be composed", row.id, exc_info=plan)
            return self._backoff(row, message, now, "error", f"{type(plan).__name__}: {plan}")
        try:
            if isinstance(message, Outbound):
                await self.outbound.deliver(self.engine, self.policy(), message, now)
                ref = None
            elif plan is None:
                assert isinstance(message, RoomTask) and port is not None
                ref = await deliver_room_task(
                    self.engine, port, self.policy(), row.platform, message
                )
            elif plan.ref is not None:
                assert port is not None
                await port.update(plan.ref, plan.message)
                ref = None
            else:
                assert plan.to is not None and port is not None
                ref = await port.post(plan.to, plan.message)
        except NothingToSend as error:
            return Attempt(row, "dead", message, error=str(error))
        except RoomNotReady:
            if now - row.created_at >= self.retry.max_age:
                return Attempt(row, "dead", message, error="the incident's room was never made")
            return Attempt(row, "wait", message)
        except PermanentFailure as error:
            return Attempt(row, "dead", message, error=f"permanent: {error}")
        except RateLimited as error:
            if now - row.created_at >= self.retry.max_age:  # a receiver that only says wait
                return Attempt(row, "dead", message, error=f"gave up, too old; last: {error}")
            wait = timedelta(seconds=max(error.retry_after, 0.0))
            return Attempt(row, "retry", message, next_at=now + wait, counts=False,
                           reason="rate-limited", error=str(error))  # fmt: skip
        except (TemporaryFailure, TimeoutError, OSError) as error:
            return self._backoff(row, message, now, "temporary", f"{type(error).__name__}: {error}")
        except Exception as error:
            log.exception("outbox row %s failed unexpectedly", row.id)
            return self._backoff(row, message, now, "error", f"{type(error).__name__}: {error}")
        return Attempt(row, "sent", message, ref=ref)

    def _backoff(
        self,
        row: Row[Any],
        message: Message | None,
        now: datetime,
        reason: str,
        error: str,
    ) -> Attempt:
        attempts = row.attempts + 1
        too_old = now - row.created_at >= self.retry.max_age
        if attempts >= self.retry.max_attempts or too_old:
            why = "too old" if too_old else f"{attempts} attempts"
            return Attempt(row, "dead", message, error=f"gave up after {why}; last error: {error}")
        next_at = now + self.retry.backoff(attempts, self.jitter())
        return Attempt(row, "retry", message, next_at=next_at, reason=reason, error=error)
