"""The Subscriber against a real server: a shop's consumer gets its shop's events, one
request's in version order, and acknowledges them; a handler that keeps failing is retried
in process, then nacked, until the event is a dead letter while the rest flow; errors no
reconnection mends end ``run`` as typed errors. Each test has its own subscription on its
own shop (the server is shared)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aftersale_client import Actor, AfterSaleClient, NotFound, PermissionDenied, Subscriber
from aftersale_client.v1 import subscriptions_pb2 as sp
from aftersale_client.v1 import types_pb2 as t
from tests.support import Parties, applied, unique

QUICK = {"retry_backoff_s": 0.01, "reconnect_backoff_s": 0.05}


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def shop_subscription(parties: Parties, **extra: Any) -> str:
    """A subscription of the order system, as the shop's merchant, on the shop's events."""
    name = unique("feed")
    await parties.ops.create_subscription(subscription=sp.Subscription(
        name=name, service="order-system", role=t.ROLE_MERCHANT,
        filter=sp.SubscriptionFilter(shop_id=parties.shop_id), **extra,
    ))  # fmt: skip
    return name


class Recorder:
    """A handler that records every event it is given and fails on some requests."""

    def __init__(self) -> None:
        self.events: list[t.TransitionEvent] = []
        self.failing: set[str] = set()

    async def __call__(self, event: t.TransitionEvent) -> None:
        self.events.append(event)
        if event.request_id in self.failing:
            raise RuntimeError("this handler fails on this request")


async def approved(parties: Parties) -> str:
    """A fresh request on a fresh order of the shop, approved: two events. Its id."""
    order = Parties(**{**parties.__dict__, "order_id": unique("order")})
    rid = (await applied(order)).after_sale.request_id
    await parties.shop.approve_after_sale(request_id=rid)
    return rid


async def test_a_shop_consumer_gets_its_events_in_order_and_acknowledges_them(
    parties: Parties,
) -> None:
    name = await shop_subscription(parties)
    recorder = Recorder()
    subscriber = parties.shop.subscriber(name, "c1", concurrency=2, **QUICK)
    running = asyncio.create_task(subscriber.run(recorder))

    ids = [await approved(parties) for _ in range(3)]
    await eventually(lambda: _true(len({(e.request_id, e.version) for e in recorder.events}) == 6))

    async def all_acknowledged() -> bool:
        state = (await parties.ops.get_subscription(name=name)).state
        return state.pending == 0

    await eventually(all_acknowledged)
    subscriber.stop()
    await asyncio.wait_for(running, 10)

    versions: dict[str, list[int]] = defaultdict(list)
    for event in recorder.events:
        versions[event.request_id].append(event.version)
    assert set(versions) == set(ids)
    assert all(v == sorted(v) and set(v) == {1, 2} for v in versions.values())
    assert {e.shop_id for e in recorder.events} == {parties.shop_id}
    assert subscriber.handled >= 6


async def test_a_failing_event_is_retried_nacked_and_dead_lettered_while_others_flow(
    parties: Parties,
) -> None:
    name = await shop_subscription(parties, max_deliveries=2)
    recorder = Recorder()
    doomed_order = Parties(**{**parties.__dict__, "order_id": unique("order")})
    doomed = (await applied(doomed_order)).after_sale.request_id
    recorder.failing = {doomed}
    subscriber = parties.shop.subscriber(name, "c1", attempts=2, **QUICK)
    running = asyncio.create_task(subscriber.run(recorder))
    others = [await approved(parties) for _ in range(2)]

    async def dead_lettered() -> bool:
        letters = await parties.ops.list_dead_letters(subscription=name)
        return len(letters.dead_letters) == 1

    await eventually(dead_lettered)
    await eventually(lambda: _true({e.request_id for e in recorder.events} >= set(others)))
    subscriber.stop()
    await asyncio.wait_for(running, 10)

    letter = (await parties.ops.list_dead_letters(subscription=name)).dead_letters[0]
    assert (letter.event.request_id, letter.deliveries) == (doomed, 2)
    # 2 deliveries × 2 attempts each, in process, before each nack
    assert [e.request_id for e in recorder.events].count(doomed) == 4


async def test_deleting_the_subscription_ends_run_with_not_found(parties: Parties) -> None:
    name = await shop_subscription(parties)
    subscriber = parties.shop.subscriber(name, "c1", **QUICK)
    running = asyncio.create_task(subscriber.run(Recorder()))

    async def connected() -> bool:
        state = (await parties.ops.get_subscription(name=name)).state
        return len(state.consumers) == 1

    await eventually(connected)
    await parties.ops.delete_subscription(name=name)

    with pytest.raises(NotFound) as caught:
        await asyncio.wait_for(running, 10)
    assert caught.value.reason == "SUBSCRIPTION_NOT_FOUND"


async def test_a_buyer_or_a_stranger_may_not_consume(
    parties: Parties, client: AfterSaleClient
) -> None:
    name = await shop_subscription(parties)
    buyer = parties.buyer.subscriber(name, "c1", **QUICK)
    stranger = client.acting_as(Actor.merchant(unique("shop"))).subscriber(name, "c1", **QUICK)

    with pytest.raises(PermissionDenied):
        await asyncio.wait_for(buyer.run(Recorder()), 10)
    with pytest.raises(PermissionDenied) as refused:
        await asyncio.wait_for(stranger.run(Recorder()), 10)
    assert refused.value.reason == "NOT_YOUR_SUBSCRIPTION"


def test_the_subscriber_sends_the_actor_s_metadata(client: AfterSaleClient) -> None:
    shop = client.acting_as(Actor.merchant("shop-1")).subscriber("feed", "c1")
    buyer = client.acting_as(Actor.buyer("b-1")).subscriber("feed", "c1")
    plain = Subscriber(client.channel, "feed", "c1", token="tok")

    assert shop.metadata == [("authorization", f"Bearer {client.token}"),
                             ("x-actor-role", "MERCHANT"), ("x-shop-id", "shop-1")]  # fmt: skip
    assert ("x-actor-id", "b-1") in buyer.metadata
    assert plain.metadata == [("authorization", "Bearer tok")]


async def _true(value: bool) -> bool:
    return value
