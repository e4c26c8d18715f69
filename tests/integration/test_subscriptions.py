"""Durable subscriptions below the API (``service.storage.subscriptions``): consumer groups on
the shard streams shared by leasing shards, acks, redelivery after the ack deadline, dead
letters and their replay, the live-tail start, trimmed and undecodable entries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.vocabulary import Role
from service.observability.subscriptions import LOST
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.retention import StreamRetention
from service.storage.subscription_session import Delivery, SubscriptionSession
from service.storage.subscriptions import (
    OLDEST,
    Subscription,
    Subscriptions,
    SubscriptionSettings,
)
from service.trimming import StreamTrimming
from tests.integration.storage_support import applied, commit

FAST = SubscriptionSettings(ack_deadline_s=0.3, lease_s=0.3, block_ms=50, max_deliveries=3)
NOW_MS = 1_790_000_000_000


@pytest.fixture
def subs(redis: Redis, keys: Keys) -> Subscriptions:
    return Subscriptions(redis, keys, FAST)


async def new_requests(redis: Redis, keys: Keys, count: int) -> list[str]:
    repo = RedisRepository(redis, keys)
    records = [await commit(repo, applied(keys)) for _ in range(count)]
    return [r.request_id for r in records]


class Consumer:
    """A session consuming in a task; ``fail`` says which orders' events its handler fails."""

    def __init__(self, subs: Subscriptions, sub: Subscription, name: str, **options: object):
        self.session = SubscriptionSession(subs, sub, name, **options)  # type: ignore[arg-type]
        self.got: list[Delivery] = []
        self.fail: set[str] = set()
        self.ack = True
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with aclosing(self.session.deliveries()) as deliveries:
            async for delivery in deliveries:
                self.got.append(delivery)
                if delivery.event.order_id in self.fail:
                    await self.session.nack([delivery.ack_id])
                elif self.ack:
                    await self.session.ack([delivery.ack_id])

    async def close(self) -> None:
        self.session.stop()
        await asyncio.wait_for(self.task, 5)

    def ids(self) -> set[str]:
        return {d.event.request_id for d in self.got}


async def until(check: object, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():  # type: ignore[operator]
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
async def payment(subs: Subscriptions) -> AsyncIterator[Subscription]:
    sub = Subscription("notify", "notifications", Role.PLATFORM)
    created, fresh = await subs.create(sub, NOW_MS)
    assert fresh
    yield created


async def test_a_new_subscription_starts_at_the_live_tail_unless_told_oldest(
    redis: Redis, keys: Keys, subs: Subscriptions
) -> None:
    before = set(await new_requests(redis, keys, 5))
    live, _ = await subs.create(Subscription("live", "s", Role.PLATFORM), NOW_MS)
    oldest, _ = await subs.create(Subscription("old", "s", Role.PLATFORM, start=OLDEST), NOW_MS)
    after = set(await new_requests(redis, keys, 5))
    one, two = Consumer(subs, live, "c1"), Consumer(subs, oldest, "c2")
    await until(lambda: one.ids() == after and two.ids() == before | after)
    await asyncio.sleep(0.2)
    await one.close()
    await two.close()
    assert one.ids() == after and len(one.got) == 5


async def test_two_consumers_share_the_shards_and_each_event_is_handled_once_in_order(
    redis: Redis, keys: Keys, subs: Subscriptions, payment: Subscription
) -> None:
    one, two = Consumer(subs, payment, "c1"), Consumer(subs, payment, "c2")
    await until(lambda: len(one.session.held) + len(two.session.held) == keys.shards
                and one.session.held and two.session.held)  # fmt: skip
    ids = await new_requests(redis, keys, 40)
    await until(lambda: len(one.got) + len(two.got) >= 40)
    await asyncio.sleep(0.3)
    await one.close()
    await two.close()
    assert sorted(d.event.request_id for d in one.got + two.got) == sorted(ids)
    assert one.got and two.got
    assert not one.ids() & two.ids()


async def test_one_ack_of_many_deliveries_acknowledges_each_of_them(
    redis: Redis, keys: Keys, subs: Subscriptions, payment: Subscription
) -> None:
    consumer = Consumer(subs, payment, "c1")
    consumer.ack = False
    ids = await new_requests(redis, keys, 24)  # 8 shards: several events per stream
    await until(lambda: len(consumer.got) >= 24)
    await consumer.session.ack([d.ack_id for d in consumer.got])
    pending = [await redis.xpending(keys.events(s), payment.name) for s in keys.all_shards()]
    await consumer.close()
    assert sorted(d.event.request_id for d in consumer.got) == sorted(ids)
    assert [p["pending"] for p in pending] == [0] * keys.shards


async def test_unacked_events_are_redelivered_and_go_to_the_dead_letters_after_max_deliveries(
    redis: Redis, keys: Keys, subs: Subscriptions, payment: Subscription
) -> None:
    consumer = Consumer(subs, payment, "c1")
    await until(lambda: len(consumer.session.held) == keys.shards)
    consumer.fail = {"order-doomed"}
    ids = [(await commit(RedisRepository(redis, keys), applied(keys, "order-doomed"))).request_id]
    ids += await new_requests(redis, keys, 5)
    await until(lambda: len([d for d in consumer.got if d.event.request_id == ids[0]]) == 3)
    await until(lambda: consumer.ids() == set(ids))
    letters, _ = await until_dead(subs, "notify", 1)
    assert [d.delivery for d in consumer.got if d.event.request_id == ids[0]] == [1, 2, 3]
    assert letters[0].deliveries == 3

    consumer.fail = set()
    assert await subs.replay("notify", [letters[0].id]) == 1
    await until(lambda: len([d for d in consumer.got if d.event.request_id == ids[0]]) == 4)
    replayed = consumer.got[-1]
    assert replayed.delivery == 1 and replayed.event_id == letters[0].event_id
    await asyncio.sleep(0.2)
    state = await subs.status(payment, NOW_MS)
    assert (state.pending, state.dead_letters) == (0, 0)
    await consumer.close()


async def until_dead(subs: Subscriptions, name: str, count: int) -> tuple[list, object]:  # type: ignore[type-arg]
    for _ in range(200):
        letters, more = await subs.dead_letters(name, None, 100)
        if len(letters) >= count:
            return letters, more
        await asyncio.sleep(0.02)
    raise AssertionError("no dead letters")


async def test_a_silent_consumer_s_events_go_to_the_next_one_after_it_closes(
    redis: Redis, keys: Keys, subs: Subscriptions, payment: Subscription
) -> None:
    silent = Consumer(subs, payment, "silent")
    silent.ack = False
    await until(lambda: len(silent.session.held) == keys.shards)
    ids = await new_requests(redis, keys, 5)
    await until(lambda: silent.ids() == set(ids))
    silent.task.cancel()  # killed: no ack, no goodbye
    await asyncio.gather(silent.task, return_exceptions=True)
    other = Consumer(subs, payment, "other")
    await until(lambda: other.ids() == set(ids))
    assert {d.delivery for d in other.got} == {2}
    await other.close()


async def test_pending_entries_the_hard_cap_trimmed_are_counted_lost_once_and_acked(
    redis: Redis, keys: Keys, subs: Subscriptions, payment: Subscription
) -> None:
    silent = Consumer(subs, payment, "silent")
    silent.ack = False
    await until(lambda: len(silent.session.held) == keys.shards)
    ids = await new_requests(redis, keys, 3)
    await until(lambda: silent.ids() == set(ids))
    silent.task.cancel()
    await asyncio.gather(silent.task, return_exceptions=True)
    before = LOST.labels("notify", "hard_cap")._value.get()
    retention = StreamRetention(redis, keys, retention_ms=86_400_000, maxlen=0)
    await StreamTrimming(retention, FakeClock(NOW_MS), interval_s=1).trim_once()
    assert LOST.labels("notify", "hard_cap")._value.get() - before == 3  # the trim counts them
    other = Consumer(subs, payment, "other")
    for _ in range(400):  # the other consumer takes the shards and acks what is gone
        state = await subs.status(payment, NOW_MS)
        if state.pending == 0:
            break
        await asyncio.sleep(0.05)
    assert (state.pending, state.lost_events, other.got) == (0, 3, [])
    assert LOST.labels("notify", "hard_cap")._value.get() - before == 3  # and only the trim
    await other.close()


async def test_dead_letters_dropped_at_their_cap_are_counted_lost(redis: Redis) -> None:
    one_shard = Keys(shards=1)  # every dead letter lands in the one shard's capped stream
    settings = SubscriptionSettings(
        ack_deadline_s=0.3, lease_s=0.3, block_ms=50, max_deliveries=1, dead_letter_maxlen=1
    )
    subs = Subscriptions(redis, one_shard, settings)
    sub, _ = await subs.create(Subscription("capped", "s", Role.PLATFORM), NOW_MS)
    consumer = Consumer(subs, sub, "c1")
    await until(lambda: len(consumer.session.held) == 1)
    consumer.fail = {"order-doomed-1", "order-doomed-2"}
    before = LOST.labels("capped", "dead_letter_cap")._value.get()
    repo = RedisRepository(redis, one_shard)
    for order in sorted(consumer.fail):
        await commit(repo, applied(one_shard, order))
    await until(lambda: LOST.labels("capped", "dead_letter_cap")._value.get() - before == 1)
    state = await subs.status(sub, NOW_MS)
    assert (state.dead_letters, state.lost_events) == (1, 1)  # one kept, one dropped: reported
    await consumer.close()
