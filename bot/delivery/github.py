"""The deployment gate's outbox rows: what a waiting GitHub run is told; never services.

A request the gate opened keeps its `GateRun` beside its key (client `@github`). Whenever
such a request changes, a row is queued in the same transaction with the verdict or a
progress comment, fixed from the request as the transaction leaves it; the rows of one run
go out in order. A deployment Signoff opens nothing for is answered `rejected` at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.messages import GitHubReview, outbox_row
from bot.delivery.reads import TransactionReads
from bot.storage.tables import approval_requests
from workflows.github import GITHUB, GateRun
from workflows.github_review import GateReview, review_of
from workflows.model import ApprovalRequest
from workflows.policy import Policy

log = logging.getLogger("signoff.github")

# The idempotency scope of the gate's requests: no policy client can be named so.
GATE_SCOPE = "@github"
_STATES = select(approval_requests.c.id, approval_requests.c.state).where(
    approval_requests.c.id.in_(bindparam("ids", expanding=True))
)


def review_row(
    run: GateRun, review: GateReview, now: datetime, request_id: str | None = None
) -> dict[str, Any]:
    message = GitHubReview(
        url=run.callback_url,
        installation_id=run.installation_id,
        environment=run.environment,
        state=review.state,
        comment=review.comment,
    )
    return outbox_row(GITHUB, f"{GITHUB}:{run.key}", message, now, request_id=request_id)


async def gate_rows(
    conn: AsyncConnection,
    request_ids: Sequence[str],
    policy: Policy,
    now: datetime,
    reads: TransactionReads | None = None,
) -> list[dict[str, Any]]:
    """A row for each of `request_ids` the gate opened, from its state in `conn` now."""
    opened = await (reads or TransactionReads(conn)).opened_by(request_ids)
    runs = {rid: body for rid, (client, body) in opened.items() if client == GATE_SCOPE}
    if not runs:
        return []
    rows = []
    for row in await conn.execute(_STATES, {"ids": sorted(runs)}):
        try:
            state = ApprovalRequest.model_validate_json(row.state)
            run = GateRun.model_validate_json(runs[row.id])
        except ValueError:
            # A row no one can read must not fail the vote or decision that touched it.
            log.exception("request %s: its GitHub run cannot be read; the run is not told", row.id)
            continue
        rows.append(review_row(run, review_of(state, policy), now, request_id=row.id))
    return rows
