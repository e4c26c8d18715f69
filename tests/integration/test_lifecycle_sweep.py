"""The retention sweep of finished requests on a real Redis (issue 12, item 2).

A finished request leaves Redis once it has been terminal for the retention and the archive
holds its final version (the record's ``a`` equals ``<archive id>:<version>`` for the archive
the sweep was given, checked inside the script that deletes); what it leaves behind is its
order-line index alone, which lives until the line's after-sale deadline, so the line's rules
hold after the request is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool

from aftersale.clock import FakeClock
from aftersale.commands import Apply, Approve, Cancel, RefundSucceeded
from aftersale.exceptions import ActionRefused, LimitExceeded, PermissionDenied, VersionConflict
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, Policy
from aftersale.vocabulary import Action, AfterSaleType, BuyerReason, Role, State
from service.archive.marks import ARCHIVED_FIELD, archived_mark
from service.handlers import AfterSaleHandlers, Call
from service.storage.keys import Keys
from service.storage.lifecycle import TerminalSweep
from service.storage.redis_server import EmbeddedRedis
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    CLIENTS,
    NOW_MS,
    Client,
    pick_client,
    step,
    unique,
)

RETENTION_MS = DAY_MS
DEADLINE_MS = NOW_MS + 60 * DAY_MS  # the lines outlive a sweep a few days on
PAYMENT = Actor(Role.PAYMENT, "pay")
ARCHIVE = "5f0c1d2e-0000-4000-8000-000000000001"  # the archive's identity the sweep is given


class World:
    """Requests made and finished through the handlers, with a fake clock, and the sweep."""

    def __init__(self, client: Client, keys: Keys | None = None) -> None:
        self.client = client
        self.keys = keys or Keys(shards=4)
        self.clock = FakeClock(NOW_MS)
        self.repo = RedisRepository(client, self.keys)
        self.handlers = AfterSaleHandlers(self.repo, self.clock, Policy())
        self.sweep = TerminalSweep(client, self.keys, retention_ms=RETENTION_MS, batch=3)

    async def apply(
        self,
        order_id: str | None = None,
        *,
        buyer: str = "buyer-1",
        deadline_ms: int = DEADLINE_MS,
        shop: str | None = None,
    ) -> AfterSale:
        command = Apply(
            request_id="",
            order_id=order_id or unique("order"),
            sku_id="sku-1",
            shop_id=shop or unique("shop"),
            buyer_id=buyer,
            type=AfterSaleType.REFUND,
            amount=10_000,
            paid_amount=10_000,
            reason=BuyerReason.QUALITY_ISSUE,
            after_sale_deadline_ms=deadline_ms,
        )
        return await self.handlers.handle("", command, self.call(Role.BUYER, buyer))

    async def cancelled(self, order_id: str | None = None, **kwargs: Any) -> AfterSale:
        record = await self.apply(order_id, **kwargs)
        return await self.handlers.handle(
            record.request_id, Cancel(), self.call(Role.BUYER, record.buyer_id)
        )

    async def refunded(self, order_id: str | None = None, **kwargs: Any) -> AfterSale:
        record = await self.apply(order_id, **kwargs)
        approved = await self.handlers.handle(
            record.request_id, Approve(), self.call(Role.MERCHANT, record.shop_id)
        )
        assert approved.refund is not None
        done = RefundSucceeded(approved.refund.refund_id)
        return await self.handlers.handle(record.request_id, done, self.call(Role.PAYMENT, "pay"))

    def call(self, role: Role, actor_id: str) -> Call:
        return Call(Actor(role, actor_id), "order-system", unique("idem"))

    async def archive(self, record: AfterSale, version: int | None = None) -> None:
        """What the archiver does once PostgreSQL holds ``version`` (default: the record's)."""
        at = record.version if version is None else version
        mark = archived_mark(ARCHIVE, at)
        await self.client.hset(self.keys.record(record.request_id), ARCHIVED_FIELD, mark)

    async def sweep_after(self, ms: int) -> Any:
        self.clock.advance(ms)
        return await self.sweep.sweep(self.clock.now_ms(), archive=ARCHIVE)

    async def exists(self, record: AfterSale) -> bool:
        return bool(await self.client.exists(self.keys.record(record.request_id)))


@pytest.fixture(params=CLIENTS)
def world(request: pytest.FixtureRequest) -> World:
    return World(pick_client(request))


@pytest.fixture
def standalone(redis: Redis) -> World:
    return World(redis)


# -- the queue -----------------------------------------------------------------------------


async def test_a_request_is_queued_when_it_becomes_terminal_by_when_it_did(world: World) -> None:
    record = await world.apply()
    shard = world.keys.shard_of_request(record.request_id)
    queue = world.keys.terminal(shard)
    assert await world.client.zscore(queue, record.request_id) is None

    world.clock.advance(5_000)
    done = await world.handlers.handle(
        record.request_id, Cancel(), world.call(Role.BUYER, "buyer-1")
    )

    assert done.state is State.USER_CANCELD
    assert await world.client.zscore(queue, record.request_id) == done.updated_at_ms


# -- what is never swept ---------------------------------------------------------------------


async def test_a_request_whose_final_version_is_not_archived_is_never_swept(world: World) -> None:
    never = await world.cancelled()
    earlier = await world.refunded()
    await world.archive(earlier, version=earlier.version - 1)  # the archive is behind

    swept = await world.sweep_after(30 * DAY_MS)

    assert (swept.swept, swept.waiting) == (0, 2)
    assert await world.exists(never) and await world.exists(earlier)
    assert await world.repo.load(never.request_id) == never
    assert len(await world.repo.history(never.request_id)) == never.version


async def test_a_request_archived_in_another_archive_or_by_the_previous_release_is_kept(
    world: World,
) -> None:
    elsewhere = await world.cancelled()
    key = world.keys.record(elsewhere.request_id)
    other = "5f0c1d2e-0000-4000-8000-0000000000ff"  # an archive since wiped or replaced
    await world.client.hset(key, ARCHIVED_FIELD, archived_mark(other, elsewhere.version))
    plain = await world.cancelled()  # marked by the previous release: the version alone
    await world.client.hset(world.keys.record(plain.request_id), ARCHIVED_FIELD, plain.version)
    here = await world.cancelled()
    await world.archive(here)

    swept = await world.sweep_after(30 * DAY_MS)

    assert (swept.swept, swept.waiting) == (1, 2)
    assert await world.exists(elsewhere) and await world.exists(plain)
    assert not await world.exists(here)


async def test_a_request_within_its_retention_is_kept_even_when_archived(world: World) -> None:
    record = await world.cancelled()
    await world.archive(record)

    swept = await world.sweep_after(RETENTION_MS - 1_000)

    assert (swept.swept, swept.waiting) == (0, 0) and await world.exists(record)
    assert swept.oldest_terminal_ms == record.updated_at_ms


@dataclass
class _Hook:
    """Run ``rival`` just before the ``at``-th command sent (counted from 1; 0: never)."""

    rival: Callable[[], Awaitable[None]]
    at: int = 0
    sends: int = 0


def _hooked(hook: _Hook) -> type[Connection]:
    """A connection class that runs ``hook`` before the commands its connections send: another
    client's write lands between any two of the sweep's round trips."""

    class Hooked(Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            hook.sends += 1
            if hook.sends == hook.at:
                await hook.rival()
            await super().send_packed_command(command, check_health)

    return Hooked


async def _move_between_round_trips(
    redis_server: EmbeddedRedis,
    redis: Redis,
    at: int,
    sweeper: Callable[[Redis, World, AfterSale], Awaitable[None]],
) -> tuple[bool, bool]:
    """A terminal request archived at its version; a sweep run by ``sweeper`` on a client
    whose ``at``-th command is preceded by a commit that moves the request (a new version,
    still terminal, still due: only the archived version tells it moved). Returns (the move
    committed, the record is still there)."""
    world = World(redis)
    record = await world.cancelled()
    await world.archive(record)
    world.clock.advance(30 * DAY_MS)
    moved = step(record, Action.RECORD_CONTACT_ATTEMPT, record.state, now_ms=record.updated_at_ms)
    committed = False

    async def rival() -> None:
        nonlocal committed
        try:
            await world.repo.commit(moved, read_version=record.version)
            committed = True
        except VersionConflict:  # the sweep had deleted it already: nothing moved
            pass

    hook = _Hook(rival)
    pool = ConnectionPool.from_url(redis_server.url, connection_class=_hooked(hook))
    client = Redis(connection_pool=pool, decode_responses=True)
    try:
        await client.ping()  # connected (its handshake is not one of the sweep's commands)
        hook.sends, hook.at = 0, at
        await sweeper(client, world, record)
    finally:
        await client.aclose()
        await pool.aclose()
    return committed, await world.exists(record)


async def _sweep(client: Redis, world: World, record: AfterSale) -> None:
    sweep = TerminalSweep(client, world.keys, retention_ms=RETENTION_MS)
    await sweep.sweep(world.clock.now_ms(), archive=ARCHIVE)


async def _check_then_delete(client: Redis, world: World, record: AfterSale) -> None:
    """A sweep that checks the archived version outside the script that deletes (bytes: a
    client given a pool does not decode)."""
    key = world.keys.record(record.request_id)
    archived, version = await client.hmget(key, [ARCHIVED_FIELD, "version"])
    if version is not None and archived == archived_mark(ARCHIVE, int(version)).encode():
        await client.delete(key, world.keys.history(record.request_id))


@pytest.mark.parametrize("at", range(1, 9))
async def test_a_request_that_moved_after_it_was_archived_is_never_swept(
    redis_server: EmbeddedRedis, redis: Redis, at: int
) -> None:
    committed, still_there = await _move_between_round_trips(redis_server, redis, at, _sweep)

    assert still_there or not committed  # gone only if it never moved
    assert committed or at > 1  # before the sweep's first command the move always lands


async def test_the_move_test_catches_a_sweep_that_checks_outside_its_script(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    outcomes = [
        await _move_between_round_trips(redis_server, redis, at, _check_then_delete)
        for at in range(1, 4)
    ]

    assert (True, False) in outcomes  # moved, and deleted all the same


# -- what a swept request leaves -------------------------------------------------------------


async def test_a_swept_request_leaves_nothing_but_its_order_line_index(world: World) -> None:
    record = await world.refunded()
    shard = world.keys.shard_of_request(record.request_id)
    neighbour = _order_in(world.keys, shard)  # in the same shop listing, not yet archived
    other = await world.cancelled(neighbour, shop=record.shop_id, buyer="buyer-2")
    await world.archive(record)

    swept = await world.sweep_after(RETENTION_MS)

    assert (swept.swept, swept.waiting) == (1, 1)
    naming = await _keys_naming(world, shard, record.request_id, record.order_id)
    line = world.keys.line(record.order_id, record.sku_id)
    idempotency = {k for k in naming if ":idempotency:" in k}
    assert naming == {line, world.keys.events(shard)} | idempotency
    assert len(idempotency) == 3  # apply, approve, refund: each expires on its own, in a day
    for key in idempotency:
        assert 0 < await world.client.ttl(key) <= 86_400
    for key in (world.keys.order(record.order_id), world.keys.buyer(shard, record.buyer_id)):
        assert not await world.client.exists(key)  # its own listings: empty, so gone
    shop = world.keys.shop(shard, record.shop_id)
    assert await world.client.zrange(shop, 0, -1) == [other.request_id]
    assert await world.exists(other)


async def _keys_naming(world: World, shard: int, *ids: str) -> set[str]:
    """The keys of ``shard`` whose name, members, values or entries hold any of ``ids``."""
    found = set()
    client = world.client
    async for key in client.scan_iter(match=f"{world.keys.tag(shard)}*", count=1_000):
        kind = await client.type(key)
        held: list[Any] = [key]
        if kind == "zset":
            held += await client.zrange(key, 0, -1)
        elif kind == "hash":
            held += await client.hvals(key)
        elif kind == "stream":
            held += [fields for _, fields in await client.xrange(key) or []]
        elif kind == "list":
            held += await client.lrange(key, 0, -1)
        elif kind == "string":
            held.append(await client.get(key))
        if any(i in str(text) for i in ids for text in held):
            found.add(key)
    return found


async def test_the_line_index_expires_at_the_lines_deadline_by_the_services_clock(
    world: World,
) -> None:
    record = await world.cancelled()
    await world.archive(record)
    line = world.keys.line(record.order_id, record.sku_id)
    assert await world.client.pttl(line) == -1

    await world.sweep_after(2 * RETENTION_MS)

    left = DEADLINE_MS - world.clock.now_ms()
    pttl = await world.client.pttl(line)
    assert left - 5_000 < pttl <= left


async def test_a_line_past_its_deadline_goes_with_its_last_request_and_apply_stays_refused(
    standalone: World,
) -> None:
    world = standalone
    record = await world.cancelled(deadline_ms=NOW_MS + 10 * DAY_MS)
    await world.archive(record)

    swept = await world.sweep_after(20 * DAY_MS)

    assert swept.swept == 1
    assert not await world.client.exists(world.keys.line(record.order_id, record.sku_id))
    with pytest.raises(ActionRefused) as refused:
        await world.apply(record.order_id, deadline_ms=record.after_sale_deadline_ms)
    assert refused.value.reason == "APPLICATION_DEADLINE_PASSED"


async def test_a_line_never_gets_a_shorter_expiry_than_one_it_has(standalone: World) -> None:
    world = standalone
    order = unique("order")
    early = await world.cancelled(order, deadline_ms=NOW_MS + 40 * DAY_MS)
    late = await world.cancelled(order, deadline_ms=NOW_MS + 50 * DAY_MS)
    line = world.keys.line(order, "sku-1")
    await world.archive(late)  # the later deadline goes first
    await world.sweep_after(RETENTION_MS)
    given = await world.client.pttl(line)
    await world.archive(early)

    swept = await world.sweep_after(1_000)

    assert swept.swept == 1
    assert given - 5_000 < await world.client.pttl(line) <= given  # untouched
    assert given > early.after_sale_deadline_ms - world.clock.now_ms() + 5 * DAY_MS


async def test_an_application_takes_the_expiry_off_its_line(standalone: World) -> None:
    world = standalone
    order = unique("order")
    first = await world.cancelled(order)
    await world.archive(first)
    await world.sweep_after(RETENTION_MS)
    line = world.keys.line(order, "sku-1")
    assert await world.client.pttl(line) > 0

    second = await world.apply(order)  # before the deadline: allowed

    assert await world.client.pttl(line) == -1  # the open request's line never expires
    assert await world.client.hgetall(line) == {
        "active": second.request_id,
        "attempts": "2",
        "buyer": "buyer-1",
    }


# -- the line's rules after the sweep --------------------------------------------------------


async def test_after_the_sweep_a_refunded_line_still_refuses_a_new_application(
    world: World,
) -> None:
    record = await world.refunded()
    await world.archive(record)
    assert (await world.sweep_after(RETENTION_MS)).swept == 1

    with pytest.raises(LimitExceeded) as refused:
        await world.apply(record.order_id)

    assert refused.value.reason == "LINE_ALREADY_REFUNDED"
    assert refused.value.refusal.metadata["refunded_request_id"] == record.request_id


async def test_after_the_sweep_a_line_still_counts_its_five_attempts(world: World) -> None:
    order = unique("order")
    for _ in range(5):
        await world.archive(await world.cancelled(order))
    assert (await world.sweep_after(RETENTION_MS)).swept == 5
    assert await world.client.zcard(world.keys.order(order)) == 0

    with pytest.raises(LimitExceeded) as refused:
        await world.apply(order)

    assert refused.value.reason == "ATTEMPT_LIMIT"


async def test_after_the_sweep_a_line_still_has_one_open_request(world: World) -> None:
    order = unique("order")
    gone = await world.cancelled(order)
    await world.archive(gone)
    open_one = await world.apply(order)
    assert (await world.sweep_after(RETENTION_MS)).swept == 1
    assert await world.client.pttl(world.keys.line(order, "sku-1")) == -1  # no expiry: open

    with pytest.raises(LimitExceeded) as refused:
        await world.apply(order)

    assert refused.value.reason == "LINE_HAS_OPEN_REQUEST"
    assert refused.value.refusal.metadata["open_request_id"] == open_one.request_id


async def test_after_the_sweep_the_line_still_belongs_to_its_buyer(world: World) -> None:
    order = unique("order")
    record = await world.cancelled(order, buyer="buyer-1")
    await world.archive(record)
    await world.client.hdel(world.keys.line(order, "sku-1"), "buyer")  # indexed before buyers
    assert (await world.sweep_after(RETENTION_MS)).swept == 1

    assert await world.client.hget(world.keys.line(order, "sku-1"), "buyer") == "buyer-1"
    with pytest.raises(PermissionDenied):
        await world.apply(order, buyer="buyer-2")


# -- batches and the walk --------------------------------------------------------------------


async def test_a_pass_reaches_archived_requests_behind_more_than_a_batch_that_wait(
    standalone: World,
) -> None:
    world = standalone
    keys = world.keys
    waiting = [await world.cancelled(_order_in(keys, 0)) for _ in range(7)]  # batch is 3
    world.clock.advance(1_000)
    archived = [await world.cancelled(_order_in(keys, 0)) for _ in range(4)]
    for record in archived:
        await world.archive(record)

    swept = await world.sweep_after(RETENTION_MS)

    assert (swept.swept, swept.waiting) == (4, 7)
    assert swept.oldest_terminal_ms == waiting[0].updated_at_ms
    assert not any([await world.exists(r) for r in archived])


async def test_the_walk_queues_terminal_requests_the_previous_release_never_queued(
    standalone: World,
) -> None:
    world = standalone
    keys = world.keys
    old = [await world.cancelled(_order_in(keys, 1)) for _ in range(5)]
    still_open = await world.apply(_order_in(keys, 1))
    queue = keys.terminal(1)
    await world.client.delete(queue)  # as the previous release left them
    for record in old:
        await world.archive(record)
    sweep = TerminalSweep(world.client, keys, retention_ms=RETENTION_MS, walk_batch=2)

    passes = [await sweep.sweep(world.clock.now_ms(), archive=ARCHIVE) for _ in range(4)]

    assert sum(p.queued_by_walk for p in passes) == 5
    assert passes[-1].walk_done and not passes[0].walk_done
    queued = await world.client.zrange(queue, 0, -1, withscores=True)
    assert sorted(queued) == sorted((r.request_id, r.updated_at_ms) for r in old)
    assert await world.client.hget(keys.terminal_walk(1), "done") is not None
    world.clock.advance(RETENTION_MS)
    assert (await sweep.sweep(world.clock.now_ms(), archive=ARCHIVE)).swept == 5
    assert await world.exists(still_open)


def _order_in(keys: Keys, shard: int) -> str:
    while True:
        order = unique("order")
        if keys.shard_of_order(order) == shard:
            return order
