"""API client credentials: issue, rotate, revoke and check them; imports no platform adapter.

A token reads `so_<id>_<secret>`: the id finds the row, the secret's SHA-256 must match it.
Who may hold a token is the policy's (`clients: NAME: {token: true}`); what it may ask for is
the policy's too, read at every call, so a policy change takes effect without new tokens.
Beside its token each client gets a `whsec_` secret that signs its callbacks (a client that
signs in with GitHub or GitLab and lists `callbacks:` gets the secret alone); rotating makes
new ones of both, and the old secret keeps signing beside the new one for the overlap.
Issuing, rotating and revoking are ledger entries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta

from bot.services.unit_of_work import UnitOfWork
from bot.storage.api_clients import (
    StoredToken,
    add_signing_secret,
    add_token,
    expire_signing_secrets,
    expire_tokens,
    live_tokens,
    load_token,
    mark_used,
    signing_secrets,
)
from workflows.clients import ClientPolicy
from workflows.ledger import AuditEvent
from workflows.model import Actor

TOKEN = re.compile(r"^so_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
CLI_ACTOR = Actor(person=None, platform="cli", platform_user_id="signoff clients")
# last_used_at is written at most this often per token, not on every call.
USE_RESOLUTION = timedelta(minutes=1)
# A token's row, once read, answers the calls of the next quarter second without reading it
# again: a fleet of pipelines polling with one client's token costs a few reads a second, not
# one a call. Kept this short because a revoke made by another process (`signoff clients
# revoke`, another replica) is seen only when the row is read again, and revoking ends a token
# at once; a revoke or rotate made through this service forgets the client's rows at once.
VERIFIED_SECONDS = 0.25


class TokenRefused(Exception):
    """The credential proves nothing; the message says why, for the log only."""


class NotATokenClient(Exception):
    """The policy does not list this client with `token: true` (nor with `callbacks:`)."""


class AlreadyIssued(Exception):
    """The client holds a live token (or signing secret); rotate or revoke it instead."""


@dataclass(frozen=True)
class Credentials:
    """What `issue` and `rotate` show once: the token (None for a client that signs in with
    GitHub or GitLab) and the secret that signs the client's callbacks."""

    token: str | None
    signing_secret: str


def new_signing_secret() -> str:
    """`whsec_` and 32 random bytes in base64, the form Standard Webhooks libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _event(action: str, client: str, data: dict[str, object]) -> AuditEvent:
    return AuditEvent(
        action=action, subject_type="client", subject_id=client, actor=CLI_ACTOR, data=data
    )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class TokenService:
    uow: UnitOfWork
    # token id -> its row and when (monotonic) it was read; see VERIFIED_SECONDS.
    _read: dict[str, tuple[StoredToken, float]] = field(default_factory=dict, repr=False)

    def _client(self, name: str) -> ClientPolicy:
        client = self.uow.policies.current.policy.clients.get(name)
        if client is None or not (client.token or client.callbacks):
            raise NotATokenClient(
                f"the policy lists no client '{name}' with token: true (or callbacks:); add "
                "it under clients: and reload the policy first"
            )
        return client

    async def issue(self, name: str, *, rotating: timedelta | None = None) -> str:
        """A new token for `name`, shown once; see `credentials`."""
        if not self._client(name).token:
            raise NotATokenClient(f"the policy does not give client '{name}' token: true")
        token = (await self.credentials(name, rotating=rotating)).token
        assert token is not None
        return token

    async def credentials(self, name: str, *, rotating: timedelta | None = None) -> Credentials:
        """A new token (when the policy gives `name` one) and signing secret, shown once; with
        `rotating`, the live ones end after that overlap."""
        with_token = self._client(name).token
        self._forget(name)
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        secret_id, signing = secrets.token_hex(8), new_signing_secret()
        async with self.uow.command("client-token") as tx:
            live = await (live_tokens if with_token else signing_secrets)(tx.conn, name, tx.now)
            if rotating is None and live:
                what = "a token" if with_token else "a signing secret"
                raise AlreadyIssued(
                    f"client '{name}' already holds {what}; use `signoff clients rotate "
                    f"{name}` or `revoke {name}`"
                )
            ended: list[str] = []
            data: dict[str, object] = {"signing_secret": secret_id}
            if rotating is not None:
                until = tx.now + rotating
                ended = await expire_tokens(tx.conn, name, tx.now, until)
                replaced = await expire_signing_secrets(tx.conn, name, tx.now, until)
                data |= {"replaced": ended, "replaced_signing_secrets": replaced,
                         "overlap_seconds": int(rotating.total_seconds())}  # fmt: skip
            if with_token:
                await add_token(tx.conn, token_id, name, _hash(secret), tx.now)
                data["token"] = token_id
            await add_signing_secret(tx.conn, secret_id, name, signing, tx.now)
            action = "client-token-rotated" if rotating is not None else "client-token-issued"
            tx.append([_event(action, name, data)])
        self._forget(name)
        return Credentials(f"so_{token_id}_{secret}" if with_token else None, signing)

    async def revoke(self, name: str) -> list[str]:
        """End every token and signing secret of `name` at once; the token ids ended."""
        self._forget(name)
        async with self.uow.command("client-token") as tx:
            ended = await expire_tokens(tx.conn, name, tx.now, tx.now, revoke=True)
            secrets_ended = await expire_signing_secrets(tx.conn, name, tx.now, tx.now, revoke=True)
            data: dict[str, object] = {"tokens": ended, "signing_secrets": secrets_ended}
            tx.append([_event("client-token-revoked", name, data)])
        self._forget(name)
        return ended

    def _forget(self, name: str) -> None:
        for token_id, (stored, _) in list(self._read.items()):
            if stored.client == name:
                del self._read[token_id]

    async def _load(self, token_id: str) -> StoredToken | None:
        """The token's row: as read within the last VERIFIED_SECONDS, or read now."""
        known = self._read.get(token_id)
        if known is not None and time.monotonic() - known[1] < VERIFIED_SECONDS:
            return known[0]
        read_at = time.monotonic()
        async with self.uow.reading() as conn:
            stored = await load_token(conn, token_id)
        if stored is None:
            self._read.pop(token_id, None)
        else:
            self._read[token_id] = (stored, read_at)
        return stored

    async def client_of(self, token: str) -> str:
        """The client a bearer token belongs to; raises `TokenRefused`."""
        match = TOKEN.match(token)
        if match is None:
            raise TokenRefused("not a Signoff client token")
        token_id, secret = match.groups()
        now = self.uow.clock()
        stored = await self._load(token_id)
        if stored is None or not hmac.compare_digest(stored.secret_hash, _hash(secret)):
            raise TokenRefused("unknown token")
        if not stored.live(now):
            raise TokenRefused(f"token {token_id} was revoked or has expired")
        client = self.uow.policies.current.policy.clients.get(stored.client)
        if client is None or not client.token:
            raise TokenRefused(f"the policy no longer lets client '{stored.client}' use a token")
        if stored.last_used_at is None or now - stored.last_used_at > USE_RESOLUTION:
            known = self._read.get(token_id)
            if known is not None and known[0] is stored:  # the calls meanwhile write no more
                self._read[token_id] = (replace(stored, last_used_at=now), known[1])
            async with self.uow.engine.begin() as conn:
                await mark_used(conn, token_id, now)
        return stored.client
