"""A payment consumer SIGKILLed and restarted mid-burst loses nothing (issue 10): two consumer
processes share the ``payment`` subscription during a burst of refund requests, one is killed
with SIGKILL in the middle and started again; after dedupe by ``refund_id`` every refund was
handled, and neither consumer handled them all.

The full run (2,000 refunds) is marked ``chaos`` (``make chaos``); ``make test`` runs 200.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.api.tokens import token_of
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import subscriptions_pb2_grpc
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import Api, applied, key

new_stub: Callable[[Any], Any] = subscriptions_pb2_grpc.SubscriptionServiceStub
ROOT = Path(__file__).resolve().parents[2]
START_MS = 1_790_000_000_000


@pytest.fixture
async def app(redis: Redis, tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        metrics_listen="127.0.0.1:0",
        shards=16,
        log_level="WARNING",
        subscription_ack_deadline_s=2.0,
        subscription_lease_s=1.5,
    )
    service = await build(settings, clock=FakeClock(START_MS), redis=redis)
    await service.start()
    try:
        yield service
    finally:
        await service.stop(grace_s=1.0)


class ConsumerProcess:
    def __init__(self, app: App, name: str, directory: Path) -> None:
        self.token = token_of(app.settings.tokens_path, service="payment")
        self.address = app.address
        self.name = name
        self.out = directory / f"{name}.lines"
        self.log = directory / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.payment_consumer",
                 self.address, self.token, self.name, str(self.out)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def refunds(self) -> list[str]:
        if not self.out.exists():
            return []
        return [line.split()[0] for line in self.out.read_text().splitlines() if line.strip()]


async def refund(api: Api) -> str:
    req = await applied(api)
    reply = await req.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )
    refund_id: str = reply.after_sale.refund.refund_id
    return refund_id


async def until(check: object, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def until_async(check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def run_burst(app: App, tmp_path: Path, count: int) -> None:
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

            async def sharing() -> bool:
                reply = await ops.GetSubscription(
                    sp.GetSubscriptionRequest(name="payment"), metadata=metadata
                )
                return sum(1 for c in reply.state.consumers if c.shards) == 2

            await until_async(sharing, 60)  # both consumers hold shards before the burst
            refunds: list[str] = []
            width = 20
            for start in range(0, count, width):
                size = min(width, count - start)
                refunds += await asyncio.gather(*(refund(api) for _ in range(size)))
                if start <= count // 2 < start + width:
                    await until(lambda: one.refunds() and two.refunds(), 60)
                    one.kill()  # mid-burst, holding unacknowledged refunds
                    one.start()

            def handled() -> bool:
                return set(one.refunds()) | set(two.refunds()) >= set(refunds)

            await until(handled, 120 + count / 20)
        finally:
            one.stop()
            two.stop()
    everything = one.refunds() + two.refunds()
    assert set(everything) == set(refunds)  # every refund handled, after dedupe
    assert set(one.refunds()) != set(refunds) and set(two.refunds()) != set(refunds)
    duplicates = len(everything) - len(set(everything))
    print(f"\n{count} refunds, {duplicates} handled twice (redelivered after the kill)")


async def test_a_payment_consumer_killed_mid_burst_loses_no_refund(
    app: App, tmp_path: Path
) -> None:
    await run_burst(app, tmp_path, 200)


@pytest.mark.chaos
async def test_a_payment_consumer_killed_mid_burst_of_2000_loses_no_refund(
    app: App, tmp_path: Path
) -> None:
    await run_burst(app, tmp_path, 2_000)
