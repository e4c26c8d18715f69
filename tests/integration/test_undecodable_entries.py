"""A reader that meets a stored entry it cannot decode skips it, logs it with its id and counts
it, and goes on: no stream, subscriber, history page, list page or timer batch stalls on one
bad entry. A direct read of an undecodable record raises a clear ``UndecodableRecord``."""

from __future__ import annotations

import json
from contextlib import aclosing

import pytest
from prometheus_client import REGISTRY

from aftersale.clock import FakeClock
from aftersale.policy import HOUR_MS, Policy
from aftersale.vocabulary import Role
from service.handlers import AfterSaleHandlers
from service.observability.undecodable import Reader
from service.storage.codec import RECORD_FIELDS, encode_record
from service.storage.keys import Keys
from service.storage.ports import RecordOwner, UndecodableRecord
from service.storage.repository import RedisRepository
from service.storage.stream import Transition, TransitionReader
from service.storage.subscription_session import SubscriptionSession
from service.storage.subscriptions import Subscription, Subscriptions, SubscriptionSettings
from service.storage.timer_store import RedisTimerStore
from service.timer_worker import TimerWorker, TimerWorkerSettings
from tests.integration.storage_support import (
    NOW_MS,
    Client,
    applied,
    approved,
    commit,
    contact_recorded,
)

GARBAGE_EVENTS = [
    {"garbage": "x"},  # no request, no action: from_flat makes an event of empty strings
    {"request_id": "AS00-x", "version": "abc"},  # from_flat raises
    {"request_id": "AS00-x", "version": "2", "action": "explode", "actor_role": "BUYER",
     "to_state": "MERCHANT_PROCESSING"},  # an action no commit writes
]  # fmt: skip


def skipped(reader: Reader) -> float:
    """How many entries ``reader`` has skipped in this process."""
    value = REGISTRY.get_sample_value("aftersale_undecodable_entries_total", {"reader": reader})
    return value or 0.0


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=4)


async def read_all(client: Client, keys: Keys, cursor: str = "") -> list[Transition]:
    reader = TransitionReader(client, keys, block_ms=200, count=2, poll_interval_s=0.02)
    async with aclosing(reader.read(cursor, follow=False)) as transitions:
        return [t async for t in transitions]


async def test_a_stream_reader_skips_undecodable_entries_and_reads_past_them(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    first = await commit(repo, applied(keys))
    stream = keys.events(keys.shard_of_request(first.request_id))
    for garbage in GARBAGE_EVENTS:
        await client.xadd(stream, garbage)  # type: ignore[arg-type]
    second = await commit(repo, contact_recorded(first))
    before = skipped("stream")

    everything = await read_all(client, keys)
    resumed = await read_all(client, keys, everything[0].cursor)

    assert [(t.event.request_id, t.event.version) for t in everything] == [
        (first.request_id, 1),
        (second.request_id, 2),
    ]
    assert [t.event.version for t in resumed] == [2]
    assert skipped("stream") - before == 2 * len(GARBAGE_EVENTS)


async def test_a_subscription_acks_an_undecodable_entry_and_delivers_the_ones_after_it(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    subscriptions = Subscriptions(client, keys, SubscriptionSettings(block_ms=50))
    await subscriptions.create(Subscription("notify", "n", Role.PLATFORM), 0)
    first = await commit(repo, applied(keys))
    stream = keys.events(keys.shard_of_request(first.request_id))
    for garbage in GARBAGE_EVENTS:
        await client.xadd(stream, garbage)  # type: ignore[arg-type]
    await commit(repo, contact_recorded(first))
    session = SubscriptionSession(subscriptions, await subscriptions.get("notify"), "c1")
    before = skipped("subscriber")

    seen: list[tuple[str, int]] = []
    async with aclosing(session.deliveries()) as deliveries:
        async for delivery in deliveries:
            seen.append((delivery.event.request_id, delivery.event.version))
            await session.ack([delivery.ack_id])
            if len(seen) == 2:
                break

    assert seen == [(first.request_id, 1), (first.request_id, 2)]
    assert (await client.xpending(stream, "notify"))["pending"] == 0
    assert skipped("subscriber") - before == len(GARBAGE_EVENTS)


async def test_a_history_page_skips_an_undecodable_row_and_the_next_page_follows_it(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    history = keys.history(record.request_id)
    for row in ("not json", '{"event_id": 5}', "[1, 2]", '{"event_id": "1-1", "action": "x"}'):
        await client.rpush(history, row)
    record = await commit(repo, contact_recorded(record))
    before = skipped("history")

    first = await repo.history_page(record.request_id, 0, 3)
    second = await repo.history_page(record.request_id, first.next_offset or 0, 3)

    assert [s.event.version for s in first.events] == [1]
    assert first.next_offset == 3
    assert [s.event.version for s in second.events] == [2]
    assert second.next_offset is None
    assert skipped("history") - before == 4


async def test_a_list_page_skips_an_undecodable_record_and_lists_the_others(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    records = [await commit(repo, applied(keys, shop_id="shop-9")) for _ in range(3)]
    broken = records[1]
    await client.hset(keys.record(broken.request_id), "d", "{not json")
    before = skipped("record")

    page = await repo.list_requests(shop_id="shop-9", page_size=10)

    assert sorted(r.request_id for r in page.records) == sorted(
        r.request_id for r in records if r is not broken
    )
    assert skipped("record") - before == 1


@pytest.mark.parametrize("refund", [False, True])
async def test_an_undecodable_positional_blob_still_names_whose_it_is(
    client: Client, keys: Keys, repo: RedisRepository, refund: bool
) -> None:
    record = await commit(repo, applied(keys, buyer_id="buyer-7", shop_id="shop-7"))
    if refund:
        record = await commit(repo, approved(record))
    items = json.loads(encode_record(record))
    items[RECORD_FIELDS.index("state")] = "NO_SUCH_STATE"
    await client.hset(keys.record(record.request_id), "d", json.dumps(items))

    with pytest.raises(UndecodableRecord) as unreadable:
        await repo.load(record.request_id)

    assert unreadable.value.owner == RecordOwner("buyer-7", "shop-7", has_refund=refund)


async def test_loading_an_undecodable_record_names_it_and_whose_it_is(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys, buyer_id="buyer-7", shop_id="shop-7"))
    await client.hset(
        keys.record(record.request_id), "d", '{"buyer_id":"buyer-7","shop_id":"shop-7","state":1}'
    )

    with pytest.raises(UndecodableRecord) as unreadable:
        await repo.load(record.request_id)

    assert unreadable.value.request_id == record.request_id
    assert unreadable.value.owner == RecordOwner("buyer-7", "shop-7", has_refund=False)


async def test_a_timer_batch_fires_around_an_undecodable_record(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    due = NOW_MS + HOUR_MS
    records = [await commit(repo, applied(keys, timer_due_ms=due)) for _ in range(3)]
    await client.hset(keys.record(records[0].request_id), "d", "garbage")
    clock = FakeClock(due + 1)
    handlers = AfterSaleHandlers(repo, clock, Policy())
    settings = TimerWorkerSettings(lease_ms=30_000, batch=10)
    worker = TimerWorker(RedisTimerStore(client, keys), handlers, clock, settings)

    await worker.run_once()

    fired = [await repo.load(r.request_id) for r in records[1:]]
    assert [r.version if r else None for r in fired] == [2, 2]
    assert (worker.fired, worker.dropped) == (2, 1)
