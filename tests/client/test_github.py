"""On GitHub Actions the client names its request by the run, so a retried step resumes it;
it asks the runner for an ID token meant for Signoff, and leaves the outcome in the step
summary and the step outputs."""

from __future__ import annotations

from pathlib import Path

from adapters.api.problems import ApiProblem, Kind
from tests.api.oidc_world import AUDIENCE, oidc_world
from tests.client.bare import finish, github_env, read_until, run, runner_env, start, until
from tests.client.standin import TOKEN, Served

ASK = ("request", "deploy", "--system", "credit-scoring", "--version", "1.4.2")


async def test_a_retried_step_resumes_the_request_its_run_opened(
    api: Served, tmp_path: Path
) -> None:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    args = (*ASK, "--environment", "production", "--url", api.url)
    first, again = await run(*args, env=env), await run(*args, env=env)
    assert (first.code, again.code) == (5, 5)
    request = api.standin.only()
    assert f"Opened request {request.id}" in first.out
    assert f"Resumed request {request.id}" in again.out
    keys = {c.headers["Idempotency-Key"] for c in api.api_calls("POST")}
    assert len(keys) == 1 and keys.pop().startswith("github-")
    # A re-run of the job is a new attempt, and asks anew; so does another environment.
    await run(*args, env={**env, "GITHUB_RUN_ATTEMPT": "2"})
    await run(*ASK, "--environment", "staging", "--url", api.url, env=env)
    assert len(api.standin.requests) == 3
    # The key can be given; then it, not the run, names the request.
    given = await run(*args, "--idempotency-key", "release-1.4.2", env=env)
    assert [c.headers["Idempotency-Key"] for c in api.api_calls("POST")][-1] == "release-1.4.2"
    assert "Opened request" in given.out and len(api.standin.requests) == 4


async def test_the_request_names_the_run_that_asked(api: Served, tmp_path: Path) -> None:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    await run(*ASK, "--reason", "retrained on Q3 data", "--url", api.url, env=env)
    (held,) = api.standin.requests.values()
    assert held.body.reason == "retrained on Q3 data"
    assert held.body.context is not None and held.body.context.ci is not None
    assert held.body.context.ci.model_dump() == {
        "provider": "github",
        "repository": "acme/credit-scoring",
        "run_id": "4242",
        "run_url": "https://github.com/acme/credit-scoring/actions/runs/4242",
        "sha": "f" * 40,
    }


async def test_outside_ci_each_run_is_a_new_request_and_says_so(api: Served) -> None:
    env = runner_env(SIGNOFF_TOKEN=TOKEN)
    first = await run(*ASK, "--url", api.url, env=env)
    await run(*ASK, "--url", api.url, env=env)
    assert len(api.standin.requests) == 2
    assert "a retry opens a new one (--idempotency-key)" in first.out


async def test_the_step_summary_names_the_approvers_and_the_ledger(
    api: Served, tmp_path: Path
) -> None:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    client = await start(*ASK, "--environment", "production", "--wait", "--url", api.url, env=env)
    await until(lambda: api.standin.requests, "the request opened")
    request = api.standin.only()
    await api.standin.approve(request.id, "mina", "slack")
    await api.standin.approve(request.id, "cdao", "teams")
    assert (await finish(client)).code == 0
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### Signoff: deploy credit-scoring 1.4.2 to production\n")
    assert "Approved by mina, cdao: deploy credit-scoring 1.4.2 to production." in summary
    assert f"| Request | [{request.id}]({api.url}/requests/{request.id}) |" in summary
    assert "| Status | **approved** |" in summary
    assert "| Approved by | mina (slack, " in summary and ", cdao (teams, " in summary
    assert "| Ledger | entries 41 to 43 |" in summary
    outputs = (tmp_path / "output.txt").read_text().splitlines()
    assert outputs == [
        f"request-id={request.id}",
        "status=approved",
        "approvers=mina,cdao",
        "ledger-seq=43",
    ]


async def test_a_rejection_in_the_summary_keeps_its_reason_as_text(
    api: Served, tmp_path: Path
) -> None:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    client = await start(*ASK, "--wait", "--url", api.url, env=env)
    await until(lambda: api.standin.requests, "the request opened")
    reason = "fairness | <script>alert(1)</script>\n| Status | **approved** |"
    await api.standin.reject(api.standin.only().id, "mina", reason)
    assert (await finish(client)).code == 1
    summary = (tmp_path / "summary.md").read_text()
    assert "| Status | **rejected** |" in summary
    assert "| Status | **approved** |" not in summary  # a reason cannot forge a row
    assert "<script>" not in summary
    assert "Rejected by mina: fairness \\| &lt;script&gt;" in summary
    assert "status=rejected" in (tmp_path / "output.txt").read_text()


async def test_oidc_asks_the_runner_for_a_token_meant_for_signoff_and_renews_it(
    api: Served, tmp_path: Path
) -> None:
    env = github_env(tmp_path, api.url)  # no SIGNOFF_TOKEN: the runner's identity only
    client = await start(*ASK, "--wait", "--oidc", "github", "--url", api.url + "/", env=env)
    await until(lambda: api.api_calls("GET"), "the first long poll")
    assert api.standin.audiences == [api.url]
    used = {c.headers["Authorization"] for c in api.standin.calls if c.path.startswith("/api/")}
    assert used == {"Bearer gh-id-1"}
    api.standin.tokens.clear()  # the ID token expires: the next call is a 401
    request = api.standin.only()
    await api.standin.approve(request.id, "mina")
    await until(lambda: len(api.standin.audiences) == 2, "a second ID token")
    await api.standin.approve(request.id, "cdao")
    outcome = await finish(client)
    assert outcome.code == 0, outcome
    assert api.standin.audiences == [api.url, api.url]


async def test_a_refusal_or_silence_is_in_the_step_summary_too(api: Served, tmp_path: Path) -> None:
    api.standin.refusal = ApiProblem(Kind.FROZEN, "incident inc-7 is open on credit-scoring")
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    refused = await run(*ASK, "--wait", "--url", api.url, env=env)
    await api.runner.cleanup()
    silent = await run(*ASK, "--wait", "--url", api.url, "--timeout", "1s", env=env)
    assert (refused.code, silent.code) == (4, 69)
    summary = (tmp_path / "summary.md").read_text()
    assert "### Signoff: request refused\n\nFrozen by an incident: incident inc-7" in summary
    assert f"### Signoff: no answer from {api.url}\n" in summary
    assert summary.count("Nothing may proceed on it.") == 2


async def test_serve_oidc_11_the_runners_id_token_gets_a_real_server_to_ask_and_wait(
    tmp_path: Path,
) -> None:
    """Against a real `signoff serve` trusting a local issuer, whose runner endpoint the job's
    ACTIONS_ID_TOKEN_REQUEST_URL names: no stored secret, and the run's actor (mina) is the
    requester of record, so Tomas decides."""
    async with oidc_world(tmp_path) as world:
        env = github_env(tmp_path, world.github.issuer)
        url = world.api.server.base
        ask = ("request", "deploy", "--system", "support-chatbot", "--version", "2.1.0",
               "--environment", "production", "--url", url, "--oidc", "github")  # fmt: skip
        client = await start(*ask, "--audience", AUDIENCE, "--wait", env=env)
        said = await read_until(client, "Follow it at")
        await world.api.click("U0TOMAS", "D0TOMAS", "approve")
        outcome = await finish(client)
        assert outcome.code == 0, (said, outcome)
        assert "Approved by tomas (slack)" in outcome.out
        assert world.github.audiences == [AUDIENCE]
        asked = [c.args["channel"] for c in world.api.standin.called("chat.postMessage")]
        assert "D0TOMAS" in asked and "D0MINA" not in asked

        # A token asked for the address the runner reaches, not Signoff's public URL, is
        # refused even when asked for again: exit 4, nothing opened.
        before = len(world.api.standin.called("chat.postMessage"))
        refused = await run(*ask, "--idempotency-key", "other", env=env)
        assert refused.code == 4, refused
        assert "Not authenticated" in refused.err + refused.out
        assert world.github.audiences == [AUDIENCE, url, url]
        assert len(world.api.standin.called("chat.postMessage")) == before
