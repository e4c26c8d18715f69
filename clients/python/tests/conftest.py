"""The server under test: ``python -m service serve`` from the repository's .venv (or
``SERVER_PYTHON``), a subprocess for the whole session, on a free port, with its embedded
Redis in a temporary data directory and a tokens file written here. Nothing of the server is
imported: this suite runs in the client's own venv (``make test-client``).

Each test uses fresh order, shop and buyer ids, so tests share the server without sharing
requests.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftersale_client import Actor, AfterSaleClient
from tests.support import Parties, unique

REPO = Path(__file__).resolve().parents[3]
SERVER_PYTHON = os.environ.get("SERVER_PYTHON") or str(REPO / ".venv" / "bin" / "python")
LISTENING = re.compile(r"listening on (\S+:\d+)")
SERVICES = {"order-system": ["BUYER", "MERCHANT"], "payment": ["PAYMENT"], "ops": ["PLATFORM"]}
START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Server:
    """The running server: its address and the token of each calling service."""

    address: str
    tokens: dict[str, str]
    log: Path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("server")
    tokens = {service: secrets.token_urlsafe(24) for service in SERVICES}
    tokens_file = directory / "tokens.json"
    tokens_file.write_text(json.dumps(
        {token: {"service": s, "roles": SERVICES[s]} for s, token in tokens.items()}
    ))  # fmt: skip
    tokens_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
    env.pop("REDIS_URL", None)  # the embedded Redis, in the data directory
    env |= {
        "AFTERSALE_LISTEN": "127.0.0.1:0",
        "AFTERSALE_DATA_DIR": str(directory / "data"),
        "AFTERSALE_TOKENS_FILE": str(tokens_file),
        "AFTERSALE_METRICS_LISTEN": "127.0.0.1:0",
        "AFTERSALE_TIMERS": "0",
        # Subscriptions: a consumer that vanished, or an unacknowledged event, comes back soon.
        "AFTERSALE_SUBSCRIPTION_ACK_DEADLINE_S": "1",
        "AFTERSALE_SUBSCRIPTION_LEASE_S": "1",
        "PYTHONUNBUFFERED": "1",
    }
    out, log = directory / "stdout.log", directory / "stderr.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        process = subprocess.Popen(
            [SERVER_PYTHON, "-m", "service", "serve"], cwd=REPO, env=env,
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    try:
        yield Server(_address(process, out, log), tokens, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _address(process: subprocess.Popen[bytes], out: Path, log: Path) -> str:
    """The address the server prints once it serves (it starts its Redis first)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = LISTENING.search(out.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the server did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
async def client(server: Server) -> AsyncIterator[AfterSaleClient]:
    """A client of the order system, speaking for no one until told."""
    async with AfterSaleClient(server.address, token=server.tokens["order-system"]) as opened:
        yield opened


@pytest.fixture
def parties(server: Server, client: AfterSaleClient) -> Parties:
    """A buyer, a shop, the payment service and ops, on a fresh order."""
    shop_id, buyer_id = unique("shop"), unique("buyer")
    return Parties(
        buyer=client.acting_as(Actor.buyer(buyer_id)),
        shop=client.acting_as(Actor.merchant(shop_id)),
        payment=client.acting_as(Actor.payment(), token=server.tokens["payment"]),
        ops=client.acting_as(Actor.platform("ops-1"), token=server.tokens["ops"]),
        order_id=unique("order"),
        shop_id=shop_id,
        buyer_id=buyer_id,
    )
