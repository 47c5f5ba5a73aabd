"""Many clicks at once on one request: exactly the quorum is counted, once."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness import Harness
from workflows.model import Status


async def test_fifty_concurrent_approvals_by_three_people(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="support-bot")  # quorum 2, no consultation gate
    people = itertools.cycle(("mina", "jae", "lee"))
    outcomes = await asyncio.gather(
        *(h.answer(rid, next(people), delivery=f"click-{n}") for n in range(50))
    )
    state = await h.state(rid)
    assert state.status is Status.APPROVED
    assert len(state.approvals) == 2
    assert len(await h.vote_rows(rid)) == 2
    codes = [o.code for o in outcomes]
    assert codes.count("approved") == 1 and codes.count("voted") == 1
    assert set(codes) <= {"approved", "voted", "already-voted", "decided"}
    actions = await h.actions(rid)
    assert actions.count("approved") == 1 and actions.count("voted") == 1
    assert await h.chain_ok()
