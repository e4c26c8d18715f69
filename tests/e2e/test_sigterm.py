"""``python -m service serve`` as a real process: it says where it listens, and SIGTERM ends an
open stream cleanly (status OK) and the process with exit status 0."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock, SystemClock
from aftersale.policy import DAY_MS
from service.api.tokens import token_of
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.redis_server import EmbeddedRedis
from tests.e2e.support import create_request, new_stub, unique

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (\S+:\d+)")


@pytest.fixture
async def served(
    tmp_path: Path, redis_server: EmbeddedRedis, redis: Redis
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str, Path]]:
    """The service process (on the test Redis, any free port), its address and data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
    env |= {
        "REDIS_URL": redis_server.url,
        "AFTERSALE_LISTEN": "127.0.0.1:0",
        "AFTERSALE_DATA_DIR": str(tmp_path / "data"),
        "AFTERSALE_LOG_LEVEL": "INFO",
        "AFTERSALE_METRICS_LISTEN": "127.0.0.1:0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        address = ""
        while not address:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            if not line:
                assert process.stderr is not None
                failure = (await process.stderr.read()).decode()
                raise AssertionError(f"the service exited before it listened:\n{failure}")
            found = LISTENING.search(line.decode())
            address = found.group(1) if found else ""
        yield process, address, tmp_path / "data"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_during_a_stream_ends_it_cleanly_and_exits_zero(
    served: tuple[asyncio.subprocess.Process, str, Path],
) -> None:
    process, address, data_dir = served
    tokens = data_dir / "tokens.json"
    ops = [("authorization", f"Bearer {token_of(tokens, service='ops')}")]
    buyer = [("authorization", f"Bearer {token_of(tokens, service='order-system')}")]
    async with grpc.aio.insecure_channel(address) as channel:
        stub = new_stub(channel)
        request = create_request(
            order_id=unique("order"), sku_id="sku-1", shop_id="shop-1", clock=FakeClock()
        )
        request.after_sale_deadline.FromMilliseconds(SystemClock().now_ms() + DAY_MS)
        await stub.CreateAfterSale(request, metadata=[*buyer, ("x-actor-id", "buyer-1")])
        stream = stub.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True), metadata=ops)
        first = await asyncio.wait_for(stream.read(), timeout=30)  # the stream is open

        process.send_signal(signal.SIGTERM)
        end = await asyncio.wait_for(stream.read(), timeout=30)
        code = await stream.code()

    status = await asyncio.wait_for(process.wait(), timeout=30)
    assert first.event.action == t.ACTION_APPLY
    assert end is grpc.aio.EOF
    assert code == grpc.StatusCode.OK
    assert status == 0
    assert process.stderr is not None
    log = (await process.stderr.read()).decode()
    assert "stopping on signal" in log
    assert "Traceback" not in log
