"""The GitHub deployment gate: a run waiting on an environment asks for one approval.

Imports no platform adapter. The policy's `github:` section names the system; the request is
opened through API v1's Idempotency-Keys (scope `@github`, key: repository, run and
environment), so a redelivered webhook or a re-run job finds the request it opened. What the
run is told later is queued by the outbox with each change (`bot/delivery/github.py`); a
deployment Signoff opens nothing for is answered `rejected`, saying why, at once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import insert

from bot.delivery.github import GATE_SCOPE, review_row
from bot.services.api_requests import ApiRequests, KeyConflict
from bot.services.unit_of_work import unavailable_on_outage
from bot.storage.tables import outbox
from workflows.clients import person_of
from workflows.commands import OpenRequest
from workflows.github import ACTIVITY, GITHUB, GateRun
from workflows.github_review import refused, review_of
from workflows.model import TERMINAL, Actor
from workflows.provenance import CiRun

log = logging.getLogger("signoff.github")


@dataclass(frozen=True)
class GateOpened:
    """The request that stands for a run and environment, or why none does."""

    request_id: str | None
    created: bool = False
    refusal: str | None = None
    in_flight: bool = False


@dataclass
class GitHubGateService:
    requests: ApiRequests

    async def deployment(self, run: GateRun) -> GateOpened:
        """Open (or find) the run's request; a refusal is answered `rejected` to the run."""
        uow = self.requests.approvals.uow
        policy = uow.policies.current.policy
        gate = policy.github
        system = gate.system_for(run.repository, run.environment) if gate is not None else None
        if system is None:
            return await self._refuse(
                run,
                f"The policy maps no system to the {run.environment} environment of "
                f"{run.repository}; add it under github: environments.",
            )
        sender = person_of(policy.people, "github", run.sender) if run.sender else None
        if sender is None:
            # As for ID tokens: nobody could be kept from approving their own deployment.
            return await self._refuse(
                run,
                f"The run was started by {run.sender or 'an account GitHub did not name'}, "
                "whom the policy does not know; give that person's entry its github: login.",
            )
        command = OpenRequest(
            request_id="",
            actor=Actor(person=None, platform=GITHUB, platform_user_id=run.repository),
            system=system,
            activity=ACTIVITY,
            version=run.sha or None,
            environment=run.environment,
            reason=_reason(run),
            on_behalf_of=sender,
            ci=CiRun(
                provider=GITHUB,
                repository=run.repository,
                run_id=run.run_id,
                run_url=run.run_url,
                sha=run.sha or None,
            ),
        )
        # The key alone is the request's identity: another attempt of the run, another
        # deployment id or sender, is the same request, never a conflict.
        fingerprint = hashlib.sha256(run.key.encode()).hexdigest()
        opened = await self.requests.open(
            run.key, fingerprint, run.model_dump_json(), command, scope=GATE_SCOPE
        )
        if opened.conflict is KeyConflict.IN_FLIGHT:
            return GateOpened(opened.request_id or None, in_flight=True)
        if opened.outcome is not None and not opened.outcome.ok:
            return await self._refuse(run, opened.outcome.message)
        if not opened.created:
            await self._answer_again(run, opened.request_id)
        return GateOpened(opened.request_id, opened.created)

    async def _answer_again(self, run: GateRun, request_id: str) -> None:
        """A new attempt of a run whose request is decided hears the verdict again; a
        redelivery of the same ask hears nothing twice."""
        found = await self.requests.owned(GATE_SCOPE, request_id)
        if found is None:
            return
        state, body = found
        if state.status not in TERMINAL:
            return
        if GateRun.model_validate_json(body).deployment_id == run.deployment_id:
            return
        uow = self.requests.approvals.uow
        row = review_row(
            run, review_of(state, uow.policies.current.policy), uow.clock(), request_id
        )
        await self._queue(row)

    async def _refuse(self, run: GateRun, reason: str) -> GateOpened:
        log.warning(
            "github gate: nothing opened for %s run %s environment %s: %s",
            run.repository,
            run.run_id,
            run.environment,
            reason,
        )
        await self._queue(review_row(run, refused(reason), self.requests.approvals.uow.clock()))
        return GateOpened(None, refusal=reason)

    async def _queue(self, row: dict[str, object]) -> None:
        uow = self.requests.approvals.uow
        async with unavailable_on_outage("github-review"), uow.engine.begin() as conn:
            await conn.execute(insert(outbox), [row])
        uow.on_commit()


def _reason(run: GateRun) -> str:
    """What approvers read: which run asks, for what, and who started it."""
    what = f"GitHub Actions run {run.run_id} of {run.repository}"
    if run.event or run.ref:
        what += f" ({' on '.join(p for p in (run.event, run.ref) if p)})"
    return f"{what}, started by {run.sender}"
