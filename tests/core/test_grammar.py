"""The command grammar: good input parses exactly, anything else is a GrammarError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.grammar import (
    CancelRequest,
    CloseIncident,
    GrammarError,
    Help,
    ListReviews,
    OpenIncident,
    ParsedCommand,
    RequestApproval,
    Review,
    ShowRaci,
    ShowStatus,
    help_text,
    parse,
)

GOOD: list[tuple[str, ParsedCommand]] = [
    (
        "deploy credit-scoring 2.3.1 to prod -- quarterly retrain",
        RequestApproval("deploy", "credit-scoring", "2.3.1", "prod", "quarterly retrain"),
    ),
    ("deploy credit-scoring 2.3.1", RequestApproval("deploy", "credit-scoring", "2.3.1")),
    (
        "  DEPLOY  Credit-Scoring\t2.3.1+build.7  TO  Prod ",
        RequestApproval("deploy", "credit-scoring", "2.3.1+build.7", "prod"),
    ),
    (
        "/signoff deploy doc-search v4 -- a -- b",
        RequestApproval("deploy", "doc-search", "v4", None, "a -- b"),
    ),
    ("signoff deploy doc-search v4 --", RequestApproval("deploy", "doc-search", "v4")),
    ("deploy", RequestApproval("deploy", None, None)),
    ("deploy credit-scoring", RequestApproval("deploy", "credit-scoring", None)),
    (
        "incident credit-scoring sev2 scores drifting for new applicants",
        OpenIncident("credit-scoring", "sev2", "scores drifting for new applicants"),
    ),
    (
        "incident credit-scoring SEV1 -- outage <!channel>",
        OpenIncident("credit-scoring", "sev1", "outage <!channel>"),
    ),
    (
        "incident close INC-20261124-1 -- rolled back",
        CloseIncident("INC-20261124-1", "rolled back"),
    ),
    ("review credit-scoring", Review("credit-scoring")),
    ("reviews", ListReviews()),
    ("raci support-chatbot", ShowRaci("support-chatbot")),
    ("status", ShowStatus()),
    ("cancel RX4K9M2P7QZ -- wrong version", CancelRequest("RX4K9M2P7QZ", "wrong version")),
    ("", Help()),
    ("/signoff", Help()),
    ("help deploy", Help("deploy")),
    ("help Credit-Scoring", Help("credit-scoring")),
    (
        "request data-access credit-scoring -- fraud study",
        RequestApproval("data-access", "credit-scoring", None, None, "fraud study"),
    ),
    (
        "request prompt-change support-bot v12 to prod",
        RequestApproval("prompt-change", "support-bot", "v12", "prod"),
    ),
    (
        "REQUEST Data-Access credit-scoring TO staging",
        RequestApproval("data-access", "credit-scoring", None, "staging"),
    ),
    (
        "request deploy credit-scoring 2.3.1",
        RequestApproval("deploy", "credit-scoring", "2.3.1"),
    ),
    ("request", RequestApproval(None, None)),
    ("request data-access", RequestApproval("data-access", None)),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_good_input(text: str, expected: ParsedCommand) -> None:
    assert parse(text) == expected


def test_a_deploy_with_arguments_missing_is_incomplete() -> None:
    assert not parse("deploy credit-scoring").complete  # type: ignore[union-attr]
    assert parse("deploy credit-scoring 1").complete  # type: ignore[union-attr]


def test_a_request_needs_its_activity_and_system_and_a_deployment_its_version() -> None:
    assert not parse("request").complete  # type: ignore[union-attr]
    assert not parse("request data-access").complete  # type: ignore[union-attr]
    assert parse("request data-access credit-scoring").complete  # type: ignore[union-attr]
    assert not parse("request deploy credit-scoring").complete  # type: ignore[union-attr]


BAD: list[tuple[str, str]] = [
    ("deploy credit-scoring 2.3.1 to prod rm -rf", "Unexpected 'rm -rf'"),
    ("deploy credit-scoring 2.3.1;", "'2.3.1;' is not a valid version"),
    ("deploy credit-scoring 2.3.1 prod", "write 'to <env>'"),
    ("deploy credit-scoring 2.3.1 to", "write 'to <env>'"),
    ("deploy ../etc 1", "'../etc' is not a valid system name"),
    ("deploy credit-scoring 1 -- " + "x" * 2001, "longer than 2000"),
    ("incident credit-scoring sev5 down", "not a valid severity"),
    ("incident credit-scoring sev1", "what is happening"),
    ("incident close INC-1", "give its id, then -- and a summary"),
    ("review", "Name the system"),
    ("review a b", "Unexpected 'b'"),
    ("raci x -- y", "no text after --"),
    ("status now", "takes no arguments"),
    ("cancel R1%00", "not a valid request id"),
    ("cancel ../R1", "not a valid request id"),
    ("approve R1; /signoff approve R2", "Unknown command 'approve'"),
    ("help me please", "no help on 'me please'"),
    ("help ../x", "no help on '../x'"),
    ("request data-access credit-scoring 1 prod", "write 'to <env>'"),
    ("request data-access credit-scoring to", "write 'to <env>'"),
    ("request data-access credit-scoring to prod now", "Unexpected 'now'"),
    ("request data/access credit-scoring", "not a valid activity"),
    ("deploy credit-scoring 1\x00", "invisible"),
    ("deploy prod\u202etxt 1", "invisible"),
    ("deploy cre\u200bdit 1", "invisible"),
    ("deploy " + "a" * 500 + " 1", "not a valid system name"),
]


@pytest.mark.parametrize(("text", "phrase"), BAD)
def test_bad_input_is_explained(text: str, phrase: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse(text)
    assert phrase in caught.value.message
    assert len(caught.value.message) < 400


def test_errors_carry_the_usage_line() -> None:
    with pytest.raises(GrammarError) as caught:
        parse("deploy credit-scoring 2.3.1 prod")
    assert "Usage: deploy <system> <version> [to <env>] [-- <reason>]" in caught.value.message


def test_help_text_lists_every_command() -> None:
    text = help_text()
    for word in (
        "deploy",
        "request",
        "incident",
        "review",
        "reviews",
        "raci",
        "status",
        "cancel",
        "help",
    ):
        assert f"\n{word}" in "\n" + text
    assert help_text("raci").startswith("raci <system>\n")


@given(st.text(max_size=300))
def test_anything_either_parses_or_is_a_grammar_error(text: str) -> None:
    try:
        result = parse(text)
    except GrammarError as error:
        assert error.message
        return
    assert isinstance(result, ParsedCommand)
