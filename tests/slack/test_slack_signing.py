"""Slack request signatures: the documented vector, and malformed input refused, never raised."""

from __future__ import annotations

import hmac

import pytest

from adapters.slack.signing import SigningSecrets, check_signature, sign

# The worked example of Slack's "Verifying requests from Slack".
SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
NOW = float(TIMESTAMP)


def check(
    timestamps: list[str] | None = None,
    signatures: list[str] | None = None,
    body: bytes = BODY,
    now: float = NOW,
) -> tuple[bool, str]:
    result = check_signature(
        [SECRET],
        [TIMESTAMP] if timestamps is None else timestamps,
        [EXPECTED] if signatures is None else signatures,
        body,
        now,
    )
    return result.ok, result.reason


def test_sig_01_the_documented_vector() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == EXPECTED
    assert check() == (True, "signed by Slack")
    assert check(body=BODY.replace(b"roadrunner", b"roadrunnes"))[0] is False


@pytest.mark.parametrize(("skew", "ok"), [(-301, False), (-300, True), (300, True), (301, False)])
def test_sig_03_04_the_five_minute_window(skew: int, ok: bool) -> None:
    stamp = str(int(NOW) + skew)
    assert check([stamp], [sign(SECRET, stamp, BODY)])[0] is ok


@pytest.mark.parametrize(
    "timestamp", ["abc", "1e9", "1531420618.5", "-1", " 1531420618", "\uff19\uff19", ""]
)
def test_sig_06_odd_timestamps_are_refused(timestamp: str) -> None:
    ok, reason = check([timestamp])
    assert not ok and "timestamp" in reason.lower()


@pytest.mark.parametrize(
    "signature",
    ["v0=\xff" + "a" * 63, "v1=" + EXPECTED[3:], EXPECTED[3:], EXPECTED[:-1], EXPECTED.upper()],
)
def test_sig_07_odd_signatures_are_refused(signature: str) -> None:
    assert check(signatures=[signature])[0] is False


def test_sig_08_missing_headers() -> None:
    assert check(timestamps=[]) == (False, "missing X-Slack-Request-Timestamp")
    assert check(signatures=[]) == (False, "missing X-Slack-Signature")


def test_sig_09_a_body_that_is_not_utf8_is_just_bytes() -> None:
    body = b"payload=\xff\xfe"
    assert check(signatures=[sign(SECRET, TIMESTAMP, body)], body=body)[0] is True
    assert check(body=body)[0] is False


def test_sig_11_repeated_headers_are_refused() -> None:
    assert check(signatures=[EXPECTED, EXPECTED]) == (False, "more than one X-Slack-Signature")


def test_sig_13_a_reserialised_body_does_not_verify() -> None:
    reordered = b"&".join(sorted(BODY.split(b"&")))
    assert check(body=reordered)[0] is False


def test_sig_14_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert check()[0]
    assert len(seen) == 1 and all(isinstance(x, bytes) and len(x) == 67 for x in seen[0])


def test_sig_15_an_empty_secret_refuses_everything() -> None:
    for secrets in ([b"  "], [b""], []):
        result = check_signature(secrets, [TIMESTAMP], [EXPECTED], BODY, NOW)
        assert not result.ok and "no signing secret" in result.reason


def test_sig_16_the_previous_secret_counts_only_until_the_overlap_ends() -> None:
    rotation = SigningSecrets(current=b"the-new-secret", previous=SECRET, previous_until=NOW + 60)
    during = check_signature(rotation.accepted(NOW), [TIMESTAMP], [EXPECTED], BODY, NOW)
    assert during.ok
    later = NOW + 61
    stamp = str(int(later))
    old_signature = sign(SECRET, stamp, BODY)
    after = check_signature(rotation.accepted(later), [stamp], [old_signature], BODY, later)
    assert not after.ok and after.kind == "bad-signature"
    new_signature = sign(b"the-new-secret", stamp, BODY)
    assert check_signature(rotation.accepted(later), [stamp], [new_signature], BODY, later).ok


def test_sig_17_a_skewed_clock_is_named_as_such() -> None:
    result = check_signature([SECRET], [TIMESTAMP], [EXPECTED], BODY, NOW + 6 * 60)
    assert not result.ok and result.kind == "clock-skew"
