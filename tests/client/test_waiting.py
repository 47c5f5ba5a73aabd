"""While it waits the client long-polls with the ETag it holds, says who was asked and each
vote as it comes, and rides out 5xx, 429 and a restarted server within --timeout."""

from __future__ import annotations

from adapters.api.problems import ApiProblem, Kind
from tests.client.bare import finish, runner_env, start, until
from tests.client.standin import TOKEN, Served, serve

ASK = ("request", "deploy", "--system", "credit-scoring", "--version", "1.4.2", "--wait")


async def test_it_long_polls_with_the_etag_of_the_view_it_holds(api: Served) -> None:
    client = await start(*ASK, "--url", api.url, env=runner_env(SIGNOFF_TOKEN=TOKEN))
    await until(lambda: api.api_calls("GET"), "the first long poll")
    request = api.standin.only()
    await api.standin.approve(request.id, "mina")
    await until(lambda: len(api.api_calls("GET")) >= 3, "a long poll after the first vote")
    await api.standin.approve(request.id, "cdao")
    outcome = await finish(client)
    assert outcome.code == 0, outcome
    polls = [c for c in api.api_calls("GET") if c.path.startswith(f"/api/v1/requests/{request.id}")]
    assert all(c.path.endswith("?wait=30") for c in polls), polls
    assert all(c.headers.get("If-None-Match", "").startswith('"') for c in polls), polls
    # Each poll names the view the previous answer carried, so none repeats a tag after a vote.
    tags = [c.headers["If-None-Match"] for c in polls]
    assert len(set(tags)) == len(tags)


async def test_it_says_who_was_asked_each_vote_and_where_to_follow(api: Served) -> None:
    client = await start(*ASK, "--url", api.url, env=runner_env(SIGNOFF_TOKEN=TOKEN))
    await until(lambda: api.api_calls("GET"), "the first long poll")
    request = api.standin.only()
    await api.standin.concern(request.id, "dan: the bias audit is a week old")
    await until(lambda: len(api.api_calls("GET")) >= 3, "the poll after the concern")
    await api.standin.approve(request.id, "mina", "teams")
    await until(lambda: len(api.api_calls("GET")) >= 4, "the poll after the first vote")
    await api.standin.approve(request.id, "cdao", "web")
    outcome = await finish(client)
    lines = outcome.out.splitlines()
    asked = "Asked the Accountable role ai-governance-lead of credit-scoring: 2 approval(s) needed."
    assert asked in lines
    assert f"Follow it at {api.url}/requests/{request.id}" in lines
    said = [line.split(" at ")[0] for line in lines if line.startswith(("Concern", "Approved by "))]
    assert said[:3] == [
        "Concern: dan: the bias audit is a week old",
        "Approved by mina (teams)",
        "Approved by cdao (web)",
    ]


async def test_it_waits_as_retry_after_says_when_rate_limited(api: Served) -> None:
    client = await start(*ASK, "--url", api.url, env=runner_env(SIGNOFF_TOKEN=TOKEN))
    await until(lambda: api.api_calls("GET"), "the first long poll")
    api.standin.failures.append(ApiProblem(Kind.RATE_LIMITED, "slow down", {"Retry-After": "2"}))
    await api.standin.approve(api.standin.only().id, "mina")  # the poll returns, the next is 429
    await until(lambda: len(api.api_calls("GET")) >= 4, "the poll after the 429")
    await api.standin.approve(api.standin.only().id, "cdao")
    outcome = await finish(client)
    assert outcome.code == 0, outcome
    assert "HTTP 429 slow down); trying again in 2s" in outcome.out
    (limited,) = api.standin.failed_at
    after = min(c.at for c in api.api_calls("GET") if c.at > limited)
    assert after - limited >= 1.9  # no earlier than Retry-After said


async def test_it_rides_out_503s_and_a_restarted_server(api: Served) -> None:
    client = await start(*ASK, "--url", api.url, env=runner_env(SIGNOFF_TOKEN=TOKEN))
    await until(lambda: api.api_calls("GET"), "the first long poll")
    standin, port = api.standin, int(api.url.rsplit(":", 1)[1])
    standin.failures.append(ApiProblem(Kind.UNAVAILABLE, "database down"))
    await api.runner.cleanup()  # the long poll's connection drops; nothing listens a while
    restarted = await serve(standin, port)
    try:
        await until(lambda: len(standin.calls) >= 5, "polls after the restart")
        await standin.approve(standin.only().id, "mina")
        await standin.approve(standin.only().id, "cdao")
        outcome = await finish(client)
    finally:
        await restarted.runner.cleanup()
    assert outcome.code == 0, outcome
    assert "HTTP 503 database down" in outcome.out
