"""Transition streams on a real Redis: one event per version, resumable cursors, filters,
following, and consumer groups that survive a dead consumer."""

from __future__ import annotations

import asyncio
import random
from contextlib import aclosing

import pytest
from redis.asyncio import Redis

from aftersale.events import TransitionEvent
from aftersale.exceptions import InvalidInput, VersionConflict
from aftersale.model import AfterSale
from aftersale.vocabulary import Action, State
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.stream import NOW, Transition, TransitionFilter, TransitionReader
from tests.integration.storage_support import (
    Client,
    applied,
    approved,
    commit,
    contact_recorded,
    refunded,
)


def reader(client: Client, keys: Keys) -> TransitionReader:
    return TransitionReader(client, keys, block_ms=200, count=7, poll_interval_s=0.02)


async def read_all(client: Client, keys: Keys, cursor: str = "") -> list[Transition]:
    async with aclosing(reader(client, keys).read(cursor, follow=False)) as transitions:
        return [t async for t in transitions]


def shard_of(keys: Keys, transition: Transition) -> int:
    return keys.shard_of_request(transition.event.request_id)


async def busy_requests(repo: RedisRepository, keys: Keys, requests: int) -> list[AfterSale]:
    """``requests`` requests, each moved on by racing commits until it has 4–6 versions."""
    records = [await commit(repo, applied(keys)) for _ in range(requests)]

    async def push(record: AfterSale, versions: int) -> AfterSale:
        while record.version < versions:
            rivals = [contact_recorded(record) for _ in range(3)]
            outcomes = await asyncio.gather(
                *(repo.commit(d, read_version=record.version) for d in rivals),
                return_exceptions=True,
            )
            assert sum(not isinstance(o, VersionConflict) for o in outcomes) == 1
            latest = await repo.load(record.request_id)
            assert latest is not None
            record = latest
        return record

    return list(await asyncio.gather(*(push(r, random.randint(4, 6)) for r in records)))


async def test_every_version_has_exactly_one_event_in_order_matching_the_history(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    records = await busy_requests(repo, keys, 12)

    transitions = await read_all(client, keys)

    for record in records:
        mine = [t for t in transitions if t.event.request_id == record.request_id]
        assert [t.event.version for t in mine] == list(range(1, record.version + 1))
        history = await repo.history(record.request_id)
        assert [(h.event_id, h.event) for h in history] == [(t.event_id, t.event) for t in mine]


async def test_a_cursor_resumes_right_after_its_event_without_gap_or_duplicate(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    await busy_requests(repo, keys, 6)
    everything = await read_all(client, keys)

    for stop in range(len(everything)):
        rest = await read_all(client, keys, everything[stop].cursor)

        # Across shards the interleaving depends on read sizes; within a shard it is fixed.
        # Stream ids are unique per shard stream only: the same id may occur in two shards.
        rest_ids = [(shard_of(keys, t), t.event_id) for t in rest]
        assert len(rest_ids) == len(set(rest_ids))
        assert set(rest_ids) == {(shard_of(keys, t), t.event_id) for t in everything[stop + 1 :]}
        for shard in keys.all_shards():
            of_shard = [t.event_id for t in rest if shard_of(keys, t) == shard]
            assert of_shard == [t.event_id for t in everything[stop + 1 :]
                                if shard_of(keys, t) == shard]  # fmt: skip


async def test_a_cursor_taken_before_new_commits_delivers_just_those(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    [only] = await read_all(client, keys)
    record = await commit(repo, approved(record))
    await commit(repo, refunded(record))

    after = await read_all(client, keys, only.cursor)

    assert [t.event.action for t in after] == [Action.APPROVE, Action.REFUND_SUCCEEDED]


async def test_filters_pick_by_shop_order_state_and_action_but_the_cursor_covers_all(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    mine = await commit(repo, applied(keys, shop_id="shop-a"))
    await commit(repo, applied(keys, shop_id="shop-b"))
    await commit(repo, refunded(await commit(repo, approved(mine))))
    r = reader(client, keys)

    by_shop = [t.event.version async for t in r.read(where=TransitionFilter(shop_id="shop-a"),
                                                       follow=False)]  # fmt: skip
    by_order = [t.event.action async for t in r.read(
        where=TransitionFilter(order_id=mine.order_id, actions=frozenset({"approve"})),
        follow=False)]  # fmt: skip
    by_state = [t.event.request_id async for t in r.read(
        where=TransitionFilter(states=frozenset({State.MERCHANT_REFUND_SUCCESS})),
        follow=False)]  # fmt: skip
    nothing_new = await read_all(client, keys, r.cursor.encode())

    assert by_shop == [1, 2, 3] and by_order == ["approve"] and by_state == [mine.request_id]
    assert nothing_new == []


async def test_a_follower_from_now_sees_only_commits_made_after_it_started(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    old = await commit(repo, applied(keys))
    got: asyncio.Queue[TransitionEvent] = asyncio.Queue()
    started = asyncio.Event()

    async def follow() -> None:
        r = reader(client, keys)
        cursor = (await r.resolve(NOW)).encode()
        started.set()
        async for transition in r.read(cursor):
            await got.put(transition.event)

    task = asyncio.create_task(follow())
    await started.wait()
    new = await commit(repo, applied(keys))
    await commit(repo, approved(old))
    first = await asyncio.wait_for(got.get(), 5)
    second = await asyncio.wait_for(got.get(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert {(first.request_id, first.version), (second.request_id, second.version)} == {
        (new.request_id, 1),
        (old.request_id, 2),
    }


async def test_cancelling_a_blocked_follower_gives_its_connection_back(
    redis: Redis, keys: Keys
) -> None:
    pool = redis.connection_pool
    await redis.ping()
    idle_before = len(pool._in_use_connections)
    r = TransitionReader(redis, keys, block_ms=2_000)

    async def follow() -> None:
        async for _ in r.read(NOW):
            pass

    task = asyncio.create_task(follow())
    for _ in range(500):  # until it holds its connection, blocked in XREAD
        if len(pool._in_use_connections) > idle_before:
            break
        await asyncio.sleep(0.01)
    in_use_while_blocked = len(pool._in_use_connections)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert in_use_while_blocked == idle_before + 1
    assert len(pool._in_use_connections) == idle_before
    assert await redis.ping()


async def test_a_foreign_cursor_is_bad_input(client: Client, keys: Keys) -> None:
    with pytest.raises(InvalidInput) as refused:
        await read_all(client, keys, "bm90LWEtY3Vyc29y")

    assert refused.value.field == "cursor"
    other_sharding = (await reader(client, Keys(shards=4)).resolve(NOW)).encode()
    with pytest.raises(InvalidInput):
        await read_all(client, keys, other_sharding)


async def test_a_commit_never_trims_the_stream(client: Client, keys: Keys) -> None:
    """Trimming is the periodic retention's (``test_retention``), which waits for the
    consumer groups; the commit only adds."""
    repo = RedisRepository(client, keys)
    record = await commit(repo, applied(keys))
    for _ in range(400):
        record = await commit(repo, contact_recorded(record))

    length = await client.xlen(keys.events(keys.shard_of_request(record.request_id)))

    assert length == 401
    assert len(await repo.history(record.request_id, limit=1_000)) == 401
