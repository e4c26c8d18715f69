"""No caller can take every WatchTransitions stream: one buyer is capped, the order system's
buyers together leave payment and ops their reserved streams, and streams read through a Redis
pool of their own, so unary calls go on however many streams are open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.connection import connect
from service.storage.redis_server import EmbeddedRedis
from tests.e2e.support import Api, Party, applied, reason_of, rpc_error
from tests.e2e.test_watch import eventually, xread_clients

CALL_TIMEOUT_S = 3.0


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    """8 streams: at most 2 per caller, 2 kept for each of the 3 calling services."""
    return Settings(
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",  # never the default port another process holds
        data_dir=tmp_path / "data",
        timers_enabled=False,
        watch_max_streams=8,
        watch_max_streams_per_caller=2,
        watch_reserved_streams_per_service=2,
    )


async def opened(app: App, party: Party, streams: list[Any]) -> None:
    """Open a stream for ``party`` and wait until the server holds it."""
    assert app.watch is not None
    before = app.watch.open_streams
    streams.append(party.WatchTransitions(pb.WatchTransitionsRequest()))
    await eventually(lambda: _true(app.watch is not None and app.watch.open_streams > before))


async def refused(party: Party) -> str:
    """The reason ``party`` is refused a stream now."""
    error = await rpc_error(party.WatchTransitions(pb.WatchTransitionsRequest()).read())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    return reason_of(error)


async def _true(value: bool) -> bool:
    return value


@pytest.fixture
async def streams() -> AsyncIterator[list[Any]]:
    """Streams a test opened, cancelled at its end."""
    held: list[Any] = []
    yield held
    for stream in held:
        stream.cancel()


async def test_one_buyer_opening_more_than_its_cap_is_refused_while_payment_and_ops_open_streams(
    api: Api, app: App, streams: list[Any]
) -> None:
    greedy = api.buyer("buyer-greedy")
    await opened(app, greedy, streams)
    await opened(app, greedy, streams)

    reason = await refused(greedy)
    await opened(app, api.payment, streams)
    await opened(app, api.ops, streams)

    assert reason == "TOO_MANY_STREAMS_FOR_CALLER"
    assert app.watch is not None and app.watch.open_streams == 4


async def test_the_order_systems_buyers_leave_payment_and_ops_their_reserved_streams(
    api: Api, app: App, streams: list[Any]
) -> None:
    for n in range(2):  # 4 streams: what is left of 8 once 2 are kept for payment and 2 for ops
        await opened(app, api.buyer(f"buyer-{n}"), streams)
        await opened(app, api.buyer(f"buyer-{n}"), streams)

    reason = await refused(api.buyer("buyer-late"))
    await opened(app, api.payment, streams)
    await opened(app, api.payment, streams)
    await opened(app, api.ops, streams)
    await opened(app, api.ops, streams)

    assert reason == "STREAMS_RESERVED_FOR_OTHER_SERVICES"
    assert await refused(api.as_(*api.ops.metadata[:1], ("x-actor-id", "ops-2"))) == (
        "TOO_MANY_STREAMS"
    )


async def test_streams_read_through_their_own_connections_so_calls_go_on_while_all_are_open(
    redis_server: EmbeddedRedis, redis: Redis, settings: Settings, clock: FakeClock
) -> None:
    small = connect(Settings(redis_url=redis_server.url, redis_max_connections=2))
    app = await build(replace(settings, redis_max_connections=2), clock=clock, redis=small)
    await app.start()
    held: list[Any] = []
    try:
        async with grpc.aio.insecure_channel(app.address) as channel:
            api = Api(channel, settings.tokens_path, clock)
            for n in range(4):  # more streams than the command pool has connections
                await opened(app, api.buyer(f"buyer-{n}"), held)
            await eventually(lambda: _at_least(xread_clients(redis), 4))

            req = await asyncio.wait_for(applied(api), CALL_TIMEOUT_S)
            got = await asyncio.wait_for(
                api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=req.request_id)),
                CALL_TIMEOUT_S,
            )
            for stream in held:
                stream.cancel()
    finally:
        await app.stop(grace_s=1.0)
        await small.aclose()

    assert got.after_sale.request_id == req.request_id


async def _at_least(value: Any, expected: int) -> bool:
    return bool(await value >= expected)
