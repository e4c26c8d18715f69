"""Durable subscriptions over gRPC (issue 10, item 1): consumers on two server replicas share
a subscription, every refund is handled once after dedupe, per request in version order; a
handler that always fails on one event sends it to the dead letters while the others flow,
and ops list, replay and purge them; a killed consumer's events go to the other; nobody
consumes or sees what is not theirs; a new subscription starts at the live tail."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import subscriptions_pb2_grpc
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.subscribe_support import StreamConsumer
from tests.e2e.support import Api, applied, key, reason_of, rpc_error

new_stub: Callable[[Any], Any] = subscriptions_pb2_grpc.SubscriptionServiceStub
SHARDS = 16


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        redis_max_connections=16,
        metrics_listen="127.0.0.1:0",
        shards=SHARDS,
        subscription_ack_deadline_s=0.6,
        subscription_lease_s=0.6,
        watch_keepalive_s=0.5,
    )


@pytest.fixture
async def replica(
    settings: Settings, clock: FakeClock, redis: Redis, app: App
) -> AsyncIterator[App]:
    """A second server replica on the same Redis (and tokens)."""
    second = await build(settings, clock=clock, redis=redis)
    await second.start()
    try:
        yield second
    finally:
        await second.stop(grace_s=1.0)


class Subs:
    """The subscription service as one caller."""

    def __init__(self, channel: Any, token: str, *extra: tuple[str, str]) -> None:
        self.stub = new_stub(channel)
        self.metadata = [("authorization", f"Bearer {token}"), *extra]

    def __getattr__(self, rpc: str) -> Callable[..., Any]:
        method = getattr(self.stub, rpc)
        return lambda request: method(request, metadata=self.metadata)


def ops(api: Api, channel: Any) -> Subs:
    return Subs(channel, api.ops_token, ("x-actor-id", "ops-1"))


async def create(api: Api, channel: Any, **definition: Any) -> sp.Subscription:
    reply = await ops(api, channel).CreateSubscription(
        sp.CreateSubscriptionRequest(subscription=sp.Subscription(**definition))
    )
    subscription: sp.Subscription = reply.subscription
    return subscription


def payment_subscription(**extra: Any) -> dict[str, Any]:
    return dict(
        name="payment",
        service="payment",
        role=t.ROLE_PAYMENT,
        filter=sp.SubscriptionFilter(signals=[t.SIGNAL_REFUND_REQUESTED]),
        **extra,
    )


async def refund_requested(api: Api) -> str:
    """A fresh request, approved by its merchant: a refund is requested. Its request id."""
    req = await applied(api)
    await req.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )
    return req.request_id


async def burst(api: Api, count: int, width: int = 16) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, width):
        size = min(width, count - start)
        ids += await asyncio.gather(*(refund_requested(api) for _ in range(size)))
    return ids


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


class Consumer:
    """A stream consumer in a task, recording what its handler got."""

    def __init__(self, channel: Any, subscription: str, name: str, token: str, **options: Any):
        self.events: list[t.TransitionEvent] = []
        self.failing: set[str] = set()  # request ids the handler fails on
        self.client = StreamConsumer(channel, subscription, name, token=token, **options)
        self.task = asyncio.create_task(self.client.run(self.handle))

    async def handle(self, event: t.TransitionEvent) -> None:
        self.events.append(event)
        if event.request_id in self.failing:
            raise RuntimeError("the handler fails on this one")

    async def close(self) -> None:
        self.client.stop()
        await asyncio.wait_for(self.task, 10)


async def consumers_settled(api: Api, channel: Any, name: str, count: int) -> None:
    """Until ``count`` consumers hold every shard between them, each some."""

    async def settled() -> bool:
        reply = await ops(api, channel).GetSubscription(sp.GetSubscriptionRequest(name=name))
        shards = [c.shards for c in reply.state.consumers]
        return len(shards) == count and all(shards) and sum(shards) == SHARDS

    await eventually(settled)


async def test_two_consumers_on_two_replicas_share_the_payment_subscription(
    api: Api, app: App, replica: App
) -> None:
    async with grpc.aio.insecure_channel(app.address) as one_channel, \
            grpc.aio.insecure_channel(replica.address) as two_channel:  # fmt: skip
        await create(api, one_channel, **payment_subscription())
        await create(api, one_channel, name="audit", service="ops", role=t.ROLE_PLATFORM)
        pay = [Consumer(c, "payment", f"pay-{i}", api.payment_token)
               for i, c in enumerate((one_channel, two_channel))]  # fmt: skip
        audit = [Consumer(c, "audit", f"audit-{i}", api.ops_token, actor_id="ops")
                 for i, c in enumerate((one_channel, two_channel))]  # fmt: skip
        await consumers_settled(api, one_channel, "payment", 2)
        await consumers_settled(api, one_channel, "audit", 2)

        ids = await burst(api, 150)

        async def all_paid() -> bool:
            return {e.request_id for c in pay for e in c.events} == set(ids)

        await eventually(all_paid)
        await eventually(lambda: _true(sum(len(c.events) for c in audit) >= 2 * len(ids)))
        for consumer in pay + audit:
            await consumer.close()

    refunds = [e.refund_id for c in pay for e in c.events]
    assert len(set(refunds)) == len(ids)  # each refund handled, once after dedupe
    assert all(c.events for c in pay), "both payment consumers got work"
    assert all(len({e.refund_id for e in c.events}) < len(ids) for c in pay)
    assert all(t.SIGNAL_REFUND_REQUESTED in e.signals for c in pay for e in c.events)
    for consumer in audit:  # per request, each consumer saw versions in order...
        versions: dict[str, list[int]] = defaultdict(list)
        for event in consumer.events:
            if event.version not in versions[event.request_id]:  # ...but for redeliveries
                versions[event.request_id].append(event.version)  # (an ack past 0.6 s)
        assert all(v == sorted(v) for v in versions.values())
    everything = {(e.request_id, e.version) for c in audit for e in c.events}
    assert everything == {(rid, v) for rid in ids for v in (1, 2)}


async def _true(value: bool) -> bool:
    return value


async def scrape(app: App) -> str:
    url = f"http://{app.metrics_address}/metrics"
    with await asyncio.to_thread(urllib.request.urlopen, url) as response:
        text: str = response.read().decode()
    return text


async def test_a_failing_event_goes_to_the_dead_letters_and_ops_replay_it(
    api: Api, app: App, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription(max_deliveries=3))
    consumer = Consumer(channel, "payment", "pay-1", api.payment_token)
    await consumers_settled(api, channel, "payment", 1)
    doomed = await applied(api)
    consumer.failing = {doomed.request_id}
    await doomed.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=doomed.request_id, idempotency_key=key())
    )
    others = await burst(api, 10)
    listing = sp.ListDeadLettersRequest(subscription="payment")

    async def dead_lettered() -> bool:
        reply = await ops(api, channel).ListDeadLetters(listing)
        return len(reply.dead_letters) == 1

    await eventually(dead_lettered)

    async def others_flowed() -> bool:
        return {e.request_id for e in consumer.events} >= set(others)

    await eventually(others_flowed)
    letter = (await ops(api, channel).ListDeadLetters(listing)).dead_letters[0]
    assert (letter.event.request_id, letter.deliveries) == (doomed.request_id, 3)
    assert [e.request_id for e in consumer.events].count(doomed.request_id) == 3
    state = (
        await ops(api, channel).GetSubscription(sp.GetSubscriptionRequest(name="payment"))
    ).state
    assert (state.dead_letters, state.pending) == (1, 0)
    metrics = await scrape(app)
    assert 'aftersale_subscription_dead_letters{subscription="payment"} 1.0' in metrics
    assert 'aftersale_subscription_dead_letters_total{subscription="payment"}' in metrics

    consumer.failing = set()
    replay = sp.ReplayDeadLettersRequest(subscription="payment", ids=[letter.id])
    assert (await ops(api, channel).ReplayDeadLetters(replay)).replayed == 1

    async def replayed() -> bool:
        return [e.request_id for e in consumer.events].count(doomed.request_id) == 4

    await eventually(replayed)
    assert consumer.events[-1].event_id == letter.event.event_id
    assert not (await ops(api, channel).ListDeadLetters(listing)).dead_letters

    await consumer.close()


async def test_ops_purge_dead_letters(api: Api, channel: grpc.aio.Channel) -> None:
    await create(api, channel, **payment_subscription(max_deliveries=1))
    consumer = Consumer(channel, "payment", "pay-1", api.payment_token)
    await consumers_settled(api, channel, "payment", 1)
    first, second = await applied(api), await applied(api)
    consumer.failing = {first.request_id, second.request_id}
    for req in (first, second):
        await req.merchant.ApproveAfterSale(
            pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
        )
    listing = sp.ListDeadLettersRequest(subscription="payment", page_size=1)

    async def both_dead() -> bool:
        state = await ops(api, channel).GetSubscription(sp.GetSubscriptionRequest(name="payment"))
        return bool(state.state.dead_letters == 2)

    await eventually(both_dead)
    page = await ops(api, channel).ListDeadLetters(listing)
    assert len(page.dead_letters) == 1 and page.next_page_token
    rest = await ops(api, channel).ListDeadLetters(
        sp.ListDeadLettersRequest(subscription="payment", page_token=page.next_page_token)
    )
    assert {d.event.request_id for d in [*page.dead_letters, *rest.dead_letters]} == {
        first.request_id, second.request_id
    }  # fmt: skip
    purge = sp.PurgeDeadLettersRequest(subscription="payment", all=True)
    assert (await ops(api, channel).PurgeDeadLetters(purge)).purged == 2
    assert not (await ops(api, channel).ListDeadLetters(listing)).dead_letters
    await consumer.close()


async def test_a_killed_consumer_s_unacked_events_go_to_the_other_consumer(
    api: Api, app: App, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription())
    doomed_channel = grpc.aio.insecure_channel(app.address)
    requests: asyncio.Queue[sp.SubscribeRequest] = asyncio.Queue()
    await requests.put(sp.SubscribeRequest(open=sp.SubscribeOpen(subscription="payment",
                                                                  consumer="doomed")))  # fmt: skip

    async def outgoing() -> AsyncIterator[sp.SubscribeRequest]:
        while True:
            yield await requests.get()

    metadata = [("authorization", f"Bearer {api.payment_token}")]
    call = new_stub(doomed_channel).Subscribe(outgoing(), metadata=metadata)
    await consumers_settled(api, channel, "payment", 1)
    ids = await burst(api, 6)
    got: set[str] = set()
    while len(got) < len(ids):
        message = await asyncio.wait_for(call.read(), 10)
        if message.ack_id:
            got.add(message.event.request_id)
    assert got == set(ids)
    await doomed_channel.close()  # killed: nothing acknowledged, no goodbye

    other = Consumer(channel, "payment", "survivor", api.payment_token)
    await eventually(lambda: _true({e.request_id for e in other.events} == set(ids)))
    await other.close()


async def test_only_the_owning_service_consumes_and_only_ops_see_subscriptions(
    api: Api, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription())
    orders = StreamConsumer(channel, "payment", "x", token=api.order_token, role="MERCHANT",
                        shop_id="shop-1")  # fmt: skip
    denied = await rpc_error(orders.run(_ignore))
    unknown = StreamConsumer(channel, "nope", "x", token=api.order_token, role="MERCHANT",
                         shop_id="shop-1")  # fmt: skip
    missing = await rpc_error(unknown.run(_ignore))
    assert denied.code() == missing.code() == grpc.StatusCode.PERMISSION_DENIED
    assert denied.details() == missing.details()
    as_payment = Subs(channel, api.payment_token)
    for call in (
        as_payment.GetSubscription(sp.GetSubscriptionRequest(name="payment")),
        as_payment.ListSubscriptions(sp.ListSubscriptionsRequest()),
        as_payment.ListDeadLetters(sp.ListDeadLettersRequest(subscription="payment")),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED


async def _ignore(event: t.TransitionEvent) -> None:
    return None


async def test_a_merchant_subscription_delivers_only_its_shop(
    api: Api, channel: grpc.aio.Channel
) -> None:
    mine = await applied(api)
    await create(api, channel, name="shop-feed", service="order-system", role=t.ROLE_MERCHANT,
                 filter=sp.SubscriptionFilter(shop_id=mine.shop_id))  # fmt: skip
    shop = Consumer(channel, "shop-feed", "feed-1", api.order_token, role="MERCHANT",
                    shop_id=mine.shop_id)  # fmt: skip
    await consumers_settled(api, channel, "shop-feed", 1)
    other_shop = await applied(api)
    await mine.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    )
    await other_shop.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=other_shop.request_id, idempotency_key=key())
    )
    await eventually(lambda: _true(len(shop.events) >= 1))
    await asyncio.sleep(0.5)
    await shop.close()
    assert {e.shop_id for e in shop.events} == {mine.shop_id}
    stranger = StreamConsumer(channel, "shop-feed", "x", token=api.order_token, role="MERCHANT",
                          shop_id=other_shop.shop_id)  # fmt: skip
    refused = await rpc_error(stranger.run(_ignore))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_new_subscription_starts_at_the_live_tail_unless_created_at_the_oldest(
    api: Api, channel: grpc.aio.Channel
) -> None:
    before = await burst(api, 3)
    await create(api, channel, **payment_subscription())
    await create(api, channel, **{**payment_subscription(), "name": "payment-all",
                                  "start": sp.SUBSCRIPTION_START_OLDEST})  # fmt: skip
    live = Consumer(channel, "payment", "live", api.payment_token)
    oldest = Consumer(channel, "payment-all", "all", api.payment_token)
    after = await burst(api, 3)
    await eventually(lambda: _true({e.request_id for e in oldest.events} == {*before, *after}))
    await eventually(lambda: _true({e.request_id for e in live.events} == set(after)))
    await asyncio.sleep(0.3)
    await live.close()
    await oldest.close()
    assert {e.request_id for e in live.events} == set(after)  # none of before, even late


async def test_create_is_idempotent_and_a_different_definition_is_already_exists(
    api: Api, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription())
    again = await ops(api, channel).CreateSubscription(
        sp.CreateSubscriptionRequest(subscription=sp.Subscription(**payment_subscription()))
    )
    assert not again.created
    changed = sp.Subscription(**payment_subscription(max_deliveries=9))
    error = await rpc_error(
        ops(api, channel).CreateSubscription(sp.CreateSubscriptionRequest(subscription=changed))
    )
    assert (error.code(), reason_of(error)) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "SUBSCRIPTION_EXISTS",
    )
    bad = sp.Subscription(name="x", service="payment")
    error = await rpc_error(
        ops(api, channel).CreateSubscription(sp.CreateSubscriptionRequest(subscription=bad))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    await ops(api, channel).DeleteSubscription(sp.DeleteSubscriptionRequest(name="payment"))
    listed = await ops(api, channel).ListSubscriptions(sp.ListSubscriptionsRequest())
    assert not listed.states


class RawStream:
    """A Subscribe call by hand: ``send`` acks, ``deliveries`` reads."""

    def __init__(self, channel: Any, token: str, subscription: str, consumer: str, **open_: Any):
        self.outgoing: asyncio.Queue[sp.SubscribeRequest] = asyncio.Queue()
        opening = sp.SubscribeOpen(subscription=subscription, consumer=consumer, **open_)
        self.outgoing.put_nowait(sp.SubscribeRequest(open=opening))
        metadata = [("authorization", f"Bearer {token}")]
        self.call = new_stub(channel).Subscribe(self._requests(), metadata=metadata)
        # Reads in a task of their own: a read cancelled by a timeout would cancel the call.
        self.incoming: asyncio.Queue[Any] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            async for message in self.call:
                self.incoming.put_nowait(message)

    async def _requests(self) -> AsyncIterator[sp.SubscribeRequest]:
        while True:
            yield await self.outgoing.get()

    def ack(self, *ack_ids: str) -> None:
        self.outgoing.put_nowait(sp.SubscribeRequest(ack_ids=list(ack_ids)))

    async def deliveries(self, within_s: float) -> list[sp.SubscribeResponse]:
        """What arrives within ``within_s`` (keep-alives left out)."""
        got: list[sp.SubscribeResponse] = []
        end = asyncio.get_running_loop().time() + within_s
        while (left := end - asyncio.get_running_loop().time()) > 0:
            try:
                message = await asyncio.wait_for(self.incoming.get(), left)
            except TimeoutError:
                break
            if message.ack_id:
                got.append(message)
        return got


async def test_a_consumer_holds_at_most_max_in_flight_unacknowledged_events(
    api: Api, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription())
    stream = RawStream(channel, api.payment_token, "payment", "slow", max_in_flight=2)
    await consumers_settled(api, channel, "payment", 1)
    await burst(api, 5)

    # Within the window only what it may hold (the same two again if the 0.6 s ack deadline
    # passes under load: a redelivery holds no more).
    first = await stream.deliveries(0.4)
    held = {m.event.request_id for m in first}
    assert len(held) == 2
    stream.ack(*(m.ack_id for m in first))
    second = await stream.deliveries(0.3)
    assert len({m.event.request_id for m in second} - held) == 2
    stream.call.cancel()


async def test_streams_end_cleanly_at_shutdown_and_the_client_moves_to_another_replica(
    api: Api, channel: grpc.aio.Channel, replica: App
) -> None:
    await create(api, channel, **payment_subscription())
    async with grpc.aio.insecure_channel(replica.address) as to_replica:
        stream = RawStream(to_replica, api.payment_token, "payment", "moving")
        await consumers_settled(api, channel, "payment", 1)
        await replica.stop(grace_s=1.0)
        assert await asyncio.wait_for(stream.call.code(), 10) == grpc.StatusCode.OK
    survivor = Consumer(channel, "payment", "moving", api.payment_token)
    ids = await burst(api, 3)
    await eventually(lambda: _true({e.request_id for e in survivor.events} == set(ids)))
    await survivor.close()


async def test_deleting_a_subscription_ends_its_streams_with_not_found(
    api: Api, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription())
    consumer = StreamConsumer(channel, "payment", "pay-1", token=api.payment_token)
    running = asyncio.create_task(consumer.run(_ignore))
    await consumers_settled(api, channel, "payment", 1)
    await ops(api, channel).DeleteSubscription(sp.DeleteSubscriptionRequest(name="payment"))
    error = await rpc_error(asyncio.wait_for(running, 10))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_open_subscribe_streams_are_capped_with_the_watch_streams(
    api: Api, channel: grpc.aio.Channel
) -> None:
    await create(api, channel, **payment_subscription())
    streams = [RawStream(channel, api.payment_token, "payment", f"c{i}") for i in range(4)]
    await consumers_settled(api, channel, "payment", 4)
    fifth = RawStream(channel, api.payment_token, "payment", "c5")
    assert await asyncio.wait_for(fifth.call.code(), 10) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "4 transition streams" in await fifth.call.details()
    for stream in streams:
        stream.call.cancel()


async def test_subscriptions_declared_in_config_are_created_at_startup(
    settings: Settings, clock: FakeClock, redis: Redis, app: App, channel: grpc.aio.Channel,
    api: Api,
) -> None:  # fmt: skip
    table = '[{"name": "audit", "service": "ops", "role": "PLATFORM", "actions": ["approve"]}]'
    declared = Settings.from_env({"AFTERSALE_SUBSCRIPTIONS": table}).subscriptions
    started = await build(replace(settings, subscriptions=declared), clock=clock, redis=redis)
    await started.stop(grace_s=0.1)
    again = await build(replace(settings, subscriptions=declared), clock=clock, redis=redis)
    await again.stop(grace_s=0.1)
    reply = await ops(api, channel).GetSubscription(sp.GetSubscriptionRequest(name="audit"))
    assert reply.state.subscription.filter.actions == [t.ACTION_APPROVE]
    assert reply.state.subscription.role == t.ROLE_PLATFORM


OPS_RPCS = [m.name for m in sp.DESCRIPTOR.services_by_name["SubscriptionService"].methods
            if m.name != "Subscribe"]  # fmt: skip


@pytest.mark.parametrize("rpc", OPS_RPCS)
async def test_the_ops_rpcs_are_platform_only(
    api: Api, channel: grpc.aio.Channel, rpc: str
) -> None:
    request = getattr(sp, sp.DESCRIPTOR.services_by_name["SubscriptionService"]
                      .methods_by_name[rpc].input_type.name)()  # fmt: skip
    for who in (
        Subs(channel, api.payment_token),
        Subs(channel, api.order_token, ("x-shop-id", "shop-1")),
        Subs(channel, api.order_token, ("x-actor-id", "buyer-1")),
    ):
        error = await rpc_error(getattr(who, rpc)(request))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_buyer_may_not_subscribe(api: Api, channel: grpc.aio.Channel) -> None:
    buyer = StreamConsumer(channel, "payment", "x", token=api.order_token, role="BUYER",
                       actor_id="buyer-1")  # fmt: skip
    assert (await rpc_error(buyer.run(_ignore))).code() == grpc.StatusCode.PERMISSION_DENIED
