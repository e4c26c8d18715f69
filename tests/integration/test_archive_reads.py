"""Reads that do not care where a request is (SPEC §12), over a real Redis and a real
PostgreSQL: a request archived and taken out of Redis answers GetAfterSale, GetHistory,
GetAllowedActions and every listing with the same bytes as before, under the same rules of
who may see what, and the page tokens page on across the move."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from aftersale.exceptions import NotFound, PermissionDenied
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Role, State
from service.storage.codec import encode_record, encode_record_object
from tests.archive_rows import archive_request, sweep
from tests.integration.archive_world import (
    OPS,
    World,
    get_reply,
    history_reply,
    unique,
)
from tests.integration.storage_support import CLIENTS, Client, pick_client
from tests.previous_event_form import previous_row


@pytest.fixture
def world(redis: Redis, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection) -> World:
    return World(redis, archive_pool, archive_db)


async def reads_of(world: World, record: AfterSale, actor: Actor) -> list[bytes]:
    """Everything a caller can read of one request, as reply bytes."""
    h, rid = world.handlers, record.request_id
    replies = [get_reply(await h.get(rid, actor))]
    for offset, limit in ((0, 100), (0, 2), (2, 2), (4, 2), (1, 1), (50, 10)):
        replies.append(history_reply(await h.history(rid, actor, offset, limit)))
    stored, verdicts = await h.allowed_actions(rid, actor, actor.role)
    replies.append(get_reply(stored) + repr(verdicts).encode())
    return replies


async def test_a_swept_request_reads_the_same_bytes_from_the_archive(world: World) -> None:
    shop, buyer = unique("shop"), unique("buyer")
    disputed = await world.disputed(await world.apply(shop, buyer))
    refunded = await world.refunded(await world.apply(shop, buyer))
    parties = [OPS, Actor(Role.BUYER, buyer), Actor(Role.MERCHANT, shop)]
    before = [await reads_of(world, r, a) for r in (disputed, refunded) for a in parties]

    await world.archive(disputed)
    await world.sweep(refunded)

    after = [await reads_of(world, r, a) for r in (disputed, refunded) for a in parties]
    assert after == before


@pytest.mark.parametrize("encode", [encode_record, encode_record_object], ids=["array", "object"])
async def test_an_archived_record_of_either_blob_form_reads_the_same(
    world: World, encode: Callable[[AfterSale], bytes]
) -> None:
    """The archiver writes the object form; a positional one reads all the same."""
    buyer = unique("buyer")
    refunded = await world.refunded(await world.apply(unique("shop"), buyer))
    actor = Actor(Role.BUYER, buyer)
    before = await reads_of(world, refunded, actor)
    await world.sweep(refunded)

    blob = encode(refunded).decode()
    sql = "UPDATE requests SET record = $1 WHERE request_id = $2"
    await world.conn.execute(sql, blob, refunded.request_id)

    assert await reads_of(world, refunded, actor) == before


async def test_the_archive_answers_nobody_who_may_not_see_the_request(world: World) -> None:
    record = await world.refunded(await world.apply(unique("shop"), unique("buyer")))
    await world.sweep(record)
    strangers = [Actor(Role.BUYER, "someone-else"), Actor(Role.MERCHANT, "another-shop")]
    owner = await world.handlers.get(record.request_id, Actor(Role.BUYER, record.buyer_id))
    assert owner == record  # it is there, for whoever may see it

    for actor in strangers:
        with pytest.raises(PermissionDenied):
            await world.handlers.get(record.request_id, actor)
        with pytest.raises(PermissionDenied):
            await world.handlers.history(record.request_id, actor)

    missing = world.keys.new_request_id("order-nowhere", world.clock.now_ms())
    with pytest.raises(NotFound):
        await world.handlers.get(missing, OPS)
    with pytest.raises(PermissionDenied):  # the same answer as for a request that exists
        await world.handlers.get(missing, strangers[0])


async def test_a_history_swept_after_its_record_was_read_comes_from_the_archive(
    world: World,
) -> None:
    record = await world.disputed(await world.apply(unique("shop"), unique("buyer")))
    before = history_reply(await world.handlers.history(record.request_id, OPS, 1, 3))
    await world.archive(record)

    # The record was read from Redis, then the sweep took the history: the read must not
    # answer an empty page for events the record says exist.
    await world.redis.delete(world.keys.history(record.request_id))

    after = history_reply(await world.handlers.history(record.request_id, OPS, 1, 3))
    assert after == before


@pytest.fixture(params=CLIENTS)
def any_client(request: pytest.FixtureRequest) -> Client:
    """The standalone Redis, or the cluster (the listings fan out over every node)."""
    return pick_client(request)


async def test_every_listing_pages_the_same_across_redis_and_the_archive(
    any_client: Client, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    world = World(any_client, archive_pool, archive_db)
    shop, buyers = unique("shop"), [unique("buyer"), unique("buyer")]
    made: list[AfterSale] = []
    for step_ms in (0, 0, 0, 1_000, 0, 5_000, 0, 0, 60_000, 1):  # ties on purpose
        world.clock.advance(step_ms)
        made.append(await world.apply(shop, buyers[len(made) % 2]))
    done = [await world.refunded(r) for r in made[:4]] + [await world.cancelled(made[5])]
    disputed = await world.disputed(made[7])
    listings: list[tuple[Actor, dict[str, Any]]] = [
        (OPS, {}),
        (OPS, {"shop_id": shop}),
        (OPS, {"order_id": made[2].order_id}),
        (OPS, {"states": frozenset({State.MERCHANT_REFUND_SUCCESS})}),
        (OPS, {"states": frozenset({State.MERCHANT_PROCESSING, State.USER_CANCELD})}),
        (Actor(Role.MERCHANT, shop), {}),
        (Actor(Role.MERCHANT, shop), {"buyer_id": buyers[1]}),
        (Actor(Role.BUYER, buyers[0]), {}),
        (Actor(Role.BUYER, buyers[1]), {"states": frozenset({State.PLATFORM_ARBITRATING})}),
        (OPS, {"created_from_ms": made[1].created_at_ms}),
        (OPS, {"created_before_ms": made[5].created_at_ms}),
        (Actor(Role.MERCHANT, shop), {"created_from_ms": made[3].created_at_ms + 1}),
        (
            Actor(Role.BUYER, buyers[1]),
            {"created_from_ms": made[3].created_at_ms, "created_before_ms": made[9].created_at_ms},
        ),
    ]
    sizes = (1, 2, 3, 50)
    before = [await world.walk(a, n, **f) for a, f in listings for n in sizes]

    await world.archive(disputed, made[9], done[0])  # in both places from now on
    await world.sweep(done[1], done[2], done[3], done[4])  # the tie in the middle, too

    after = [await world.walk(a, n, **f) for a, f in listings for n in sizes]
    assert after == before


async def test_a_request_in_both_places_lists_by_its_state_in_redis(world: World) -> None:
    shop = unique("shop")
    record = await world.apply(shop, unique("buyer"))
    await world.archive(record)  # archived while MERCHANT_PROCESSING…
    await world.cancelled(record)  # …then moved on in Redis, before the archiver caught up
    merchant = Actor(Role.MERCHANT, shop)

    stale = await world.handlers.list_requests(
        merchant, states=frozenset({State.MERCHANT_PROCESSING})
    )
    current = await world.handlers.list_requests(merchant, states=frozenset({State.USER_CANCELD}))
    everything = await world.handlers.list_requests(merchant)

    assert stale.records == []
    assert [r.state for r in current.records] == [State.USER_CANCELD]
    assert [r.request_id for r in everything.records] == [record.request_id]


async def test_a_page_token_issued_before_the_sweep_pages_on_after_it(world: World) -> None:
    shop = unique("shop")
    made = []
    for _ in range(6):
        world.clock.advance(1_000)
        made.append(await world.refunded(await world.apply(shop, unique("buyer"))))
    merchant = Actor(Role.MERCHANT, shop)
    first = await world.handlers.list_requests(merchant, page_size=2)
    rest_before = await world.walk(merchant, 2)

    await world.sweep(*made)

    second = await world.handlers.list_requests(
        merchant, page_size=2, page_token=first.next_page_token
    )
    assert [r.request_id for r in second.records] == [made[3].request_id, made[2].request_id]
    assert await world.walk(merchant, 2) == rest_before


async def test_a_time_range_lists_the_requests_created_inside_it_from_both_places(
    world: World,
) -> None:
    shop = unique("shop")
    made = []
    for step_ms in (0, 1_000, 0, 1_000, 1_000):
        world.clock.advance(step_ms)
        made.append(await world.refunded(await world.apply(shop, unique("buyer"))))
    await world.sweep(made[0], made[2], made[4])
    start, end = made[1].created_at_ms, made[4].created_at_ms  # made[1] and made[2] tie
    merchant = Actor(Role.MERCHANT, shop)

    pages = []
    token = ""
    while True:
        page = await world.handlers.list_requests(
            merchant, page_size=1, page_token=token, created_from_ms=start, created_before_ms=end
        )
        pages.append(page.records)
        token = page.next_page_token
        if not token:
            break

    inside = sorted(
        (r for r in made if start <= r.created_at_ms < end),
        key=lambda r: (r.created_at_ms, r.request_id),
        reverse=True,
    )
    assert [r.request_id for page in pages for r in page] == [r.request_id for r in inside]
    assert len(inside) == 3


async def test_a_request_the_archive_places_elsewhere_is_listed_once_where_redis_has_it(
    world: World,
) -> None:
    shop = unique("shop")
    made = [await world.apply(shop, unique("buyer")) for _ in range(3)]
    await world.archive(*made)
    # An archiver that wrote the created time with another precision: the archive's
    # position of the request differs from Redis's listing position.
    await world.conn.execute(
        "UPDATE requests SET created_at = created_at + interval '1 millisecond'"
        " WHERE request_id = $1",
        made[1].request_id,
    )

    page = await world.handlers.list_requests(Actor(Role.MERCHANT, shop))

    assert sorted(r.request_id for r in page.records) == sorted(r.request_id for r in made)


async def test_history_rows_of_the_previous_release_read_the_same_from_the_archive(
    world: World,
) -> None:
    record = await world.disputed(await world.apply(unique("shop"), unique("buyer")))
    before = history_reply(await world.handlers.history(record.request_id, OPS))
    events = await world.repo.history(record.request_id, 0, 100)

    await archive_request(world.conn, record, [previous_row(e.event, e.event_id) for e in events])
    await sweep(world.redis, world.keys, record)

    assert history_reply(await world.handlers.history(record.request_id, OPS)) == before
