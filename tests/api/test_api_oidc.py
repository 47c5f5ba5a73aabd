"""GitHub Actions and GitLab CI ID tokens as API v1 credentials (OIDC-01 to OIDC-10, OIDC-12).

The issuer is a local stand-in (tests/oidc_standin.py) serving discovery and JWKS over HTTP,
so keys are fetched as from GitHub. The first tests check the verifier against it in this
process; the `test_serve_` ones go through a real `signoff serve`, with Slack's clicks signed
as Slack signs them.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt

from bot.services.api_oidc import IdentityRefused, Issuers, WorkloadIdentity
from bot.services.oidc_keys import KeysUnavailable
from tests.api.oidc_world import AUDIENCE, OIDC_POLICY, oidc_world
from tests.api_process import ApiClient, body
from tests.client.bare import finish, read_until, runner_env, start
from tests.oidc_standin import OidcIssuer, github_claims, gitlab_claims, new_key, oidc_issuer
from workflows.policy import Policy
from workflows.policy_load import PolicyError, load_policy

PROBLEM = "/api/v1/problems/"
GITLAB = "https://gitlab.acme.example"


def _policy(text: str | None = None) -> Policy:
    return load_policy(text or OIDC_POLICY.read_text(), "policy.yaml").policy


def _verifier(issuer: OidcIssuer, policy: Policy | None = None) -> WorkloadIdentity:
    chosen = policy or _policy()
    issuers = Issuers(AUDIENCE, issuer.issuer, GITLAB)
    return WorkloadIdentity(issuers, lambda: chosen, _now)


def _now() -> datetime:
    return datetime.now(UTC)


async def _refusal(verifier: WorkloadIdentity, token: str) -> str:
    with pytest.raises(IdentityRefused) as refused:
        await verifier.verify(token)
    return str(refused.value)


async def test_oidc_01_a_matching_token_is_its_client_and_its_actor_the_person_of_record() -> None:
    async with oidc_issuer() as issuer:
        verifier = _verifier(issuer)
        # GitHub logins ignore case, and so does the mapping.
        token = issuer.sign(github_claims(actor="Mina-Park"), audience=AUDIENCE)
        workload = await verifier.verify(token)
        assert (workload.client, workload.forge) == ("support-gate", "github")
        assert (workload.login, workload.person) == ("Mina-Park", "mina")
        # An `aud` array of this server alone is its audience too (RFC 7519 §4.1.3); one that
        # also names another service is not, since that service could replay it here.
        alone = issuer.sign({**github_claims(), "aud": [AUDIENCE]})
        assert (await verifier.verify(alone)).client == "support-gate"
        shared = issuer.sign({**github_claims(), "aud": ["https://vault.acme.example", AUDIENCE]})
        assert "meant for" in await _refusal(verifier, shared)
        # A run started by someone the policy does not know: the client, without a person.
        stranger = await verifier.verify(
            issuer.sign(github_claims(actor="dependabot"), audience=AUDIENCE)
        )
        assert (stranger.client, stranger.person) == ("support-gate", None)
        assert issuer.key_fetches == 1  # the keys are cached


REFUSED: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # case: (claims changed, signing options, what the refusal says)
    "wrong audience": ({}, {"audience": "https://signoff.acme.example.evil"}, "meant for"),
    "audience with a path": ({}, {"audience": AUDIENCE + "/api"}, "meant for"),
    "no audience": ({}, {"audience": None}, "meant for no audience"),
    "wrong repository": ({"repository": "acme/support-bot-fork"}, {}, "no client"),
    "wrong environment": ({"environment": "staging"}, {}, "not for environment 'staging'"),
    "no environment": ({"environment": None}, {}, "not for environment None"),
    "wrong ref": ({"ref": "refs/heads/feature"}, {}, "ref 'refs/heads/feature'"),
    "expired": ({}, {"issued": time.time() - 1000}, "expired"),
    "not yet valid": ({"nbf": int(time.time()) + 600}, {}, "nbf"),
    "issued in the future": ({"iat": int(time.time()) + 600}, {}, "iat"),
    "no expiry": ({"exp": None}, {}, "exp"),
    "another issuer": ({"iss": "https://token.actions.githubusercontent.com"}, {}, "issuer"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_oidc_02_a_token_off_the_policy_or_out_of_date_is_refused(case: str) -> None:
    changed, options, says = REFUSED[case]
    async with oidc_issuer() as issuer:
        claims = {k: v for k, v in {**github_claims(), **changed}.items() if v is not None}
        options = {"audience": AUDIENCE, **options}
        token = issuer.sign(claims, **options)
        if changed.get("exp", 0) is None:
            token = _without_exp(issuer, claims)
        assert says in await _refusal(_verifier(issuer), token)


async def test_oidc_02_without_a_public_url_no_id_token_is_accepted() -> None:
    async with oidc_issuer() as issuer:
        issuers = Issuers(None, issuer.issuer, GITLAB)
        verifier = WorkloadIdentity(issuers, _policy, _now)
        token = issuer.sign(github_claims(), audience=AUDIENCE)
        assert "SIGNOFF_PUBLIC_URL is not set" in await _refusal(verifier, token)
        assert issuer.key_fetches == 0


def _without_exp(issuer: OidcIssuer, claims: dict[str, Any]) -> str:
    now = int(time.time())
    payload = {"iss": issuer.issuer, "aud": AUDIENCE, "iat": now, **claims}
    header = {"alg": "RS256", "kid": issuer.signing.kid}
    return jwt.encode(header, payload, issuer.signing, algorithms=["RS256"])


async def test_oidc_03_forged_signatures_and_other_algorithms_are_refused() -> None:
    async with oidc_issuer() as issuer:
        verifier = _verifier(issuer)
        claims = {**github_claims(), "iss": issuer.issuer, "aud": AUDIENCE}
        claims |= {"iat": int(time.time()), "exp": int(time.time()) + 300}
        # A key of the attacker's own, claiming the published key's id.
        rogue = new_key()
        forged = jwt.encode(
            {"alg": "RS256", "kid": issuer.signing.kid}, claims, rogue, algorithms=["RS256"]
        )
        assert "signature" in await _refusal(verifier, forged)
        # The claims changed after signing: another environment.
        header, payload, signature = issuer.sign(github_claims(), audience=AUDIENCE).split(".")
        other = _segment({**_claims_of(payload), "environment": "staging"})
        assert "signature" in await _refusal(verifier, f"{header}.{other}.{signature}")
        # HS256 keyed with the public key (the old algorithm confusion), and no signature.
        signed = f"{_segment({'alg': 'HS256', 'kid': issuer.signing.kid})}.{_segment(claims)}"
        mac = hmac.digest(issuer.signing.as_pem(private=False), signed.encode(), "sha256")
        confused = f"{signed}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
        assert "not RS256" in await _refusal(verifier, confused)
        unsigned = f"{_segment({'alg': 'none', 'kid': issuer.signing.kid})}.{payload}."
        assert "not RS256" in await _refusal(verifier, unsigned)
        assert "nor an ID token" in await _refusal(verifier, "eyJub3QiOiJqc29u.x.y")


def _segment(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")


def _claims_of(segment: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return claims


async def test_oidc_04_a_rolled_key_is_fetched_and_made_up_kids_are_not_a_stream_of_fetches() -> (
    None
):
    async with oidc_issuer() as issuer:
        verifier = _verifier(issuer)
        await verifier.verify(issuer.sign(github_claims(), audience=AUDIENCE))
        issuer.rotate()
        rolled = await verifier.verify(issuer.sign(github_claims(), audience=AUDIENCE))
        assert rolled.client == "support-gate" and issuer.key_fetches == 2
        for _ in range(5):
            stranger = new_key()
            token = issuer.sign(github_claims(), audience=AUDIENCE, key=stranger)
            assert "publishes no key" in await _refusal(verifier, token)
        # The rolled key's refetch was this minute's one: made-up kids fetch nothing more.
        assert issuer.key_fetches == 2


async def test_oidc_05_an_unreachable_issuer_is_no_verdict_and_a_lying_one_not_trusted() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    async with oidc_issuer() as issuer:
        down = WorkloadIdentity(Issuers(AUDIENCE, nowhere, GITLAB), _policy, _now)
        token = issuer.sign({**github_claims(), "iss": nowhere}, audience=AUDIENCE)
        with pytest.raises(KeysUnavailable):
            await down.verify(token)
        # A discovery document must name the issuer it describes (OpenID Discovery §4.3).
        token = issuer.sign(github_claims(), audience=AUDIENCE)
        verifier = _verifier(issuer)
        issuer.issuer = "https://somebody.else.example"
        with pytest.raises(KeysUnavailable):
            await verifier.verify(token)
        assert issuer.key_fetches == 0  # its keys were never asked for


async def test_oidc_06_gitlab_tokens_name_their_project_and_user_login() -> None:
    async with oidc_issuer() as gitlab:
        issuers = Issuers(AUDIENCE, "https://token.actions.githubusercontent.com", gitlab.issuer)
        verifier = WorkloadIdentity(issuers, _policy, _now)
        workload = await verifier.verify(gitlab.sign(gitlab_claims(), audience=AUDIENCE))
        assert (workload.client, workload.forge, workload.person) == (
            "credit-gitlab",
            "gitlab",
            "jae",
        )
        # A GitHub-style claim does not make a GitLab token a GitHub client.
        github_shaped = gitlab.sign(github_claims(), audience=AUDIENCE)
        assert "project_path" in await _refusal(verifier, github_shaped)


def _twin(trust: str) -> str:
    return OIDC_POLICY.read_text() + (
        f"  support-twin:\n    github: {trust}\n    may_request: {{support-chatbot: [refund]}}\n"
    )


async def test_oidc_07_no_token_may_prove_two_clients() -> None:
    # The policy check refuses two clients one token could prove, naming the line.
    for overlapping, project in (
        ("{repository: acme/support-bot}", "acme/support-bot"),
        ("{repository: ACME/Support-Bot, environments: [production, qa]}", "ACME/Support-Bot"),
        ("{repository: acme/support-bot, refs: [refs/heads/main]}", "acme/support-bot"),
    ):
        text = _twin(overlapping)
        with pytest.raises(PolicyError) as refused:
            load_policy(text, "policy.yaml")
        line = len(text.splitlines()) - 1
        assert [str(p) for p in refused.value.problems] == [
            f"policy.yaml:{line}: clients.support-twin.github: one github token of {project} "
            "could be this client or 'support-gate'; give them environments or refs that do "
            "not overlap"
        ]
    async with oidc_issuer() as issuer:
        # Told apart by environment, each token is one client.
        apart = _verifier(
            issuer, _policy(_twin("{repository: acme/support-bot, environments: [staging]}"))
        )
        staging = issuer.sign(github_claims(environment="staging"), audience=AUDIENCE)
        assert (await apart.verify(staging)).client == "support-twin"
        production = issuer.sign(github_claims(), audience=AUDIENCE)
        assert (await apart.verify(production)).client == "support-gate"
        # Should such a policy be in force anyway, the token is refused, not given to either.
        policy = _policy()
        twin = policy.clients["support-gate"].model_copy(update={"may_request": {}})
        clients = {**policy.clients, "support-twin": twin}
        verifier = _verifier(issuer, policy.model_copy(update={"clients": clients}))
        assert "several clients (support-gate, support-twin)" in await _refusal(
            verifier, production
        )


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_serve_oidc_08_a_pipeline_asks_with_its_id_token_and_its_actor_cannot_approve(
    tmp_path: Path, empty_database_url: str
) -> None:
    async with oidc_world(tmp_path, DATABASE_URL=empty_database_url) as world:
        pipeline = world.client(world.github_token(github_claims()))
        who = await pipeline.call("GET", "/api/v1/whoami")
        assert who.status == 200, who.json
        assert (who.json["client"], who.json["authenticated_by"]) == ("support-gate", "github")
        assert who.json["on_behalf_of"] == "mina"
        opened = await pipeline.open(body())
        assert opened.status == 201, opened.json
        request_id = opened.json["id"]
        assert opened.json["requester"] == {
            "kind": "client",
            "name": "support-gate",
            "on_behalf_of": "mina",
        }
        events = await pipeline.call("GET", f"/api/v1/requests/{request_id}/events")
        assert [(e["action"], e["actor"]) for e in events.json["items"]] == [("requested", "mina")]

        # Mina started the run, so she is not asked, and her approval does not count.
        # Her approval, pressed on Tomas's card, is refused and recorded; his decides.
        await world.api.click("U0MINA", "D0TOMAS", "approve")
        actions = await _actions_after(pipeline, request_id, 2)
        assert actions == [("requested", "mina"), ("denied", "mina")]
        still = await pipeline.call("GET", f"/api/v1/requests/{request_id}")
        assert still.json["status"] == "pending" and still.json["quorum"]["approvals"] == []
        cards = world.api.standin.called("chat.postMessage")
        assert not any(c.args["channel"] == "D0MINA" for c in cards)
        card = json.dumps(world.api.standin.card_for("D0TOMAS").args)
        assert "client support-gate on behalf of Mina Park" in card
        await world.api.click("U0TOMAS", "D0TOMAS", "approve")
        await _actions_after(pipeline, request_id, 3)
        decided = await pipeline.call("GET", f"/api/v1/requests/{request_id}")
        assert decided.json["status"] == "approved"
        assert [a["person"] for a in decided.json["quorum"]["approvals"]] == ["tomas"]


async def _actions_after(client: ApiClient, request_id: str, count: int) -> list[tuple[str, str]]:
    """The request's ledger entries (action, actor), once there are `count` of them."""
    for _ in range(300):
        events = await client.call("GET", f"/api/v1/requests/{request_id}/events")
        items = [(e["action"], e["actor"]) for e in events.json["items"]]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError(f"{request_id} has {items}, not {count} entries")


async def test_serve_oidc_09_refused_id_tokens_are_401_counted_and_open_nothing(
    tmp_path: Path,
) -> None:
    async with oidc_world(tmp_path) as world:
        counted = (
            'signoff_inbound_refused_total{kind="unauthenticated",platform="api",status="401"}'
        )
        before = await world.api.metric(counted)
        stranger = OidcIssuer(issuer="https://token.actions.githubusercontent.com")
        refused = {
            "wrong audience": world.github.sign(github_claims(), audience="https://elsewhere"),
            "wrong repository": world.github_token(github_claims(repository="acme/other")),
            "wrong environment": world.github_token(github_claims(environment="staging")),
            "expired": world.github_token(github_claims(), issued=time.time() - 3600),
            "bad signature": world.github_token(github_claims(), key=new_key()),
            "unknown issuer": stranger.sign(github_claims(), audience=AUDIENCE),
            "gitlab, wrong project": world.gitlab_token(project_path="acme/ml/other"),
        }
        for case, token in refused.items():
            answer = await world.client(token).open(body(), key=f"refused-{case}")
            assert answer.status == 401, (case, answer.json)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer"), case
            assert answer.json["type"] == PROBLEM + "unauthenticated", case
            assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert await world.api.metric(counted) == before + len(refused)
        # Nothing was opened, nobody was asked.
        good = world.client(world.github_token(github_claims()))
        assert (await good.call("GET", "/api/v1/requests")).json["items"] == []
        assert world.api.standin.called("chat.postMessage") == []


async def test_serve_oidc_10_a_gitlab_run_whose_user_the_policy_lacks_may_read_not_open(
    tmp_path: Path,
) -> None:
    async with oidc_world(tmp_path) as world:
        pipeline = world.client(world.gitlab_token(user_login="contractor-7"))
        who = await pipeline.call("GET", "/api/v1/whoami")
        assert who.json["authenticated_by"] == "gitlab" and who.json["on_behalf_of"] is None
        refused = await pipeline.open(body(system="credit-scoring", version="3.0.0"))
        assert refused.status == 403 and refused.json["type"] == PROBLEM + "not-allowed"
        assert "'contractor-7' is no person of the policy" in refused.json["detail"]
        jae = world.client(world.gitlab_token())
        opened = await jae.open(body(system="credit-scoring", version="3.0.0"))
        assert opened.status == 201, opened.json


async def test_serve_oidc_12_a_gitlab_job_passes_its_id_token_to_the_ci_client(
    tmp_path: Path,
) -> None:
    """GitLab puts the job's ID token in a variable (`id_tokens:`); the client sends it as
    it would a client token, and the run's user (jkim, Jae) is the requester of record."""
    async with oidc_world(tmp_path) as world:
        env = runner_env(
            GITLAB_CI="true",
            CI_PIPELINE_ID="777",
            CI_PROJECT_PATH="acme/ml/credit-scoring",
            CI_JOB_NAME="deploy",
            SIGNOFF_ID_TOKEN=world.gitlab_token(),
        )
        ask = ("request", "deploy", "--system", "credit-scoring", "--version", "3.0.0",
               "--environment", "production", "--url", world.api.server.base,
               "--token-env", "SIGNOFF_ID_TOKEN", "--wait")  # fmt: skip
        client = await start(*ask, env=env)
        said = await read_until(client, "Follow it at")
        await world.api.click("U0MINA", "D0MINA", "approve")  # once her card has arrived
        assert "client credit-gitlab on behalf of Jae Kim" in json.dumps(
            world.api.standin.card_for("D0MINA").args
        )
        outcome = await finish(client)
        assert outcome.code == 0, (said, outcome)
        assert "Approved by mina (slack)" in outcome.out
