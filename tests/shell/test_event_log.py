"""Saying what happens: one log line per recorded event, with its request id (issue 13)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import PermanentFailure
from tests.harness import Harness


async def test_each_request_event_and_delivery_failure_is_one_log_line_with_the_request_id(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signoff")
    h = Harness(engine)
    h.chat.fail_always("U0MINA", PermanentFailure("channel_not_found"))
    decided = await h.open("soo", system="support-bot")
    await h.relay.drain()  # Mina's card cannot be delivered
    assert not (await h.answer(decided, "soo")).ok  # the requester may not approve
    assert (await h.answer(decided, "jae")).ok
    assert (await h.answer(decided, "lee")).ok

    waited = await h.open("soo", system="support-bot")
    for hours in (24, 48, 96):  # remind after 24 h, escalate after 72 h, expire after 7 d
        h.clock.advance(hours=hours)
        await h.tick(waited)

    lines = [r for r in caplog.records if r.name == "signoff.events"]
    told = [(r.subject_id, r.event) for r in lines]  # type: ignore[attr-defined]
    assert told == [
        (decided, "requested"),
        (decided, "undeliverable"),
        (decided, "denied"),
        (decided, "voted"),
        (decided, "approved"),
        (waited, "requested"),
        (waited, "reminded"),
        (waited, "escalated"),
        (waited, "expired"),
    ]
    for line, (subject, event) in zip(lines, told, strict=True):
        assert line.getMessage().startswith(f"request {subject}: {event} by ")
    assert lines[2].getMessage().endswith("(self-approval)")  # a refusal says why

    (failed,) = [r for r in caplog.records if r.name == "signoff.outbox"]
    assert failed.levelno == logging.ERROR
    assert f"about request {decided} dead-lettered" in failed.getMessage()
    assert "channel_not_found" in failed.getMessage()
