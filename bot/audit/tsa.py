"""RFC 3161 time-stamping with `rfc3161-client`: ask an authority for a token over a ledger
hash, and check a token against the trusted roots; imports no adapters and nothing above
storage.

The message stamped is the entry hash as its 64 ASCII hex digits, so an auditor can check a
token with OpenSSL alone: `printf %s HASH > head.txt; openssl ts -verify -data head.txt -in
token.tsr -CAfile roots.pem`. The entry's hash covers its `seq`, so a token speaks for one
place in the chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    Verifier,
    VerifierBuilder,
    decode_timestamp_response,
)

from workflows.ledger import format_time

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
# A TimeStampResp is a few kilobytes; anything far larger is not one.
MAX_REPLY_BYTES = 256 * 1024


class TokenError(Exception):
    """A token that does not prove what it should: unreadable, untrusted or over other data."""


class AuthorityUnavailable(Exception):
    """An authority that did not answer with a token: down, slow, or refusing."""


@dataclass(frozen=True)
class Stamp:
    """What a verified token says: when the authority saw the hash, and its serial number."""

    stamped_at: str
    serial: int


def message_for(entry_hash: str) -> bytes:
    return entry_hash.encode("ascii")


def token_digest(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


def load_roots(path: Path | str) -> list[x509.Certificate]:
    """The trusted roots in a PEM file; ValueError when it holds none."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the TSA roots file {path}: {error.strerror}") from None
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError:
        roots = []
    if not roots:
        raise ValueError(f"the TSA roots file {path} holds no PEM certificate")
    # The verifier refuses a root given twice; a bundle may well repeat one.
    return list(dict.fromkeys(roots))


def _verifier(roots: list[x509.Certificate], builder: VerifierBuilder | None = None) -> Verifier:
    builder = builder or VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    return builder.build()


def check_token(token: bytes, entry_hash: str, roots: list[x509.Certificate]) -> Stamp:
    """The token's stamp, if it is granted, signed by a key the roots certify for time-stamping,
    and over `entry_hash`; TokenError saying why not otherwise."""
    return _check(token, entry_hash, _verifier(roots))


def _check(token: bytes, entry_hash: str, verifier: Verifier) -> Stamp:
    try:
        response = decode_timestamp_response(token)
    except ValueError as error:
        raise TokenError(f"not an RFC 3161 time-stamp response ({error})") from None
    try:
        verifier.verify_message(response, message_for(entry_hash))
    except VerificationError as error:
        reason = str(error)
        if "Mismatch between messages" in reason:
            reason = "the token is over another hash"
        raise TokenError(reason) from None
    info = response.tst_info
    return Stamp(format_time(info.gen_time), info.serial_number)


async def request_token(
    session: aiohttp.ClientSession,
    url: str,
    entry_hash: str,
    roots: list[x509.Certificate],
    seconds: float = 10.0,
) -> tuple[bytes, Stamp]:
    """Ask the authority at `url` to stamp `entry_hash`; the token and its verified stamp.

    AuthorityUnavailable when it does not answer with a token (worth retrying); TokenError
    when it answers with one that does not verify (the nonce included).
    """
    request = (
        TimestampRequestBuilder()
        .data(message_for(entry_hash))
        .hash_algorithm(HashAlgorithm.SHA256)
        .build()
    )
    try:
        async with session.post(
            url,
            data=request.as_bytes(),
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as response:
            if response.status != 200:
                raise AuthorityUnavailable(f"HTTP {response.status}")
            body = await response.content.read(MAX_REPLY_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise AuthorityUnavailable(f"{type(error).__name__}: {error}".rstrip(": ")) from None
    if len(body) > MAX_REPLY_BYTES:
        raise TokenError("the answer is too large to be a time-stamp response")
    verifier = _verifier(roots, VerifierBuilder.from_request(request))
    return body, _check(body, entry_hash, verifier)
