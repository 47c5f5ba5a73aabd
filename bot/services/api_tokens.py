"""API client tokens: issue, rotate, revoke and check them; imports no platform adapter.

A token reads `so_<id>_<secret>`: the id finds the row, the secret's SHA-256 must match it.
Who may hold a token is the policy's (`clients: NAME: {token: true}`); what it may ask for is
the policy's too, read at every call, so a policy change takes effect without new tokens.
Issuing, rotating and revoking are ledger entries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.services.unit_of_work import UnitOfWork
from bot.storage.api_clients import (
    add_token,
    expire_tokens,
    live_tokens,
    load_token,
    mark_used,
)
from workflows.ledger import AuditEvent
from workflows.model import Actor

TOKEN = re.compile(r"^so_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
CLI_ACTOR = Actor(person=None, platform="cli", platform_user_id="signoff clients")
# last_used_at is written at most this often per token, not on every call.
USE_RESOLUTION = timedelta(minutes=1)


class TokenRefused(Exception):
    """The credential proves nothing; the message says why, for the log only."""


class NotATokenClient(Exception):
    """The policy does not list this client with `token: true`."""


class AlreadyIssued(Exception):
    """The client holds a live token; rotate or revoke it instead."""


def _event(action: str, client: str, data: dict[str, object]) -> AuditEvent:
    return AuditEvent(
        action=action, subject_type="client", subject_id=client, actor=CLI_ACTOR, data=data
    )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class TokenService:
    uow: UnitOfWork

    def _token_client(self, name: str) -> None:
        client = self.uow.policies.current.policy.clients.get(name)
        if client is None or not client.token:
            raise NotATokenClient(
                f"the policy lists no client '{name}' with token: true; add it under "
                "clients: and reload the policy first"
            )

    async def issue(self, name: str, *, rotating: timedelta | None = None) -> str:
        """A new token for `name`, shown once; with `rotating`, live ones end after it."""
        self._token_client(name)
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        async with self.uow.command("client-token") as tx:
            live = await live_tokens(tx.conn, name, tx.now)
            if rotating is None and live:
                raise AlreadyIssued(
                    f"client '{name}' already holds a token; use `signoff clients rotate "
                    f"{name}` or `revoke {name}`"
                )
            ended: list[str] = []
            if rotating is not None:
                ended = await expire_tokens(tx.conn, name, tx.now, tx.now + rotating)
            await add_token(tx.conn, token_id, name, _hash(secret), tx.now)
            data: dict[str, object] = {"token": token_id}
            if rotating is not None:
                data |= {"replaced": ended, "overlap_seconds": int(rotating.total_seconds())}
            action = "client-token-rotated" if rotating is not None else "client-token-issued"
            tx.append([_event(action, name, data)])
        return f"so_{token_id}_{secret}"

    async def revoke(self, name: str) -> list[str]:
        """End every token of `name` at once; the ids ended."""
        async with self.uow.command("client-token") as tx:
            ended = await expire_tokens(tx.conn, name, tx.now, tx.now, revoke=True)
            tx.append([_event("client-token-revoked", name, {"tokens": ended})])
        return ended

    async def client_of(self, token: str) -> str:
        """The client a bearer token belongs to; raises `TokenRefused`."""
        match = TOKEN.match(token)
        if match is None:
            raise TokenRefused("not a Signoff client token")
        token_id, secret = match.groups()
        now = self.uow.clock()
        async with self.uow.reading() as conn:
            stored = await load_token(conn, token_id)
        if stored is None or not hmac.compare_digest(stored.secret_hash, _hash(secret)):
            raise TokenRefused("unknown token")
        if not stored.live(now):
            raise TokenRefused(f"token {token_id} was revoked or has expired")
        client = self.uow.policies.current.policy.clients.get(stored.client)
        if client is None or not client.token:
            raise TokenRefused(f"the policy no longer lets client '{stored.client}' use a token")
        if stored.last_used_at is None or now - stored.last_used_at > USE_RESOLUTION:
            async with self.uow.engine.begin() as conn:
                await mark_used(conn, token_id, now)
        return stored.client
