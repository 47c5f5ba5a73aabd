"""Callbacks through a real `signoff serve`: a client's secret from `signoff clients issue`, an
approval clicked in Slack, a signed POST to the client's HTTPS receiver checked by the
`standardwebhooks` library itself; a rotation; a receiver that fails once; refusals at open.

The receiver listens on loopback, so the server that calls it runs with
SIGNOFF_ALLOW_PRIVATE_CALLBACKS=true (and trusts the receiver's test authority through
SSL_CERT_FILE); the refusals run without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.api.callback_receiver import Receiver, receiver
from tests.api_process import API_POLICY, api_world, body
from tests.serve_process import signoff

pytestmark = pytest.mark.slow

PROBLEM = "/api/v1/problems/"


def policy_for(tmp_path: Path, got: Receiver) -> Path:
    """The API tests' policy, its support-agent allowed to call back the receiver."""
    port = got.base.rsplit(":", 1)[1]
    prefixes = f'["{got.base}/hooks/", "https://localhost:{port}/hooks/"]'
    text = API_POLICY.read_text().replace('["https://agents.acme.example/hooks/"]', prefixes)
    assert prefixes in text
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


async def test_an_approval_clicked_in_slack_is_called_back_signed_and_a_failure_retried(
    tmp_path: Path,
) -> None:
    async with receiver(tmp_path, answers=[200, 500]) as got:
        assert got.ca_file is not None
        allowed = {"SIGNOFF_ALLOW_PRIVATE_CALLBACKS": "true", "SSL_CERT_FILE": str(got.ca_file)}
        async with api_world(tmp_path, policy_for(tmp_path, got), **allowed) as world:
            token, secret = world.credentials("support-agent")
            assert token.startswith("so_") and secret.startswith("whsec_")
            again = signoff(tmp_path, "clients", "issue", "support-agent", **world.env)
            assert again.returncode == 1 and "whsec_" not in again.stdout + again.stderr

            agent = world.client(token)
            hook = f"{got.base}/hooks/deploy-1"
            opened = await agent.open(body(callback={"url": hook}))
            assert opened.status == 201, opened.json
            request_id = opened.json["id"]
            await world.click("U0MINA", "D0MINA", "approve")

            [decision] = await got.until(1)
            payload = Webhook(secret).verify(decision.body, decision.headers)
            assert payload["type"] == "request.approved"
            assert payload["data"]["id"] == request_id
            assert payload["data"]["status"] == "approved"
            assert payload["data"]["event"]["actor"] == {"person": "mina", "platform": "slack"}
            events = await agent.call("GET", f"/api/v1/requests/{request_id}/events")
            [approved] = [e for e in events.json["items"] if e["action"] == "approved"]
            assert decision.headers["webhook-id"] == str(approved["seq"])
            assert payload["data"]["event"]["hash"] == approved["hash"]

            # Rotated: new ones printed, and while the hour's overlap lasts every callback
            # is signed with the old secret and the new one.
            new_token, new_secret = world.credentials("support-agent", "rotate", "--overlap", "1h")
            assert new_token != token and new_secret.startswith("whsec_") and new_secret != secret

            # The receiver answers 500 to the next callback: the relay backs off and sends it
            # again, and it is accepted once, the same event under the same id.
            second = await agent.open(body(callback={"url": hook}), key="deploy-2")
            cancel = f"/api/v1/requests/{second.json['id']}/cancel"
            assert (await agent.call("POST", cancel, {"reason": "pipeline stopped"})).status == 200
            _, failed, accepted = await got.until(3)
            assert failed.headers["webhook-id"] == accepted.headers["webhook-id"]
            assert failed.body == accepted.body
            cancelled = Webhook(secret).verify(accepted.body, accepted.headers)
            assert Webhook(new_secret).verify(accepted.body, accepted.headers) == cancelled
            assert cancelled["type"] == "request.cancelled"
            assert cancelled["data"]["event"]["data"]["reason"] == "pipeline stopped"
            assert len(got.received) == 3


async def test_a_callback_to_a_private_address_or_outside_the_prefixes_is_refused_at_open(
    tmp_path: Path,
) -> None:
    async with (
        receiver(tmp_path) as got,
        api_world(tmp_path, policy_for(tmp_path, got)) as world,
    ):
        port = got.base.rsplit(":", 1)[1]
        agent = world.client(world.token("support-agent"))
        for url, why in (
            (f"{got.base}/hooks/x", "127.0.0.1"),
            (f"https://localhost:{port}/hooks/x", "non-public"),
            ("https://agents.acme.example/hooks/x", "prefixes"),
            (f"https://127.0.0.1:{port}@agents.acme.example/hooks/x", "prefixes"),
        ):
            refused = await agent.open(body(callback={"url": url}))
            assert refused.status == 422, refused.json
            assert refused.json["type"] == PROBLEM + "invalid-field"
            assert refused.json["detail"].startswith("callback.url: ")
            assert why in refused.json["detail"]
        listed = await agent.call("GET", "/api/v1/requests")
        assert listed.json["items"] == [] and got.received == []
