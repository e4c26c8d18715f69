"""Stream retention over a real server (issue 10): a subscription down past the soft retention
loses nothing; past the hard cap its loss is reported (metric, error log, GetStatus, the
losses hash); WatchTransitions from a trimmed cursor gets OUT_OF_RANGE with a usable oldest
cursor, and from a cursor at the trim edge does not; without a cursor it starts at the tail.

The serving process trims every ``stream_trim_interval_s``; here that is an hour (one trim at
start, on empty streams), and the tests trim when they mean to (``trim_once``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from aftersale.vocabulary import Role
from service.bootstrap import App
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.keys import Keys
from service.storage.retention import StreamRetention
from tests.e2e.support import Api, applied, detail, rpc_error
from tests.e2e.test_watch import events, first_half, position, second_half

HOUR_MS = 3_600_000
OPS = ("ops", Role.PLATFORM.value, "ops-1")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, stream_trim_interval_s=3_600.0, watch_keepalive_s=0.05)


def trimming(app: App) -> StreamRetention:
    assert app.ops.trimming is not None
    return app.ops.trimming.retention


async def trim(app: App, *, retention_ms: int = HOUR_MS, maxlen: int = 100_000) -> int:
    retention = trimming(app)
    retention.retention_ms, retention.maxlen = retention_ms, maxlen
    assert app.ops.trimming is not None
    return (await app.ops.trimming.trim_once()).deleted


def lost_metric(subscription: str) -> float:
    labels = {"subscription": subscription, "why": "hard_cap"}
    return REGISTRY.get_sample_value("aftersale_subscription_lost_events_total", labels) or 0.0


async def subscribe(redis: Redis, keys: Keys, group: str) -> None:
    """A subscription: one consumer group on every shard stream, at the live tail."""
    for shard in keys.all_shards():
        await redis.xgroup_create(keys.events(shard), group, id="$", mkstream=True)


async def handle_all(redis: Redis, keys: Keys, group: str) -> int:
    """Read and acknowledge everything the group has not; how many."""
    handled = 0
    for shard in keys.all_shards():
        stream = keys.events(shard)
        reply: Any = await redis.xreadgroup(group, "c1", {stream: ">"}, count=1_000)
        for _, entries in reply.items() if isinstance(reply, dict) else reply:
            batch = entries[0] if entries and isinstance(entries[0], list) else entries
            ids = [entry_id for entry_id, _ in batch]
            if ids:
                handled += await redis.xack(stream, group, *ids)
    return handled


async def retained(redis: Redis, keys: Keys) -> int:
    return sum([await redis.xlen(keys.events(shard)) for shard in keys.all_shards()])


def subscription(status: pb.GetStatusResponse, name: str) -> pb.SubscriptionBacklog:
    (found,) = [s for s in status.subscriptions if s.name == name]
    return found


async def test_a_subscription_down_past_the_soft_retention_loses_nothing(
    api: Api, app: App, redis: Redis
) -> None:
    keys = Keys(app.settings.shards)
    await subscribe(redis, keys, "payment")
    for _ in range(3):
        await applied(api)
    await asyncio.sleep(0.01)  # entry ids are Redis' clock: make them older than 0 ms

    assert await trim(app, retention_ms=0) == 0  # all past the retention, none acknowledged
    assert await retained(redis, keys) == 3
    status = await api.ops.GetStatus(pb.GetStatusRequest())
    backlog = subscription(status, "payment")
    assert backlog.pending == 0 and backlog.events_lost == 0
    assert backlog.HasField("oldest_unacked_age")  # unread since the commit
    assert not backlog.unread_known  # Redis 6.2 does not tell

    assert await handle_all(redis, keys, "payment") == 3
    assert await trim(app, retention_ms=0) == 3  # acknowledged: now they go
    status = await api.ops.GetStatus(pb.GetStatusRequest())
    assert status.retained_events == 0
    assert not subscription(status, "payment").HasField("oldest_unacked_age")


async def test_past_the_hard_cap_the_loss_is_reported(
    api: Api, app: App, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(app.settings.shards)
    await subscribe(redis, keys, "payment")  # down from now on
    await subscribe(redis, keys, "scoring")  # keeps up
    before = lost_metric("payment")
    req = await first_half(api)  # 4 events in the request's shard
    shard = keys.shard_of_request(req.request_id)
    assert await handle_all(redis, keys, "scoring") == 4

    with caplog.at_level(logging.ERROR, logger="service.subscriptions"):
        assert await trim(app, maxlen=1) == 3

    assert lost_metric("payment") - before == 3
    assert lost_metric("scoring") == 0
    (line,) = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert "events lost subscription=payment why=hard_cap count=3 where=shard" in line
    assert f"shard {shard} " in line
    status = await api.ops.GetStatus(pb.GetStatusRequest())
    backlog = subscription(status, "payment")
    assert backlog.events_lost == 3 and backlog.HasField("last_lost_at")
    assert backlog.last_lost_shard == shard and backlog.last_lost_first_id
    assert subscription(status, "scoring").events_lost == 0
    assert await redis.hexists(keys.subscription_losses(), "payment")
    assert not await redis.hexists(keys.subscription_losses(), "scoring")


async def test_a_trimmed_cursor_gets_out_of_range_with_a_usable_oldest_cursor(
    api: Api, app: App
) -> None:
    req = await first_half(api)  # events 1..4, one shard
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    read = await events(stream, 4)
    stream.cancel()
    assert await trim(app, maxlen=2) == 2  # events 1 and 2 go

    refused = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=read[0].cursor))
    error = await rpc_error(refused.read())

    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "CURSOR_TRIMMED"
    oldest = info.metadata["oldest_cursor"]
    shard = Keys(app.settings.shards).shard_of_request(req.request_id)
    assert position(app, OPS, oldest).last[shard] == read[1].event.event_id

    await second_half(req)  # events 5..7
    resumed = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=oldest))
    versions = [m.event.version for m in await events(resumed, 5)]
    resumed.cancel()
    assert versions == [3, 4, 5, 6, 7]

    at_the_edge = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=read[1].cursor))
    versions = [m.event.version for m in await events(at_the_edge, 5)]
    at_the_edge.cancel()
    assert versions == [3, 4, 5, 6, 7]


async def test_without_a_cursor_a_stream_starts_at_the_live_tail(api: Api, app: App) -> None:
    req = await first_half(api)
    shard = Keys(app.settings.shards).shard_of_request(req.request_id)
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest())
    while True:  # a keep-alive tells where it opened: after event 4, the tail
        message = await asyncio.wait_for(stream.read(), timeout=10)
        assert not message.HasField("event")
        if position(app, OPS, message.cursor).last[shard] != "0-0":
            break

    await second_half(req)

    versions = [m.event.version for m in await events(stream, 3)]
    stream.cancel()
    assert versions == [5, 6, 7]
