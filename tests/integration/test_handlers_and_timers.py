"""The handlers and the timer worker over a real Redis (standalone and cluster): the write
path load → decide → commit under races, idempotency, the order-line rules, and durable
timers that fire once in effect."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.commands import Apply, Negotiate, RecordContactAttempt, Reject
from aftersale.exceptions import (
    IdempotencyKeyReused,
    LimitExceeded,
    NegotiationRequired,
    VersionConflict,
)
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, HOUR_MS, Policy
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    RejectReason,
    Role,
    State,
)
from service.bootstrap import build
from service.config import Settings
from service.handlers import AfterSaleHandlers, Call
from service.storage.connection import connect
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis
from service.storage.repository import RedisRepository
from service.storage.timer_store import RedisTimerStore
from service.timer_worker import TimerWorker, TimerWorkerSettings
from tests.integration.storage_support import CLIENTS, NOW_MS, Client, pick_client, unique

BUYER = Actor(Role.BUYER, "buyer-1")
MERCHANT = Actor(Role.MERCHANT, "shop-1")
LEASE_MS = 30_000


class Service:
    """The write path and timers as the server wires them, over one Redis client."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.keys = Keys(shards=16)
        self.clock = FakeClock(NOW_MS)
        self.repo = RedisRepository(client, self.keys)
        self.timers = RedisTimerStore(client, self.keys)
        self.handlers = AfterSaleHandlers(self.repo, self.clock, Policy())

    def worker(self) -> TimerWorker:
        settings = TimerWorkerSettings(lease_ms=LEASE_MS, batch=50)
        return TimerWorker(self.timers, self.handlers, self.clock, settings)

    async def apply(self, order_id: str | None = None, key: str | None = None) -> AfterSale:
        command = Apply(
            request_id="",
            order_id=order_id or unique("order"),
            sku_id="sku-1",
            shop_id="shop-1",
            buyer_id="buyer-1",
            type=AfterSaleType.REFUND,
            amount=10_000,
            paid_amount=10_000,
            reason=BuyerReason.QUALITY_ISSUE,
            after_sale_deadline_ms=NOW_MS + 15 * DAY_MS,
        )
        return await self.handlers.handle("", command, call(BUYER, key))

    async def events_of(self, record: AfterSale) -> list[tuple[int, str]]:
        stored = await self.repo.history(record.request_id, 0, 1000)
        return [(e.event.version, e.event.action) for e in stored]


def call(actor: Actor, key: str | None = None, expected_version: int | None = None) -> Call:
    return Call(actor, "order-system", key or unique("idem"), expected_version)


def contact_attempt(minute: int) -> RecordContactAttempt:
    return RecordContactAttempt(
        channel=ContactChannel.PHONE,
        outcome=ContactOutcome.NO_ANSWER,
        attempted_at_ms=NOW_MS - minute * 60_000,
        screenshots=("media/call.png",),
    )


@pytest.fixture(params=CLIENTS)
def service(request: pytest.FixtureRequest) -> Service:
    return Service(pick_client(request))


async def test_a_refused_rejection_writes_nothing(service: Service) -> None:
    record = await service.apply()
    before = await service.events_of(record)

    with pytest.raises(NegotiationRequired):
        await service.handlers.handle(
            record.request_id,
            Reject(RejectReason.BUYER_UNREACHABLE, "no answer", ("media/x.png",)),
            call(MERCHANT),
        )

    stored = await service.repo.load(record.request_id)
    assert stored is not None and stored.version == record.version
    assert await service.events_of(record) == before


async def test_racing_writers_each_commit_once_on_a_fresh_version(service: Service) -> None:
    record = await service.apply()

    results = await asyncio.gather(
        *(
            service.handlers.handle(record.request_id, contact_attempt(i), call(MERCHANT))
            for i in range(8)
        )
    )

    assert sorted(r.version for r in results) == list(range(2, 10))
    versions = [v for v, _ in await service.events_of(record)]
    assert versions == list(range(1, 10))


async def test_racing_writers_that_name_a_version_lose_with_a_conflict(service: Service) -> None:
    record = await service.apply()

    results = await asyncio.gather(
        *(
            service.handlers.handle(
                record.request_id, contact_attempt(i), call(MERCHANT, expected_version=1)
            )
            for i in range(8)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, AfterSale)]
    assert len(winners) == 1 and winners[0].version == 2
    assert all(isinstance(r, VersionConflict) for r in results if r not in winners)


async def test_a_retry_with_the_same_key_returns_the_first_result_and_writes_once(
    service: Service,
) -> None:
    record = await service.apply()
    negotiate = Negotiate(
        NegotiationKind.MODIFY_APPLICATION,
        NegotiationOption.AMOUNT_ONLY,
        images=("media/chat.png",),
        proposed_amount=6_000,
    )

    first = await service.handlers.handle(record.request_id, negotiate, call(MERCHANT, "k1"))
    again = await service.handlers.handle(record.request_id, negotiate, call(MERCHANT, "k1"))

    assert again == first
    assert [v for v, _ in await service.events_of(record)] == [1, 2]
    other = Negotiate(
        NegotiationKind.MODIFY_APPLICATION,
        NegotiationOption.AMOUNT_ONLY,
        images=("media/chat.png",),
        proposed_amount=5_000,
    )
    with pytest.raises(IdempotencyKeyReused):
        await service.handlers.handle(record.request_id, other, call(MERCHANT, "k1"))


async def test_an_application_retried_with_its_key_is_the_same_request(service: Service) -> None:
    order_id = unique("order")

    first = await service.apply(order_id, key="apply-1")
    again = await service.apply(order_id, key="apply-1")

    assert again.request_id == first.request_id


async def test_a_request_id_is_made_from_the_injected_clock_in_the_orders_shard(
    service: Service,
) -> None:
    order_id = unique("order")
    service.clock.set(NOW_MS + 123_456)

    record = await service.apply(order_id)

    same_moment = service.keys.new_request_id(order_id, NOW_MS + 123_456)
    assert record.request_id[:15] == same_moment[:15]  # AS<shard>- and the time token
    assert service.keys.shard_of_request(record.request_id) == service.keys.shard_of_order(order_id)


async def test_the_composition_root_builds_its_keys_from_the_settings(redis: Redis) -> None:
    settings = Settings(redis_url="redis://unused", shards=8)
    app = await build(settings, FakeClock(NOW_MS), redis, serve=False)
    order_id = unique("order")

    record = await app.handlers.handle(
        "",
        Apply("", order_id, "sku-1", "shop-1", "buyer-1", AfterSaleType.REFUND, 10_000, 10_000,
              BuyerReason.QUALITY_ISSUE, NOW_MS + 15 * DAY_MS),
        call(BUYER),
    )  # fmt: skip

    shard = zlib.crc32(order_id.encode()) % 8
    assert record.request_id.startswith(f"AS{shard:02d}-")
    assert await redis.exists(f"{{as:{shard:02d}}}:req:{record.request_id}")
    await app.stop()


async def test_twenty_concurrent_applications_for_one_line_let_exactly_one_in(
    service: Service,
) -> None:
    order_id = unique("order")

    results = await asyncio.gather(
        *(service.apply(order_id) for _ in range(20)), return_exceptions=True
    )

    created = [r for r in results if isinstance(r, AfterSale)]
    assert len(created) == 1
    assert all(isinstance(r, LimitExceeded) for r in results if r not in created)


async def test_three_workers_fire_each_due_timer_once_in_effect(service: Service) -> None:
    records = [await service.apply() for _ in range(30)]
    service.clock.advance(48 * HOUR_MS + 1)
    workers = [service.worker() for _ in range(3)]

    await asyncio.gather(*(w.run_once() for w in workers))
    await asyncio.gather(*(w.run_once() for w in workers))

    assert sum(w.fired for w in workers) == 30
    for record in records:
        stored = await service.repo.load(record.request_id)
        assert stored is not None and stored.state is State.PLATFORM_REFUNDING
        assert await service.events_of(record) == [(1, "apply"), (2, "merchant_timeout")]


async def test_a_timer_claimed_by_a_worker_that_died_is_fired_by_another(
    service: Service,
) -> None:
    record = await service.apply()
    service.clock.advance(48 * HOUR_MS + 1)
    claimed = await service.timers.claim_due(service.clock.now_ms(), LEASE_MS, 10)
    assert len(claimed) == 1  # ... and the worker that claimed it dies here
    survivor = service.worker()

    assert await survivor.run_once() == 0  # the lease still holds
    service.clock.advance(LEASE_MS + 1)
    await survivor.run_once()

    stored = await service.repo.load(record.request_id)
    assert stored is not None and stored.state is State.PLATFORM_REFUNDING
    assert survivor.fired == 1


async def test_a_stale_timer_does_nothing(service: Service) -> None:
    record = await service.apply()
    service.clock.advance(48 * HOUR_MS + 1)
    [member] = await service.timers.claim_due(service.clock.now_ms(), LEASE_MS, 10)
    await service.handlers.handle(record.request_id, contact_attempt(1), call(MERCHANT))

    [fired] = await service.handlers.fire_timers([member])

    assert fired is False
    stored = await service.repo.load(record.request_id)
    assert stored is not None and stored.state is State.MERCHANT_PROCESSING
    assert stored.version == 2


async def test_ops_fire_a_pending_timer_now(service: Service) -> None:
    record = await service.apply()

    fired = await service.handlers.fire_pending(
        record.request_id, call(Actor(Role.PLATFORM, "ops"))
    )

    assert fired.state is State.PLATFORM_REFUNDING
    assert await service.events_of(record) == [(1, "apply"), (2, "merchant_timeout")]
    assert await service.worker().run_once() == 0  # nothing left to fire


async def test_a_pending_timer_survives_a_redis_restart_and_fires(
    tmp_path: Path, redis_factory: Callable[[Path], EmbeddedRedis]
) -> None:
    server = redis_factory(tmp_path / "redis")
    client = connect(Settings(redis_url=server.url))
    try:
        service = Service(client)
        record = await service.apply()
        server.stop()
        server.start()
        service.clock.advance(48 * HOUR_MS + 1)

        await service.worker().run_once()

        stored = await service.repo.load(record.request_id)
        assert stored is not None and stored.state is State.PLATFORM_REFUNDING
        assert stored.timer is None or stored.timer.action is not Action.MERCHANT_TIMEOUT
    finally:
        await client.aclose()


async def test_ops_firing_again_with_the_same_key_does_not_fire_the_next_timer(
    service: Service,
) -> None:
    record = await service.apply()
    ops = Actor(Role.PLATFORM, "ops")

    first = await service.handlers.fire_pending(record.request_id, call(ops, "fire-1"))
    again = await service.handlers.fire_pending(record.request_id, call(ops, "fire-1"))

    assert again == first
    assert await service.events_of(record) == [(1, "apply"), (2, "merchant_timeout")]
    with pytest.raises(VersionConflict):
        await service.handlers.fire_pending(record.request_id, call(ops, expected_version=1))
