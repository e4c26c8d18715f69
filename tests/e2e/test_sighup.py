"""``python -m service serve`` as a real process with its embedded Redis: SIGHUP reads the
tokens file again (a new token works without a restart, a broken file keeps the tokens in
use), the process lives on, ``python -m service health`` exits 0 against it, and SIGTERM
still ends it cleanly (exit 0, its redis-server stopped)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.redis_binary import process_alive
from tests.e2e.support import new_stub, rpc_error

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (\S+:\d+)")


@dataclass
class Served:
    process: asyncio.subprocess.Process
    address: str
    data_dir: Path
    env: dict[str, str]
    log: list[str] = field(default_factory=list)  # stderr, drained so it never blocks

    @property
    def tokens(self) -> Path:
        return self.data_dir / "tokens.json"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
    env.pop("REDIS_URL", None)  # the embedded Redis, in the test's data dir
    env |= {"AFTERSALE_LISTEN": "127.0.0.1:0", "AFTERSALE_DATA_DIR": str(tmp_path / "data")}
    env["AFTERSALE_METRICS_LISTEN"] = "127.0.0.1:0"  # never the default port another holds
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    log: list[str] = []
    stderr = process.stderr

    async def drain() -> None:
        async for line in stderr:
            log.append(line.decode(errors="replace"))

    draining = asyncio.create_task(drain())
    try:
        address = ""
        while not address:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "the service exited before it listened:\n" + "".join(log)
            found = LISTENING.search(line.decode())
            address = found.group(1) if found else ""
        yield Served(process, address, tmp_path / "data", env, log)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await draining


def add_token(tokens: Path, service: str, roles: list[str]) -> str:
    """Add a token to the file, as an operator would (rewrite, then rename into place)."""
    document = json.loads(tokens.read_text())
    token = secrets.token_urlsafe(24)
    document[token] = {"service": service, "roles": roles}
    replacement = tokens.with_suffix(".new")
    replacement.write_text(json.dumps(document))
    replacement.replace(tokens)
    return token


async def catalogue(address: str, token: str) -> object:
    async with grpc.aio.insecure_channel(address) as channel:
        request = pb.ListRejectReasonsRequest()
        return await new_stub(channel).ListRejectReasons(
            request, metadata=[("authorization", f"Bearer {token}")], timeout=10
        )


async def eventually_accepted(address: str, token: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        try:
            await catalogue(address, token)
            return
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert loop.time() < deadline, "the new token was not accepted after SIGHUP"
            await asyncio.sleep(0.05)


async def test_sighup_adds_a_token_without_a_restart(served: Served) -> None:
    token = add_token(served.tokens, "reporting", ["PLATFORM"])
    before = await rpc_error(catalogue(served.address, token))

    served.process.send_signal(signal.SIGHUP)
    await eventually_accepted(served.address, token)
    served.tokens.write_text("{ not json")  # a broken edit ...
    served.process.send_signal(signal.SIGHUP)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not any("tokens not reloaded" in line for line in served.log):
        assert loop.time() < deadline, "no word about the broken tokens file"
        await asyncio.sleep(0.05)
    still = await catalogue(served.address, token)  # ... keeps the tokens in use
    health = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "health", "--address", served.address,
        cwd=REPO, env=served.env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    health_out, _ = await health.communicate()
    redis_pid = int((served.data_dir / "redis" / "redis.pid").read_text())

    served.process.send_signal(signal.SIGTERM)
    status = await asyncio.wait_for(served.process.wait(), timeout=30)

    assert before.code() == grpc.StatusCode.UNAUTHENTICATED
    assert still is not None
    assert (health.returncode, health_out.decode().strip()) == (0, "SERVING")
    assert status == 0
    assert not process_alive(redis_pid)
    log = "".join(served.log)
    assert "tokens reloaded" in log and "services=ops, order-system, payment, reporting" in log
    assert "Traceback" not in log
