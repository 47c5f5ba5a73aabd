"""Who sees what, when the console runs at all, and the session cookie's guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from adapters.console.session import COOKIE, SessionCodec, csrf_matches
from bot.platforms.console import console_mode, is_loopback, session_codec
from bot.services.console_access import (
    may_export,
    may_see_request,
    may_see_system_activity,
    overseen_systems,
    systems_of_interest,
)
from bot.settings import Settings
from tests.console.site import POLICY_FILE, console_policy
from tests.policies import actor, build_policy
from workflows.commands import OpenRequest
from workflows.machine import step
from workflows.model import Actor, ApprovalRequest
from workflows.policy_load import PolicyError, load_policy

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
POLICY = console_policy().current.policy


def _request(requester: str = "jae", system: str = "scoring") -> ApprovalRequest:
    command = OpenRequest(
        request_id="R1",
        actor=Actor(person=requester, platform="web", platform_user_id=requester),
        system=system,
        version="1",
    )
    result = step(None, command, POLICY, NOW, "d" * 64)
    assert result.state is not None, result.outcome
    return result.state


def test_auditors_see_everything_and_alone_may_export() -> None:
    state = _request()
    assert may_see_request(POLICY, "lena", state)
    assert overseen_systems(POLICY, "lena") == {"scoring", "search"}
    assert may_export(POLICY, "lena")
    assert not may_export(POLICY, "mina") and not may_export(POLICY, None)


def test_the_accountable_oversee_their_system_and_only_theirs() -> None:
    assert overseen_systems(POLICY, "mina") == {"scoring"}
    assert overseen_systems(POLICY, "kim") == {"search"}
    assert may_see_request(POLICY, "kim", _request("priya", "search"))
    assert not may_see_request(POLICY, "kim", _request())
    assert may_see_system_activity(POLICY, "mina", "scoring", "risk-review")
    assert not may_see_system_activity(POLICY, "priya", "scoring", "incident")


def test_others_see_what_involves_them() -> None:
    state = _request()
    assert may_see_request(POLICY, "jae", state)  # asked
    assert may_see_request(POLICY, "dan", state)  # consulted
    assert not may_see_request(POLICY, "priya", state)
    assert not may_see_request(POLICY, None, state)


def test_local_mode_runs_only_on_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert console_mode(Settings(host="127.0.0.1"))[0] == "local"
    with pytest.raises(ValueError, match=r"HOST=0\.0\.0\.0 is not a loopback address"):
        console_mode(Settings(host="0.0.0.0", signoff_console="local"))
    # Unasked, a container's 0.0.0.0 has no console rather than an open one.
    mode, line = console_mode(Settings(host="0.0.0.0"))
    assert mode is None and "off on 0.0.0.0 without sign-in" in line
    assert console_mode(Settings(host="127.0.0.1", signoff_console="off"))[0] is None


def test_a_sign_in_needs_a_secret_and_its_cookie_is_secure_off_loopback() -> None:
    settings = Settings(host="0.0.0.0", signoff_console_oidc_issuer="https://id.example")
    assert console_mode(settings)[0] == "oidc"
    with pytest.raises(ValueError, match="SIGNOFF_CONSOLE_SECRET"):
        session_codec(settings, "oidc")
    secret = "s" * 40
    codec = session_codec(
        Settings(host="0.0.0.0", signoff_console_secret=secret),
        "oidc",
    )
    response = web.Response()
    codec.write(response, codec.new(NOW))
    cookie = response.cookies[COOKIE]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def _cookie_request(value: str) -> web.Request:
    return make_mocked_request("GET", "/", headers={"Cookie": f"{COOKIE}={value}"})


def test_a_session_cookie_changed_forged_or_expired_is_no_session() -> None:
    codec = SessionCodec(b"k" * 32, timedelta(hours=8), secure=False)
    session = codec.new(NOW)
    response = web.Response()
    codec.write(response, session)
    value = response.cookies[COOKIE].value
    assert codec.read(_cookie_request(value), NOW) == session
    assert codec.read(_cookie_request(value), NOW + timedelta(hours=8)) is None
    header, claims, signature = value.split(".")
    assert codec.read(_cookie_request(f"{header}.{claims}.{signature[::-1]}"), NOW) is None
    other = SessionCodec(b"x" * 32, timedelta(hours=8), secure=False)
    assert other.read(_cookie_request(value), NOW) is None
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, session.csrf[:-1] + "x") and not csrf_matches(None, "a")


def test_the_policy_names_only_known_people_as_auditors() -> None:
    text = POLICY_FILE.read_text().replace("auditors: [lena]", "auditors: [lena, zoe]")
    with pytest.raises(PolicyError) as caught:
        load_policy(text, "policy.yaml")
    [problem] = caught.value.problems
    assert "unknown person 'zoe'" in str(problem) and problem.line == text.count("\n")


def test_the_backup_sees_a_request_once_it_is_escalated_to_them() -> None:
    policy = build_policy()
    command = OpenRequest(request_id="R2", actor=actor("soo"), system="credit-scoring",
                          version="1")  # fmt: skip
    state = step(None, command, policy, NOW, "d" * 64).state
    assert state is not None
    assert not may_see_request(policy, "cdao", state)
    assert may_see_request(policy, "cdao", state.model_copy(update={"escalated": True}))


def test_lists_are_narrowed_to_the_systems_where_a_person_may_see_something() -> None:
    assert systems_of_interest(POLICY, "lena") is None  # an auditor: everywhere
    assert systems_of_interest(POLICY, "priya") == frozenset({"search"})
    assert systems_of_interest(POLICY, "dan") == frozenset({"scoring"})
    assert systems_of_interest(POLICY, None) == frozenset()
    assert systems_of_interest(build_policy(), "cdao") == frozenset(
        {"credit-scoring", "support-bot", "doc-search"}
    )
