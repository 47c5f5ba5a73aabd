"""A review GitHub answers 401 (its installation token revoked or ended early): the cached
token is dropped and the review sent once more with a fresh one; a second 401 is final."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.tables import outbox
from tests.github.gate_world import GateWorld, gate_world
from tests.github_standin import INSTALLATION
from workflows.github import GITHUB


@pytest.fixture
async def gate(engine: AsyncEngine, tmp_path: Path) -> GateWorld:  # type: ignore[misc]
    async with gate_world(engine, tmp_path) as world:
        yield world


async def _opened_with_a_token(gate: GateWorld) -> str:
    """A run's request opened and told to GitHub; the one installation token that took."""
    await gate.deliver(gate.event())
    await gate.h.relay.drain()
    [issued] = gate.github.tokens
    assert [r.token for r in gate.github.reviews] == [issued]
    return issued


async def _github_rows(gate: GateWorld) -> list[tuple[str, str | None]]:
    async with gate.h.engine.connect() as conn:
        query = select(outbox.c.status, outbox.c.last_error).where(outbox.c.platform == GITHUB)
        return [(r.status, r.last_error) for r in await conn.execute(query.order_by(outbox.c.id))]


async def test_a_revoked_token_is_replaced_and_the_verdict_arrives_once(gate: GateWorld) -> None:
    revoked = await _opened_with_a_token(gate)
    gate.github.revoke(revoked)
    assert await gate.slack.click("U0MINA", gate.slack.card_for("D0MINA"), "approve") == 200
    drained = await gate.h.relay.drain()
    assert drained.dead == 0
    verdicts = gate.github.verdicts()
    assert [v.status for v in verdicts] == [401, 204]
    assert verdicts[0].token == revoked and verdicts[1].token not in ("", revoked)
    assert verdicts[1].installation == INSTALLATION and verdicts[1].body["state"] == "approved"
    assert gate.github.token_requests == [INSTALLATION, INSTALLATION]

    # Nothing is left to send again later: the verdict went out once.
    gate.h.clock.advance(minutes=10)
    await gate.h.relay.drain()
    assert [v.status for v in gate.github.verdicts()] == [401, 204]
    assert [s for s, _ in await _github_rows(gate)] == ["sent", "sent"]


async def test_a_fresh_token_refused_too_is_dead_lettered_not_retried(gate: GateWorld) -> None:
    revoked = await _opened_with_a_token(gate)
    gate.github.revoke(revoked)
    # The fresh token is valid, but GitHub answers 401 to it as well.
    gate.github.answer_reviews(401)
    assert await gate.slack.click("U0MINA", gate.slack.card_for("D0MINA"), "approve") == 200
    assert (await gate.h.relay.drain()).dead == 1
    verdicts = gate.github.verdicts()
    assert [v.status for v in verdicts] == [401, 401]
    assert verdicts[0].token == revoked and verdicts[1].token != revoked
    assert gate.github.token_requests == [INSTALLATION, INSTALLATION]
    assert (await _github_rows(gate))[-1] == ("dead", "permanent: HTTP 401")

    gate.h.clock.advance(minutes=10)
    await gate.h.relay.drain()
    assert len(gate.github.verdicts()) == 2
    assert gate.github.token_requests == [INSTALLATION, INSTALLATION]
