"""A local RFC 3161 time-stamping authority over real HTTP: OpenSSL's `ts -reply` signs each
answer with a key that a test CA, made at fixture time, certifies for time-stamping.

`down` makes it answer 503, `fail_next` answers 503 that many times and then works again,
`delay` holds each answer back; the `tsa` fixture starts one, `other_tsa` one under another
root (untrusted by `tsa`'s roots).
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL_CONFIG = """
[ tsa ]
default_tsa = signoff_test_tsa
[ signoff_test_tsa ]
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
certs = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
other_policies = 1.3.6.1.4.1.55555.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

_KEY_USAGE = dict.fromkeys(
    (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ),
    False,
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_authority(directory: Path, name: str) -> Path:
    """A root CA and a time-stamping key it certifies, written to `directory`; the roots PEM."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} root"))
        .issuer_name(_name(f"{name} root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(**{**_KEY_USAGE, "key_cert_sign": True, "crl_sign": True}),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(**{**_KEY_USAGE, "digital_signature": True, "content_commitment": True}),
            critical=True,
        )
        # RFC 3161 2.3: the only purpose, and critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "root.pem").write_bytes(root.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(signer.public_bytes(pem))
    (directory / "tsa.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / "serial").write_text("01\n")
    (directory / "ts.cnf").write_text(OPENSSL_CONFIG.format(dir=directory))
    return directory / "root.pem"


@dataclass
class TsaStandIn:
    directory: Path
    name: str = "Signoff test TSA"
    down: bool = False
    fail_next: int = 0
    delay: float = 0.0  # seconds before each answer: a slow authority
    answered: int = 0
    refused: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _queries: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.roots = make_authority(self.directory, self.name)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._stamp)
        return app

    async def _stamp(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        if self.down or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            self.refused += 1
            return web.Response(status=503, text="time-stamping is down")
        if request.content_type != "application/timestamp-query":
            return web.Response(status=415)
        query = self.directory / f"q{next(self._queries)}.tsq"
        query.write_bytes(await request.read())
        reply = query.with_suffix(".tsr")
        async with self._lock:  # one serial file
            done = await asyncio.create_subprocess_exec(
                "openssl", "ts", "-reply", "-config", str(self.directory / "ts.cnf"),
                "-queryfile", str(query), "-out", str(reply),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            await done.wait()
        if done.returncode != 0:
            return web.Response(status=500, text="openssl ts -reply failed")
        self.answered += 1
        return web.Response(body=reply.read_bytes(), content_type="application/timestamp-reply")


async def serve_tsa(standin: TsaStandIn) -> AsyncIterator[str]:
    async with TestServer(standin.app()) as server:
        yield str(server.make_url("/"))


@dataclass
class RunningTsa:
    standin: TsaStandIn
    url: str

    @property
    def roots(self) -> Path:
        return self.standin.roots


@pytest.fixture
async def tsa(tmp_path: Path) -> AsyncIterator[RunningTsa]:
    standin = TsaStandIn(tmp_path / "tsa")
    async for url in serve_tsa(standin):
        yield RunningTsa(standin, url)


@pytest.fixture
async def other_tsa(tmp_path: Path) -> AsyncIterator[RunningTsa]:
    """An authority under a root of its own, which `tsa`'s roots do not trust."""
    standin = TsaStandIn(tmp_path / "other-tsa", name="Untrusted TSA")
    async for url in serve_tsa(standin):
        yield RunningTsa(standin, url)
