"""Redis restarted while a subscription delivers (issue 10, "Done when"): two payment consumer
processes share the ``payment`` subscription during a burst of refund requests; Redis goes
down mid-burst — SIGKILL with ``appendfsync always`` (a crash that loses no acknowledged
write) — and comes back on the same files. Every refund acknowledged to its caller reaches a
consumer (after dedupe by ``refund_id``): the consumer groups, their pending entries and the
leases live in Redis and survive it; the service and the consumers ride out the outage.

``make test`` runs 120 refunds; the ``chaos`` run 2,000.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.redis_server import EmbeddedRedis
from tests.e2e.support import Api
from tests.reliability.test_subscription_kill import (
    START_MS,
    ConsumerProcess,
    new_stub,
    refund,
    until,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path / "redis", options=("--appendfsync", "always"))
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def app(server: EmbeddedRedis, tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        redis_url=server.url,
        timers_enabled=False,
        metrics_listen="127.0.0.1:0",
        shards=16,
        log_level="WARNING",
        subscription_ack_deadline_s=2.0,
        subscription_lease_s=1.5,
    )
    service = await build(settings, clock=FakeClock(START_MS))
    await service.start()
    try:
        yield service
    finally:
        await service.stop(grace_s=1.0)


async def refund_riding_out(api: Api) -> str:
    """A refund request, retried while Redis is away (a refused call changed nothing)."""
    for _ in range(200):
        try:
            return await refund(api)
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED):
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("Redis did not come back")


async def both_hold_shards(ops: Any, metadata: list[tuple[str, str]]) -> None:
    """Until the two consumer processes (slow to start on a busy machine) share the shards."""
    deadline = asyncio.get_running_loop().time() + 120
    while True:
        reply = await ops.GetSubscription(
            sp.GetSubscriptionRequest(name="payment"), metadata=metadata
        )
        shards = [c.shards for c in reply.state.consumers]
        if len(shards) == 2 and all(shards):
            return
        assert asyncio.get_running_loop().time() < deadline, f"consumers never settled: {shards}"
        await asyncio.sleep(0.2)


async def run_burst(app: App, server: EmbeddedRedis, tmp_path: Path, count: int) -> None:
    async with grpc.aio.insecure_channel(app.address) as channel:
        api = Api(channel, app.settings.tokens_path, FakeClock(START_MS))
        ops = new_stub(channel)
        metadata = [("authorization", f"Bearer {api.ops_token}")]
        definition = sp.Subscription(
            name="payment", service="payment", role=t.ROLE_PAYMENT,
            filter=sp.SubscriptionFilter(signals=[t.SIGNAL_REFUND_REQUESTED]),
        )  # fmt: skip
        await ops.CreateSubscription(
            sp.CreateSubscriptionRequest(subscription=definition), metadata=metadata
        )
        one, two = (ConsumerProcess(app, n, tmp_path) for n in ("pay-1", "pay-2"))
        try:
            one.start()
            two.start()
            await both_hold_shards(ops, metadata)
            refunds: list[str] = []
            width = 20
            for start in range(0, count, width):
                size = min(width, count - start)
                refunds += await asyncio.gather(*(refund_riding_out(api) for _ in range(size)))
                if start <= count // 2 < start + width:
                    await until(lambda: one.refunds() and two.refunds(), 30)
                    # Mid-delivery: unacknowledged refunds are in flight to both consumers.
                    await asyncio.to_thread(server.kill)
                    await asyncio.sleep(1.0)
                    await asyncio.to_thread(server.start)

            def handled() -> bool:
                return set(one.refunds()) | set(two.refunds()) >= set(refunds)

            await until(handled, 90 + count / 20)
        finally:
            one.stop()
            two.stop()
    everything = one.refunds() + two.refunds()
    assert set(everything) == set(refunds)  # every acknowledged refund handled, after dedupe
    duplicates = len(everything) - len(set(everything))
    print(f"\n{count} refunds across a Redis crash, {duplicates} handled twice")


async def test_redis_restarted_mid_delivery_loses_no_refund(
    app: App, server: EmbeddedRedis, tmp_path: Path
) -> None:
    await run_burst(app, server, tmp_path, 120)


@pytest.mark.chaos
async def test_redis_restarted_mid_delivery_of_2000_loses_no_refund(
    app: App, server: EmbeddedRedis, tmp_path: Path
) -> None:
    await run_burst(app, server, tmp_path, 2_000)
