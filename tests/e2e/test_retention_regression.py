"""The issue-10 regression through the public API only: a WatchTransitions client that
resumes from a cursor older than the stream retains is refused with OUT_OF_RANGE. Before,
the stream was trimmed by the commit (``MAXLEN ~``) and the resume silently skipped what was
trimmed. Here the serving process' own periodic trim does the trimming."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest
from redis.asyncio import Redis

from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.keys import Keys
from tests.e2e.support import Api, create_request, rpc_error, unique
from tests.e2e.test_watch import events

CAP = 10
REQUESTS = 150  # more than a stream node (100 entries), so MAXLEN ~ trimmed too


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, stream_maxlen=CAP, stream_trim_interval_s=0.1)


async def apply_in_shard(api: Api, keys: Keys, shard: int) -> None:
    while keys.shard_of_order(order_id := unique("order")) != shard:
        pass
    request = create_request(
        order_id=order_id, sku_id=unique("sku"), shop_id=unique("shop"), clock=api.clock
    )
    await api.buyer(unique("buyer")).CreateAfterSale(request)


async def test_resuming_from_a_trimmed_cursor_is_refused_not_silently_skipped(
    api: Api, settings: Settings, redis: Redis
) -> None:
    keys = Keys(settings.shards)
    await apply_in_shard(api, keys, 0)
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    (first,) = await events(stream, 1)
    stream.cancel()
    for _ in range(REQUESTS):
        await apply_in_shard(api, keys, 0)
    for _ in range(100):  # the trim runs every 0.1 s
        if await redis.xlen(keys.events(0)) <= CAP:
            break
        await asyncio.sleep(0.05)

    resumed = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=first.cursor))
    error = await rpc_error(resumed.read())

    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
