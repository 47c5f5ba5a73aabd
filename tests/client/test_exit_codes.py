"""Each outcome is its own exit code, and every way to fail is non-zero: 0 approved, 1 rejected,
2 expired, 3 cancelled, 4 refused, 5 pending at --timeout, 64 usage, 69 unreachable."""

from __future__ import annotations

import pytest

from adapters.api.problems import ApiProblem, Kind
from tests.client.bare import finish, run, runner_env, start, until
from tests.client.standin import TOKEN, Served

ASK = ("request", "deploy", "--system", "credit-scoring", "--version", "1.4.2")


def _args(api: Served, *more: str) -> tuple[str, ...]:
    return (*ASK, "--environment", "production", "--url", api.url, *more)


def _env() -> dict[str, str]:
    return runner_env(SIGNOFF_TOKEN=TOKEN)


async def test_an_approved_request_exits_0_naming_its_approvers(api: Served) -> None:
    client = await start(*_args(api, "--wait"), env=_env())
    await until(lambda: api.standin.requests, "the request opened")
    request = api.standin.only()
    await api.standin.approve(request.id, "mina", "slack")
    await api.standin.approve(request.id, "cdao", "teams", comment="bias audit signed")
    outcome = await finish(client)
    assert outcome.code == 0, outcome
    assert f"Opened request {request.id}: deploy credit-scoring 1.4.2 to production" in outcome.out
    assert "Approved by mina (slack)" in outcome.out
    assert "Approved by cdao (teams)" in outcome.out and ': "bias audit signed"' in outcome.out
    assert (
        "Approved by mina, cdao: deploy credit-scoring 1.4.2 to production. "
        "(cdao: bias audit signed)" in outcome.out
    )


async def test_a_rejected_request_exits_1_with_the_reason(api: Served) -> None:
    client = await start(*_args(api, "--wait"), env=_env())
    await until(lambda: api.standin.requests, "the request opened")
    await api.standin.reject(api.standin.only().id, "mina", "bias audit not signed")
    outcome = await finish(client)
    assert outcome.code == 1, outcome
    assert "Rejected by mina: bias audit not signed" in outcome.out


async def test_an_expired_request_exits_2(api: Served) -> None:
    client = await start(*_args(api, "--wait"), env=_env())
    await until(lambda: api.standin.requests, "the request opened")
    await api.standin.change(api.standin.only().id, status="expired", waiting_for=None)
    outcome = await finish(client)
    assert outcome.code == 2, outcome
    assert "nobody decided in time" in outcome.out


async def test_a_request_cancelled_in_signoff_exits_3(api: Served) -> None:
    client = await start(*_args(api, "--wait"), env=_env())
    await until(lambda: api.standin.requests, "the request opened")
    await api.standin.change(api.standin.only().id, status="cancelled", waiting_for=None)
    outcome = await finish(client)
    assert outcome.code == 3, outcome
    assert "Cancelled" in outcome.out


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        (ApiProblem(Kind.NOT_ALLOWED, "credit-ci may not ask for deploy"), "may not ask"),
        (ApiProblem(Kind.FROZEN, "incident inc-7 is open"), "Frozen by an incident: incident"),
        (ApiProblem(Kind.INVALID_FIELD, "version: too long"), "Invalid field: version"),
        (ApiProblem(Kind.KEY_REUSED, "another body"), "Idempotency-Key reused"),
    ],
)
async def test_a_request_refused_when_opening_exits_4_saying_why(
    api: Served, refusal: ApiProblem, said: str
) -> None:
    api.standin.refusal = refusal
    outcome = await run(*_args(api, "--wait"), env=_env())
    assert outcome.code == 4, outcome
    assert said in outcome.out
    assert api.standin.requests == {}


async def test_an_unknown_token_or_system_exits_4(api: Served) -> None:
    outcome = await run(*_args(api), env=runner_env(SIGNOFF_TOKEN="so_forged"))
    assert outcome.code == 4, outcome
    assert "Not authenticated" in outcome.out
    unknown = ("request", "deploy", "--system", "nope", "--version", "1", "--url", api.url)
    outcome = await run(*unknown, env=_env())
    assert (outcome.code, "Unknown system: no system nope" in outcome.out) == (4, True), outcome


async def test_a_request_still_pending_at_the_timeout_exits_5(api: Served) -> None:
    outcome = await run(*_args(api, "--wait", "--timeout", "2s"), env=_env())
    assert outcome.code == 5, outcome
    assert "Still pending at --timeout" in outcome.out
    assert api.standin.only().status == "pending"  # a retried step resumes it


async def test_without_wait_a_pending_request_exits_5_not_0(api: Served) -> None:
    outcome = await run(*_args(api), env=_env())
    assert outcome.code == 5, outcome
    assert api.standin.only().status == "pending"
    assert f"signoff status {api.standin.only().id} --wait" in outcome.out
    assert "--timeout" not in outcome.out  # none was given: no advice about it


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (("request", "deploy", "--version", "1"), {}, "--system"),
        ((*ASK, "--artifact", "sha256:XYZ"), {}, "64 lower-case hex digits"),
        ((*ASK, "--timeout", "soon"), {}, "not a duration"),
        ((*ASK, "--oidc", "github", "--token-env", "T"), {}, "not allowed with argument"),
        ((*ASK, "--url", "ftp://signoff"), {}, "--url must be"),
        (ASK, {"SIGNOFF_URL": ""}, "--url must be"),
        ((*ASK, "--url", "https://signoff.example"), {"SIGNOFF_TOKEN": ""}, "no token"),
        ((*ASK, "--url", "https://signoff.example", "--oidc", "github"), {}, "id-token: write"),
        (("cancel", "r-1", "--url", "https://signoff.example"), {}, "--reason"),
        (("approve", "r-1"), {}, "invalid choice"),
    ],
)
async def test_a_usage_error_exits_64_and_asks_nothing(
    api: Served, args: tuple[str, ...], env: dict[str, str], said: str
) -> None:
    outcome = await run(*args, env=runner_env(**{"SIGNOFF_TOKEN": TOKEN, **env}))
    assert outcome.code == 64, outcome
    assert said in outcome.err
    assert api.standin.calls == []


async def test_an_unreachable_signoff_exits_69_whatever_the_flags(api: Served) -> None:
    url = api.url
    await api.runner.cleanup()  # nothing listens there any more
    for more in ((), ("--wait",), ("--json",)):
        outcome = await run(*ASK, "--url", url, "--timeout", "2s", *more, env=_env())
        assert outcome.code == 69, outcome
        assert "Nothing proceeds without it" in outcome.out + outcome.err


async def test_a_signoff_answering_503_until_the_timeout_exits_69(api: Served) -> None:
    api.standin.failures = [ApiProblem(Kind.UNAVAILABLE, "database down")] * 100
    outcome = await run(*_args(api, "--wait", "--timeout", "3s"), env=_env())
    assert outcome.code == 69, outcome
    assert "HTTP 503 database down" in outcome.out
    assert len(api.api_calls("POST")) >= 2  # retried, with backoff, until the timeout
