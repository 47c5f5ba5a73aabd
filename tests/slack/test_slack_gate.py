"""The authenticity gate over real HTTP: SIG-02, 05, 06, 08..12, CHAT-10 and CHAT-11."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.gate import SignedRequest, slack_gate
from adapters.slack.signing import SigningSecrets, sign

SECRET = b"test-signing-secret"
SEEN = web.AppKey("seen", list[SignedRequest])
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    seen: list[SignedRequest] = []

    async def handler(_: web.Request, signed: SignedRequest) -> web.Response:
        seen.append(signed)
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[SEEN] = seen
    app.router.add_post("/slack/events", slack_gate(SigningSecrets(SECRET), time.time, handler))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def signed_headers(body: bytes, skew: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) + skew)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SECRET, stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def payload_body(payload: object) -> bytes:
    return b"payload=" + quote(json.dumps(payload)).encode()


ACTION = payload_body({"type": "block_actions", "user": {"id": "U0MINA"}, "actions": []})


async def test_sig_02_a_signed_request_passes(client: Client) -> None:
    response = await client.post("/slack/events", data=ACTION, headers=signed_headers(ACTION))
    assert response.status == 200
    (seen,) = client.app[SEEN]
    assert seen.payload is not None and seen.payload["user"]["id"] == "U0MINA"


async def test_sig_05_a_body_changed_after_signing(client: Client) -> None:
    headers = signed_headers(ACTION)
    forged = ACTION.replace(b"U0MINA", b"U0EVIL")
    response = await client.post("/slack/events", data=forged, headers=headers)
    assert response.status == 401 and await response.json() == {"error": "invalid request"}
    assert client.app[SEEN] == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Signature": "v0=" + "0" * 64},
    ],
)
async def test_sig_06_08_bad_headers_are_401(client: Client, headers: dict[str, str]) -> None:
    response = await client.post("/slack/events", data=ACTION, headers=headers)
    assert response.status == 401


async def test_sig_07_a_non_ascii_signature_is_401(client: Client) -> None:
    headers = signed_headers(ACTION)
    raw = [(k.encode(), v.encode()) for k, v in headers.items() if k != "X-Slack-Signature"]
    raw.append((b"X-Slack-Signature", b"v0=\xff" + b"a" * 63))
    response = await client.post(
        "/slack/events", data=ACTION, headers={k.decode(): v.decode("latin-1") for k, v in raw}
    )
    assert response.status == 401


async def test_sig_09_10_malformed_bodies(client: Client) -> None:
    for body in (b"payload=\xff\xfe", b"payload=%7Bnot-json"):
        unsigned = await client.post("/slack/events", data=body)
        assert unsigned.status == 401
        signed = await client.post("/slack/events", data=body, headers=signed_headers(body))
        assert signed.status == 400
    assert client.app[SEEN] == []


async def test_sig_11_header_case_and_duplicates(client: Client) -> None:
    headers = {k.lower(): v for k, v in signed_headers(ACTION).items()}
    assert (await client.post("/slack/events", data=ACTION, headers=headers)).status == 200
    from multidict import CIMultiDict

    doubled = CIMultiDict(signed_headers(ACTION))
    doubled.add("X-Slack-Signature", doubled["X-Slack-Signature"])
    assert (await client.post("/slack/events", data=ACTION, headers=doubled)).status == 401


@pytest.mark.parametrize(
    "body", [b"ssl_check=1&token=x", b'{"type":"url_verification","challenge":"c"}', b"challenge=c"]
)
async def test_sig_12_no_body_field_skips_verification(client: Client, body: bytes) -> None:
    response = await client.post("/slack/events", data=body)
    assert response.status == 401


async def test_sig_18_chat_10_an_oversized_body_is_413(client: Client) -> None:
    body = b"x" * (1024 * 1024 + 1)
    headers = signed_headers(body)
    response = await client.post("/slack/events", data=io.BytesIO(body), headers=headers)
    assert response.status == 413


@pytest.mark.parametrize(
    "body",
    [
        b"payload=" + quote("[1, 2]").encode(),
        b"payload=" + quote("[" * 10_000 + "]" * 10_000).encode(),
        b"payload=" + quote('{"a":' * 100 + "1" + "}" * 100).encode(),
        b"payload=1&payload=2",
        b"&&&=",
    ],
)
async def test_chat_11_signed_but_malformed_is_400(client: Client, body: bytes) -> None:
    response = await client.post("/slack/events", data=body, headers=signed_headers(body))
    assert response.status == 400
    assert "Traceback" not in await response.text()


@pytest.mark.parametrize(("skew", "status"), [(-299, 200), (299, 200), (-301, 401), (301, 401)])
async def test_sig_03_04_the_window_is_five_minutes_either_way(
    client: Client, skew: int, status: int
) -> None:
    response = await client.post("/slack/events", data=ACTION, headers=signed_headers(ACTION, skew))
    assert response.status == status
