"""Who is calling API v1, and whether it may open a request now: credentials and rate limits.

A bearer credential is a static client token (`so_...`, checked by the token service) or a
GitHub Actions or GitLab CI ID token (verified against its issuer's keys and matched to the
policy). An ID token's run actor who is a person of the policy becomes the requester of
record, so they cannot approve what their run asked for; an actor the policy does not know
may read but not open. Every refusal is an `ApiProblem`; the routes answer and count it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from adapters.api.problems import ApiProblem, Kind
from adapters.api.routes import Client
from adapters.port import ServiceUnavailable
from bot.platforms.api_limits import ClientBuckets
from bot.services.api_oidc import IdentityRefused, Issuers, WorkloadIdentity, looks_like_jwt
from bot.services.api_tokens import TokenRefused, TokenService
from bot.services.oidc_keys import KeysUnavailable
from workflows.policy import Policy

log = logging.getLogger("signoff.api")


@dataclass(frozen=True)
class WorkloadClient(Client):
    """A client that proved itself with an ID token; `login` started the run."""

    login: str | None


class ApiGate:
    """Authenticates calls and meters opens, for one process."""

    def __init__(
        self,
        tokens: TokenService,
        issuers: Issuers,
        policy: Callable[[], Policy],
        clock: Callable[[], datetime],
    ) -> None:
        self.tokens, self.policy = tokens, policy
        self.identity = WorkloadIdentity(issuers, policy, clock)
        self.buckets = ClientBuckets()
        # A token client's `Client`, made once per policy: every poll of a fleet shares it.
        self._token_clients: dict[str, tuple[Policy, Client]] = {}

    async def authenticate(self, authorization: str | None) -> Client:
        scheme, _, given = (authorization or "").partition(" ")
        token = given.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiProblem(Kind.UNAUTHENTICATED, "send Authorization: Bearer <client token>")
        if looks_like_jwt(token):
            return await self._workload(token)
        try:
            name = await self.tokens.client_of(token)
        except TokenRefused as error:
            raise ApiProblem(Kind.UNAUTHENTICATED, str(error)) from None
        except ServiceUnavailable as error:
            raise _unavailable("the database is unavailable; nothing changed") from error
        return self._token_client(name)

    def _token_client(self, name: str) -> Client:
        policy = self.policy()
        known = self._token_clients.get(name)
        if known is None or known[0] is not policy:
            known = (policy, Client(name, "token", None, self._may_request(name)))
            self._token_clients[name] = known
        return known[1]

    async def _workload(self, token: str) -> Client:
        try:
            workload = await self.identity.verify(token)
        except IdentityRefused as error:
            raise ApiProblem(Kind.UNAUTHENTICATED, f"ID token refused: {error}") from None
        except KeysUnavailable as error:
            raise _unavailable(f"{error}; the token could not be checked, retry") from error
        return WorkloadClient(
            workload.client,
            workload.forge,
            workload.person,
            self._may_request(workload.client),
            workload.login,
        )

    def _may_request(self, name: str) -> dict[str, list[str]]:
        return {s: list(a) for s, a in self.policy().clients[name].may_request.items()}

    def admit_open(self, client: Client) -> str | None:
        """The person of record of an open by `client` (None for a token client), once the
        client's rate allows one more; refuses when it does not, or when the run's actor is
        no person of the policy."""
        entry = self.policy().clients[client.name]
        wait = self.buckets.take(client.name, entry.requests_per_minute)
        if wait is not None:
            raise ApiProblem(
                Kind.RATE_LIMITED,
                f"client {client.name} may open {entry.requests_per_minute} requests a minute; "
                f"try again in {wait}s",
                headers={"Retry-After": str(wait)},
            )
        if isinstance(client, WorkloadClient) and client.on_behalf_of is None:
            who = f"'{client.login}'" if client.login else "unnamed"
            raise ApiProblem(
                Kind.NOT_ALLOWED,
                f"the run's {client.authenticated_by} actor {who} is no person of the policy; "
                f"add `{client.authenticated_by}: <login>` to their entry under people:, so "
                "that they are the requester of record and cannot approve their own request",
            )
        return client.on_behalf_of


def _unavailable(detail: str) -> ApiProblem:
    return ApiProblem(Kind.UNAVAILABLE, detail)
