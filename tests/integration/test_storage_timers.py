"""Durable timers on a real Redis: leases, reclaim, fire-now, replacement by commits, and
survival of a Redis restart on the same AOF directory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from aftersale.model import PendingTimer
from aftersale.vocabulary import Action, State, TimerKind
from service.config import Settings
from service.storage.connection import connect
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis
from service.storage.repository import RedisRepository
from service.storage.timer_store import RedisTimerStore
from tests.integration.storage_support import (
    NOW_MS,
    Client,
    applied,
    approved,
    commit,
    contact_recorded,
    orders_in_distinct_shards,
    pending_timers,
    step,
    timer_of,
)

LEASE_MS = 30_000


@pytest.fixture
def timers(client: Client, keys: Keys) -> RedisTimerStore:
    return RedisTimerStore(client, keys)


async def make_due(repo: RedisRepository, keys: Keys, dues: list[int]) -> list[str]:
    """One request per due time, spread over the shards; their timer members."""
    orders = orders_in_distinct_shards(keys, keys.shards)
    members = []
    for i, due in enumerate(dues):
        order_id = next(orders) if i < keys.shards else None
        record = await commit(repo, applied(keys, order_id, timer_due_ms=due))
        members.append(f"{record.request_id}|1|merchant_timeout")
    return members


async def claim(store: RedisTimerStore, now_ms: int, batch: int = 10) -> list[str]:
    """``claim_due`` as the raw members it leased."""
    return [timer.member for timer in await store.claim_due(now_ms, LEASE_MS, batch)]


async def test_three_concurrent_claimers_claim_each_due_timer_exactly_once(
    repo: RedisRepository, keys: Keys, timers: RedisTimerStore
) -> None:
    due = await make_due(repo, keys, [NOW_MS - i * 1_000 for i in range(40)])
    later = await make_due(repo, keys, [NOW_MS + 1])
    claimers = [RedisTimerStore(repo.client, keys) for _ in range(3)]

    claims = await asyncio.gather(*(claim(c, NOW_MS, 5) for _ in range(4)
                                    for c in claimers))  # fmt: skip

    claimed = [member for claim in claims for member in claim]
    assert sorted(claimed) == sorted(due)  # each once, none missing, none early
    assert later[0] not in claimed
    assert await timers.next_due_ms() == NOW_MS + 1


async def test_claimed_members_come_earliest_first_and_parse(
    repo: RedisRepository, keys: Keys, timers: RedisTimerStore
) -> None:
    members = await make_due(repo, keys, [NOW_MS - 10, NOW_MS - 30, NOW_MS - 20])

    claimed = await timers.claim_due(NOW_MS, LEASE_MS, 10)

    assert [t.member for t in claimed] == [members[1], members[2], members[0]]
    parsed = claimed[0]
    assert (parsed.version, parsed.action) == (1, Action.MERCHANT_TIMEOUT)
    assert parsed.request_id == members[1].split("|")[0]


async def test_a_member_this_service_did_not_write_is_dropped_not_claimed(
    repo: RedisRepository,
    keys: Keys,
    timers: RedisTimerStore,
    client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [member] = await make_due(repo, keys, [NOW_MS - 1])
    shard = keys.shard_of_request(member.split("|")[0])
    await client.zadd(keys.timers(shard), {"not|a-timer": NOW_MS - 2, "AS99-x|1|apply": NOW_MS})

    with caplog.at_level(logging.WARNING, logger="service.storage.timer_store"):
        claimed = await claim(timers, NOW_MS, batch=10 * keys.shards)

    assert claimed == [member]
    assert await client.zrange(keys.timers(shard), 0, -1) == []
    assert await client.zrange(keys.leased(shard), 0, -1) == [member]
    assert sum("malformed timer member" in r.getMessage() for r in caplog.records) == 2


async def test_a_lease_that_expires_is_reclaimed_by_another_worker(
    repo: RedisRepository, keys: Keys, client: Client
) -> None:
    [member] = await make_due(repo, keys, [NOW_MS - 1])
    dead_worker, live_worker = RedisTimerStore(client, keys), RedisTimerStore(client, keys)
    assert await claim(dead_worker, NOW_MS) == [member]

    await live_worker.reclaim_expired(NOW_MS + LEASE_MS - 1)
    still_leased = await claim(live_worker, NOW_MS + LEASE_MS - 1)
    assert await live_worker.next_due_ms() == NOW_MS + LEASE_MS
    reclaimed = await live_worker.reclaim_expired(NOW_MS + LEASE_MS)
    taken_over = await claim(live_worker, NOW_MS + LEASE_MS)

    assert still_leased == [] and reclaimed == 1 and taken_over == [member]


async def test_the_commit_that_fires_a_timer_removes_its_lease_and_registers_the_next(
    repo: RedisRepository, keys: Keys, timers: RedisTimerStore, client: Client
) -> None:
    record = await commit(repo, applied(keys, timer_due_ms=NOW_MS - 1))
    [member] = await claim(timers, NOW_MS)
    next_timer = PendingTimer(TimerKind.RETURN_SHIP, Action.RETURN_SHIP_TIMEOUT, NOW_MS + 99)
    fired = step(record, Action.MERCHANT_TIMEOUT, State.USER_WAIT_RETURN, timer=next_timer)

    await repo.commit(fired, read_version=1, leased_timer_member=member)

    shard = keys.shard_of_request(record.request_id)
    assert await client.zrange(keys.leased(shard), 0, -1) == []
    assert await client.zrange(keys.timers(shard), 0, -1, withscores=True) == [
        (f"{record.request_id}|2|return_ship_timeout", NOW_MS + 99)
    ]
    due_ms, lease_until_ms = await timer_of(client, keys, fired.record)
    assert due_ms == NOW_MS + 99 and lease_until_ms is None


async def test_every_commit_re_registers_the_pending_timer_under_the_new_version(
    repo: RedisRepository, keys: Keys, client: Client
) -> None:
    record = await commit(repo, applied(keys))
    record = await commit(repo, contact_recorded(record))
    shard = keys.shard_of_request(record.request_id)
    kept = await client.zrange(keys.timers(shard), 0, -1, withscores=True)

    record = await commit(repo, approved(record))  # PLATFORM_REFUNDING: no timer

    assert kept == [
        (f"{record.request_id}|2|merchant_timeout", record.created_at_ms + 48 * 3_600_000)
    ]
    assert await client.zrange(keys.timers(shard), 0, -1) == []


async def test_a_timer_claimed_before_the_request_moved_on_loses_its_lease_with_that_commit(
    repo: RedisRepository, keys: Keys, timers: RedisTimerStore, client: Client
) -> None:
    record = await commit(repo, applied(keys, timer_due_ms=NOW_MS - 1))
    [member] = await claim(timers, NOW_MS)

    await commit(repo, approved(record))  # the merchant acted while the timer was in flight

    shard = keys.shard_of_request(record.request_id)
    assert member not in await client.zrange(keys.leased(shard), 0, -1)
    assert await timers.next_due_ms() is None


async def test_drop_forgets_one_member(
    repo: RedisRepository, keys: Keys, timers: RedisTimerStore
) -> None:
    first, second = await make_due(repo, keys, [NOW_MS - 2, NOW_MS - 1])

    await timers.drop(second)

    assert await pending_timers(repo.client, keys) == [(first, NOW_MS - 2)]


StartRedis = Callable[[Path], EmbeddedRedis]


async def test_timers_and_leases_survive_a_redis_restart_on_the_same_directory(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    keys = Keys(shards=8)
    server = redis_factory(tmp_path / "redis")
    client = connect(Settings(redis_url=server.url))
    assert isinstance(client, Redis)
    repo, timers = RedisRepository(client, keys), RedisTimerStore(client, keys)
    members = await make_due(repo, keys, [NOW_MS - 1, NOW_MS - 2, NOW_MS + 60_000])
    [leased] = await claim(timers, NOW_MS - 2)
    await client.aclose()
    server.stop()

    server = redis_factory(tmp_path / "redis")
    client = connect(Settings(redis_url=server.url))
    assert isinstance(client, Redis)
    try:
        timers = RedisTimerStore(client, keys)  # scripts are gone from the new server
        due_now = await claim(timers, NOW_MS)
        await timers.reclaim_expired(NOW_MS - 2 + LEASE_MS)
        reclaimed = await claim(timers, NOW_MS - 2 + LEASE_MS)
        later = await claim(timers, NOW_MS + LEASE_MS + 60_000)
        record = await RedisRepository(client, keys).load(members[0].split("|")[0])
    finally:
        await client.aclose()

    assert leased == members[1]
    assert due_now == [members[0]] and reclaimed == [members[1]] and later == [members[2]]
    assert record is not None and record.version == 1
