"""Events already stored by the previous release (flat stream entries, cjson history rows) stay
readable beside today's proto JSON entries, through the real readers on a real Redis: the
WatchTransitions reader, the history (GetHistory) and a durable subscription. An entry of
a schema version this release does not know is skipped and counted, never a crash."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest
from prometheus_client import REGISTRY

from aftersale.events import TransitionEvent
from aftersale.vocabulary import Role
from service.observability.undecodable import Reader
from service.storage.decoding import stored_event
from service.storage.keys import Keys
from service.storage.ports import StoredEvent
from service.storage.repository import RedisRepository
from service.storage.stream import Transition, TransitionReader
from service.storage.subscription_session import SubscriptionSession
from service.storage.subscriptions import (
    OLDEST,
    Subscription,
    Subscriptions,
    SubscriptionSettings,
)
from tests.integration.storage_support import (
    Client,
    applied,
    commit,
    contact_recorded,
)
from tests.previous_event_form import previous_entry, previous_row


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=4)


def skipped(reader: Reader) -> float:
    value = REGISTRY.get_sample_value("aftersale_undecodable_entries_total", {"reader": reader})
    return value or 0.0


async def read_all(client: Client, keys: Keys, order_id: str) -> list[Transition]:
    reader = TransitionReader(client, keys, block_ms=200, count=2, poll_interval_s=0.02)
    async with aclosing(reader.read("", follow=False)) as transitions:
        return [t async for t in transitions if t.event.order_id == order_id]


async def test_a_stream_with_entries_of_both_forms_reads_the_same_events_in_order(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    first_step = applied(keys)
    first = await commit(repo, first_step)
    stream = keys.events(keys.shard_of_request(first.request_id))
    assert first_step.event is not None
    await client.xadd(stream, previous_entry(first_step.event))  # type: ignore[arg-type]
    second_step = contact_recorded(first)
    await commit(repo, second_step)

    got = await read_all(client, keys, first.order_id)

    assert [t.event for t in got] == [first_step.event, first_step.event, second_step.event]
    entries: list[Any] = list(await client.xrange(stream) or [])
    assert [f["action"] for _, f in entries if "v" not in f] == ["apply"]  # the old vocabulary


async def test_the_history_reads_rows_the_previous_release_wrote(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    first_step = applied(keys)
    record = await commit(repo, first_step)
    record = await commit(repo, contact_recorded(record))
    history = keys.history(record.request_id)
    stored = await repo.history(record.request_id)
    rows = [previous_row(s.event, s.event_id) for s in stored]
    await client.delete(history)
    await client.rpush(history, *rows)

    again = await repo.history(record.request_id)

    assert again == stored
    assert [stored_event(row) for row in rows] == stored
    assert [s.event.version for s in again] == [1, 2]


async def test_a_subscription_delivers_entries_of_both_forms(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    subs = Subscriptions(client, keys, SubscriptionSettings(block_ms=50))
    sub, _ = await subs.create(Subscription("forms", "s", Role.PLATFORM, start=OLDEST), 1)
    first = await commit(repo, applied(keys))
    stream = keys.events(keys.shard_of_request(first.request_id))
    earlier = applied(keys, first.order_id, sku_id="sku-2")  # another request, same shard
    assert earlier.event is not None
    await client.xadd(stream, previous_entry(earlier.event))  # type: ignore[arg-type]
    second = contact_recorded(first)
    await commit(repo, second)
    seen: list[TransitionEvent] = []
    session = SubscriptionSession(subs, sub, "c1")

    async def consume() -> None:
        async with aclosing(session.deliveries()) as deliveries:
            async for delivery in deliveries:
                if delivery.event.order_id == first.order_id:
                    seen.append(delivery.event)
                await session.ack([delivery.ack_id])
                if len(seen) == 3:
                    return

    await asyncio.wait_for(consume(), 20)
    session.stop()

    assert seen[1:] == [earlier.event, second.event]
    assert (seen[0].request_id, seen[0].version) == (first.request_id, 1)


@pytest.mark.parametrize(
    "entry",
    [{"v": "2", "event": "{}"}, {"v": "1", "event": "{not json"}, {"v": "1", "x": "y"}],
)
async def test_an_entry_of_an_unknown_schema_or_broken_is_skipped_and_counted(
    client: Client, keys: Keys, repo: RedisRepository, entry: dict[str, str]
) -> None:
    first = await commit(repo, applied(keys))
    stream = keys.events(keys.shard_of_request(first.request_id))
    await client.xadd(stream, entry)  # type: ignore[arg-type]
    second = contact_recorded(first)
    await commit(repo, second)
    before = skipped("stream")

    got = await read_all(client, keys, first.order_id)

    assert [t.event.version for t in got] == [1, 2]
    assert skipped("stream") - before == 1


async def test_a_history_row_of_todays_form_is_the_stream_entry_with_its_id(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))

    [row] = await client.lrange(keys.history(record.request_id), 0, -1)
    entries: list[Any] = list(
        await client.xrange(keys.events(keys.shard_of_request(record.request_id))) or []
    )
    [(entry_id, event)] = [
        (str(i), str(f["event"])) for i, f in entries if record.request_id in f.get("event", "")
    ]
    [stored] = await repo.history(record.request_id)

    assert row == f'{{"eventId":"{entry_id}",' + event[1:]
    assert stored == StoredEvent(entry_id, stored.event) == stored_event(str(row))
