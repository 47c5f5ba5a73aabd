"""Callbacks in one process: API v1 mounted on the test runtime, a real HTTPS receiver, the
relay driven pass by pass with the tests' clock, SQLite and PostgreSQL.

Every signature is checked by the `standardwebhooks` library itself, as a client would.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.port import PermanentFailure, RateLimited, TemporaryFailure
from bot.delivery.callbacks import under_prefix
from bot.delivery.outbound import AddressGuard, AddressRefused, HttpSender, OutboundPost
from bot.delivery.outbound_kinds import outbound_delivery
from bot.platforms.api import api_mount
from bot.services.api_tokens import AlreadyIssued, NotATokenClient, TokenService
from bot.storage.tables import api_requests, outbox
from tests.api.callback_receiver import Receiver, receiver
from tests.harness import Harness, build_policy

PROBLEM = "/api/v1/problems/"


def test_a_callback_url_is_matched_to_the_prefixes_as_a_url_not_as_a_string() -> None:
    prefixes = ("https://agents.acme.example/hooks/", "https://ci.acme.example:8443/signoff")
    assert under_prefix("https://agents.acme.example/hooks/run-1?x=1", prefixes)
    assert under_prefix("https://AGENTS.acme.example/hooks/a", prefixes)
    assert under_prefix("https://ci.acme.example:8443/signoff/7", prefixes)
    assert under_prefix("https://ci.acme.example:8443/signoff", prefixes)
    for outside in (
        "https://agents.acme.example.evil.example/hooks/x",  # a longer host
        "https://agents.acme.example/hook",  # above the prefix's path
        "https://agents.acme.example@evil.example/hooks/x",  # a user name, another host
        "https://agents.acme.example/hooks/../admin",  # climbs out
        "https://agents.acme.example/hooks/%2e%2e/admin",
        "https://agents.acme.example/hooks\\..\\admin",
        "http://agents.acme.example/hooks/x",  # not https
        "https://agents.acme.example:444/hooks/x",  # another port
        "https://ci.acme.example:8443/signoffs",  # a longer segment
        "https://ci.acme.example/signoff/7",  # the default port is not 8443
    ):
        assert not under_prefix(outside, prefixes), outside


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://172.16.0.9/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://0.0.0.0/x",
        "https://[::1]/x",
        "https://[fe80::1]/x",
        "https://[fd00::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://224.0.0.1/x",
        "https://localhost/x",
    ],
)
async def test_the_guard_refuses_private_loopback_and_link_local_hosts_unless_allowed(
    url: str,
) -> None:
    with pytest.raises(AddressRefused, match="non-public"):
        await AddressGuard().check(url)
    await AddressGuard(allow_private=True).check(url)


async def test_the_guard_accepts_a_public_address_and_refuses_what_is_not_https() -> None:
    await AddressGuard().check("https://93.184.216.34/hooks")
    for url in ("http://93.184.216.34/", "https://user:pw@93.184.216.34/", "ftp://x/"):
        with pytest.raises(AddressRefused):
            await AddressGuard().check(url)
    with pytest.raises(AddressRefused, match="does not resolve"):
        await AddressGuard().check("https://no-such-host.invalid/hooks")


async def test_the_sender_posts_over_https_and_judges_each_answer(tmp_path: Path) -> None:
    async with receiver(tmp_path, answers=[204, 500, 408, 429, 404, 302]) as got:
        sender = HttpSender(AddressGuard(allow_private=True), timeout=2, tls=got.client_tls)
        post = OutboundPost(f"{got.base}/hooks/a", b'{"n":1}', {"webhook-id": "7"})
        await sender.send(post)
        for expected in (TemporaryFailure, TemporaryFailure, RateLimited, PermanentFailure,
                         PermanentFailure):  # fmt: skip
            with pytest.raises(expected):
                await sender.send(post)
        assert len(got.received) == 6
        assert got.received[0].body == b'{"n":1}' and got.received[0].headers["webhook-id"] == "7"

        # Without the operator's leave, a loopback receiver is never reached, by address or
        # by a name that resolves to it (the check runs in the connection's own resolver).
        guarded = HttpSender(AddressGuard(), timeout=2, tls=got.client_tls)
        with pytest.raises(AddressRefused):
            await guarded.send(post)
        by_name = OutboundPost(got.base.replace("127.0.0.1", "localhost"), b"{}", {})
        with pytest.raises(AddressRefused, match="non-public"):
            await guarded.send(by_name)
        assert len(got.received) == 6

    async with receiver(tmp_path, delay=3) as slow:
        sender = HttpSender(AddressGuard(allow_private=True), timeout=0.5, tls=slow.client_tls)
        with pytest.raises(TemporaryFailure):
            await sender.send(OutboundPost(f"{slow.base}/hooks/a", b"{}", {}))


@dataclass
class World:
    h: Harness
    got: Receiver
    http: TestClient[Any, Any]
    token: str
    secret: str

    async def open(self, system: str = "support-bot", key: str = "run-1", **more: Any) -> str:
        body = {"system": system, "version": "4.0.1", "environment": "prod", "reason": "r",
                "callback": {"url": f"{self.got.base}/hooks/{key}"}, **more}  # fmt: skip
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        answer = await self.http.post("/api/v1/requests", json=body, headers=headers)
        assert answer.status == 201, await answer.text()
        request_id: str = (await answer.json())["id"]
        return request_id

    async def rows(self) -> list[Any]:
        async with self.h.engine.connect() as conn:
            query = select(outbox).where(outbox.c.platform == "callback").order_by(outbox.c.id)
            return list((await conn.execute(query)).all())


def _with_client(prefix: str) -> Any:
    def change(raw: dict[str, Any]) -> None:
        raw["clients"] = {
            "support-agent": {
                "token": True,
                "may_request": {"support-bot": ["deploy"], "doc-search": ["deploy"]},
                "callbacks": [prefix],
            }
        }

    return change


@contextlib.asynccontextmanager
async def world(engine: AsyncEngine, tmp_path: Path, **answers: Any) -> AsyncIterator[World]:
    async with receiver(tmp_path, **answers) as got:
        h = Harness(engine)
        h.policies.replace(build_policy(_with_client(f"{got.base}/hooks/")))
        # The operator's leave for a loopback receiver, and trust in its certificate.
        h.relay.outbound = outbound_delivery(AddressGuard(allow_private=True), tls=got.client_tls)
        issued = await TokenService(h.uow).credentials("support-agent")
        assert issued.token is not None
        app = web.Application()
        api_mount()(app, h.runtime())
        async with TestClient(TestServer(app)) as http:
            yield World(h, got, http, issued.token, issued.signing_secret)


def verified(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(body, headers)
    return payload


async def test_every_vote_and_the_decision_reach_the_receiver_signed_and_in_order(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path) as w:
        request_id = await w.open()
        await w.h.settle()
        assert w.got.received == []  # opening is the client's own act: nothing to hear

        assert (await w.h.answer(request_id, "mina", comment="fine by me")).ok
        assert (await w.h.answer(request_id, "jae")).ok
        await w.h.settle()
        vote, decision = await w.got.until(2)
        ledger = {e.seq: e for e in await w.h.ledger()}
        first = verified(w.secret, vote.body, vote.headers)
        assert first["type"] == "request.voted" and first["data"]["status"] == "pending"
        assert first["data"]["event"]["actor"] == {"person": "mina", "platform": "slack"}
        second = verified(w.secret, decision.body, decision.headers)
        assert second["type"] == "request.approved"
        assert second["data"]["id"] == request_id and second["data"]["status"] == "approved"
        assert second["data"]["system"] == "support-bot"
        assert second["data"]["version"] == "4.0.1"
        seq = int(decision.headers["webhook-id"])
        assert ledger[seq].action == "approved" and ledger[seq].subject_id == request_id
        assert second["data"]["event"]["hash"] == ledger[seq].hash
        assert int(vote.headers["webhook-id"]) < seq
        assert decision.path == "/hooks/run-1"
        assert decision.headers["Content-Type"] == "application/json"

        # Another secret does not verify it: the signature is the client's own.
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 44).verify(decision.body, decision.headers)
        assert await w.h.chain_ok()

        # A request opened in chat has no callback; nor does one opened without a URL.
        chat = await w.h.open(system="doc-search")
        assert (await w.h.answer(chat, "mina")).ok
        await w.h.settle()
        assert len(w.got.received) == 2 and len(await w.rows()) == 2


async def test_a_receiver_that_fails_once_gets_the_callback_once_after_a_retry(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path, answers=[500]) as w:
        request_id = await w.open(system="doc-search")
        assert (await w.h.answer(request_id, "mina")).ok
        assert (await w.h.relay.drain()).retried == 1  # the chat messages went out
        assert len(w.got.received) == 1
        w.h.clock.advance(seconds=1)
        assert (await w.h.relay.drain()).handled == 0  # the backoff is not over yet
        w.h.clock.advance(seconds=2)
        assert (await w.h.relay.drain()).sent == 1
        failed, accepted = w.got.received
        assert failed.headers["webhook-id"] == accepted.headers["webhook-id"]
        assert failed.body == accepted.body
        assert verified(w.secret, accepted.body, accepted.headers)["type"] == "request.approved"
        [row] = await w.rows()
        assert (row.status, row.attempts) == ("sent", 2)
        await w.h.settle()
        assert len(w.got.received) == 2


async def test_a_refusing_receiver_dead_letters_the_callback_and_the_decision_stands(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path, answers=[410]) as w:
        request_id = await w.open(system="doc-search")
        assert (await w.h.answer(request_id, "mina")).ok
        assert (await w.h.relay.drain()).dead == 1
        [row] = await w.rows()
        assert row.status == "dead" and row.last_error == "permanent: HTTP 410"
        assert (await w.h.state(request_id)).status.value == "approved"
        assert w.h.metrics.dead.labels(platform="callback")._value.get() == 1


async def test_a_damaged_stored_body_loses_only_the_callback_never_the_decision(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with world(engine, tmp_path) as w:
        request_id = await w.open(system="doc-search")
        async with engine.begin() as conn:
            await conn.execute(
                update(api_requests)
                .where(api_requests.c.request_id == request_id)
                .values(body="{not json")
            )
        assert (await w.h.answer(request_id, "mina")).ok
        await w.h.settle()
        assert (await w.h.state(request_id)).status.value == "approved"
        assert [e.action for e in await w.h.ledger()][-1] == "approved"
        assert await w.rows() == [] and w.got.received == []
        assert f"request {request_id}: its stored API body is not JSON" in caplog.text


async def test_the_address_is_checked_again_when_the_callback_is_sent(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path) as w:
        request_id = await w.open(system="doc-search")
        # What was allowed when the request was opened is not when it is sent (as when a
        # name comes to resolve to a private address): the callback dies, nothing is sent.
        w.h.relay.outbound = outbound_delivery(AddressGuard(), tls=w.got.client_tls)
        assert (await w.h.answer(request_id, "mina")).ok
        assert (await w.h.relay.drain()).dead == 1
        [row] = await w.rows()
        assert "non-public address" in row.last_error and "127.0.0.1" in row.last_error
        assert w.got.received == []


async def test_a_callback_of_a_client_whose_prefix_is_gone_is_not_sent(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path) as w:
        request_id = await w.open(system="doc-search")
        w.h.policies.replace(build_policy(_with_client("https://agents.acme.example/hooks/")))
        assert (await w.h.answer(request_id, "mina")).ok
        assert (await w.h.relay.drain()).dead == 1
        [row] = await w.rows()
        assert "no longer under client support-agent's callback prefixes" in row.last_error
        assert w.got.received == []


async def test_a_rotation_signs_with_both_secrets_until_the_overlap_ends(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path) as w:
        tokens = TokenService(w.h.uow)
        rotated = await tokens.credentials("support-agent", rotating=timedelta(hours=1))
        assert rotated.signing_secret.startswith("whsec_")
        assert rotated.signing_secret != w.secret
        first = await w.open(system="doc-search", key="one")
        assert (await w.h.answer(first, "mina")).ok
        await w.h.settle()
        [during] = await w.got.until(1)
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        verified(w.secret, during.body, during.headers)
        verified(rotated.signing_secret, during.body, during.headers)

        w.h.clock.advance(hours=2)
        assert rotated.token is not None
        w.token = rotated.token
        second = await w.open(system="doc-search", key="two")
        assert (await w.h.answer(second, "mina")).ok
        await w.h.settle()
        after = (await w.got.until(2))[1]
        verified(rotated.signing_secret, after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            verified(w.secret, after.body, after.headers)

        # Revoked: the client's callbacks are not signed, so not sent.
        third = await w.open(system="doc-search", key="three")
        await tokens.revoke("support-agent")
        assert (await w.h.answer(third, "mina")).ok
        assert (await w.h.relay.drain()).dead == 1
        assert "no live signing secret" in (await w.rows())[-1].last_error
        assert len(w.got.received) == 2


async def test_cancelled_and_expired_requests_call_back_with_their_final_state(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path) as w:
        cancelled = await w.open(system="doc-search", key="c")
        headers = {"Authorization": f"Bearer {w.token}"}
        answer = await w.http.post(
            f"/api/v1/requests/{cancelled}/cancel", json={"reason": "stop"}, headers=headers
        )
        assert answer.status == 200
        expired = await w.open(system="doc-search", key="e")
        w.h.clock.advance(days=15)
        assert (await w.h.tick(expired)).ok
        await w.h.settle()
        kinds = {}
        for got in await w.got.until(2):
            payload = verified(w.secret, got.body, got.headers)
            kinds[payload["data"]["id"]] = (payload["type"], payload["data"]["status"])
        assert kinds == {
            cancelled: ("request.cancelled", "cancelled"),
            expired: ("request.expired", "expired"),
        }
        assert json.loads(w.got.received[0].body)["data"]["event"]["data"]["reason"] == "stop"


async def test_opening_refuses_a_callback_outside_the_prefixes_or_to_a_private_address(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path) as w:
        headers = {"Authorization": f"Bearer {w.token}"}
        port = w.got.base.rsplit(":", 1)[1]

        async def refused(url: str, key: str) -> str:
            body = {"system": "doc-search", "version": "1", "callback": {"url": url}}
            sent = {**headers, "Idempotency-Key": key}
            answer = await w.http.post("/api/v1/requests", json=body, headers=sent)
            assert answer.status == 422, await answer.text()
            problem = await answer.json()
            assert problem["type"] == PROBLEM + "invalid-field"
            assert problem["detail"].startswith("callback.url: ")
            detail: str = problem["detail"]
            return detail

        assert "prefixes" in await refused("https://agents.acme.example/hooks/x", "a")
        assert "prefixes" in await refused(f"https://localhost:{port}/hooks/x", "b")
        assert "prefixes" in await refused(f"https://127.0.0.1:{port}@evil.example/hooks/", "c")

        # Without the operator's leave, the loopback receiver itself is refused.
        w.h.relay.outbound = outbound_delivery(AddressGuard(), tls=w.got.client_tls)
        api = web.Application()
        api_mount()(api, w.h.runtime())
        async with TestClient(TestServer(api)) as strict:
            w.http = strict
            detail = await refused(f"{w.got.base}/hooks/x", "d")
            assert "127.0.0.1" in detail and "SIGNOFF_ALLOW_PRIVATE_CALLBACKS" in detail
        assert await w.rows() == [] and w.got.received == []


async def test_a_receiver_that_only_ever_says_wait_is_given_up_on_when_the_callback_is_old(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with world(engine, tmp_path, answers=[429] * 3) as w:
        request_id = await w.open(system="doc-search")
        assert (await w.h.answer(request_id, "mina")).ok
        assert (await w.h.relay.drain()).retried == 1
        w.h.clock.advance(minutes=1)
        assert (await w.h.relay.drain()).retried == 1  # Retry-After is honoured, not counted
        [row] = await w.rows()
        assert (row.status, row.attempts) == ("pending", 0)
        w.h.clock.advance(hours=25)
        assert (await w.h.relay.drain()).dead == 1
        [row] = await w.rows()
        assert row.status == "dead" and "HTTP 429" in row.last_error
        assert len(w.got.received) == 3


async def test_a_client_without_a_token_that_lists_callbacks_gets_a_signing_secret_alone(
    engine: AsyncEngine,
) -> None:
    def change(raw: dict[str, Any]) -> None:
        _with_client("https://agents.acme.example/hooks/")(raw)
        raw["clients"]["deploy-gate"] = {
            "github": {"repository": "acme/support-bot"},
            "may_request": {"support-bot": ["deploy"]},
            "callbacks": ["https://ci.acme.example/hooks/"],
        }
        raw["clients"]["quiet-gate"] = {
            "github": {"repository": "acme/doc-search"},
            "may_request": {"doc-search": ["deploy"]},
        }

    h = Harness(engine)
    h.policies.replace(build_policy(change))
    tokens = TokenService(h.uow)
    issued = await tokens.credentials("deploy-gate")
    assert issued.token is None and issued.signing_secret.startswith("whsec_")
    Webhook(issued.signing_secret)  # a secret the library reads
    with pytest.raises(AlreadyIssued, match="signing secret"):
        await tokens.credentials("deploy-gate")
    with pytest.raises(NotATokenClient):
        await tokens.issue("deploy-gate")  # no bearer token for a client of GitHub's tokens
    with pytest.raises(NotATokenClient, match="token: true"):
        await tokens.credentials("quiet-gate")
    [event] = [e for e in await h.ledger() if e.subject_id == "deploy-gate"]
    assert event.action == "client-token-issued" and "token" not in event.data
    assert issued.signing_secret not in json.dumps(event.data)
