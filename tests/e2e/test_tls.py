"""TLS (DESIGN §6): the server presents its certificate and, with a client CA, requires client
certificates. Certificates are made with the ``openssl`` command (skipped without it)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.api.server import TlsError
from service.api.tokens import token_of
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from tests.e2e.support import new_stub

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


def signed(directory: Path, name: str, subject: str, extensions: str = "") -> None:
    """``name``.key and ``name``.pem, signed by ca.pem."""
    openssl(
        directory, "req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject
    )
    extra = []
    if extensions:
        (directory / f"{name}.ext").write_text(extensions)
        extra = ["-extfile", f"{name}.ext"]
    openssl(
        directory, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", *extra,
    )  # fmt: skip


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    directory.mkdir()
    openssl(directory, "req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=aftersale-test-ca")  # fmt: skip
    signed(directory, "server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    signed(directory, "client", "/CN=order-system")
    return directory


@pytest.fixture
async def tls_app(tmp_path: Path, certificates: Path, redis: Redis) -> AsyncIterator[App]:
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        metrics_listen="",
        tls_cert=certificates / "server.pem",
        tls_key=certificates / "server.key",
        tls_client_ca=certificates / "ca.pem",
    )
    app = await build(settings, clock=FakeClock(), redis=redis)
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace_s=1.0)


async def reasons(app: App, credentials: object) -> int:
    token = token_of(app.settings.tokens_path, service="ops")
    async with grpc.aio.secure_channel(app.address, credentials) as channel:
        reply = await new_stub(channel).ListRejectReasons(
            pb.ListRejectReasonsRequest(), metadata=[("authorization", f"Bearer {token}")]
        )
    return len(reply.reasons)


async def test_a_client_with_a_certificate_from_the_ca_is_served(
    tls_app: App, certificates: Path
) -> None:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certificates / "ca.pem").read_bytes(),
        private_key=(certificates / "client.key").read_bytes(),
        certificate_chain=(certificates / "client.pem").read_bytes(),
    )

    assert await reasons(tls_app, credentials) == 6


async def test_a_client_without_a_certificate_is_refused(tls_app: App, certificates: Path) -> None:
    credentials = grpc.ssl_channel_credentials((certificates / "ca.pem").read_bytes())

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await reasons(tls_app, credentials)

    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("cert", "key", "named", "problem"),
    [
        ("garbage.pem", "server.key", "garbage.pem", "not a PEM certificate"),
        ("server.pem", "garbage.pem", "garbage.pem", "not a PEM private key"),
        ("server.pem", "client.key", "client.key", "not the key of the certificate"),
        ("server.pem", "missing.key", "missing.key", "no such file"),
    ],
    ids=["garbage-cert", "garbage-key", "mismatched-key", "missing-key"],
)
async def test_a_bad_key_pair_is_named_before_binding(
    tmp_path: Path, certificates: Path, redis: Redis, cert: str, key: str, named: str, problem: str
) -> None:
    (certificates / "garbage.pem").write_text("not a certificate\n")
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        metrics_listen="",
        tls_cert=certificates / cert,
        tls_key=certificates / key,
    )

    with pytest.raises(TlsError) as caught:
        await build(settings, clock=FakeClock(), redis=redis)

    assert named in str(caught.value)
    assert problem in str(caught.value)
    assert "bind" not in str(caught.value)
