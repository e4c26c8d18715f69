"""A shop's figures over a window, from the archive (SPEC §10), over a real Redis and a real
PostgreSQL: the live counters' rules over the events of the window, whichever form the
history rows were stored in."""

from __future__ import annotations

import asyncpg
import pytest
from redis.asyncio import Redis

from aftersale.exceptions import PermissionDenied
from aftersale.model import Actor
from aftersale.policy import DAY_MS
from aftersale.vocabulary import BuyerReason, Role
from service.api.convert_stats import MAX_WINDOW_MS, shop_stats
from service.archive.reads import ArchiveDisabled
from tests.archive_rows import archive_request
from tests.integration.archive_world import OPS, World, unique
from tests.previous_event_form import previous_row


@pytest.fixture
def world(redis: Redis, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection) -> World:
    return World(redis, archive_pool, archive_db)


async def a_shops_month(world: World, shop: str) -> None:
    """Four requests: a quality refund, a refund for another reason, a dispute, a cancel."""
    buyer = unique("buyer")
    quality = await world.refunded(await world.apply(shop, buyer))
    world.clock.advance(DAY_MS)
    other = await world.apply(shop, buyer, BuyerReason.NO_LONGER_WANT)
    other = await world.refunded(other)
    world.clock.advance(DAY_MS)
    disputed = await world.disputed(await world.apply(shop, buyer))
    cancelled = await world.cancelled(await world.apply(shop, buyer))
    await world.archive(quality, other, disputed, cancelled)
    world.clock.advance(1)  # a window ends now, exclusive: the events of the last moment are in


async def test_a_window_over_the_shops_whole_life_is_its_live_figures(world: World) -> None:
    shop = unique("shop")
    await a_shops_month(world, shop)

    live = await world.handlers.shop_stats(shop, OPS)
    windowed, start, end = await world.handlers.shop_stats_window(shop, OPS, MAX_WINDOW_MS)

    assert shop_stats(shop, windowed) == shop_stats(shop, live)
    counts = (windowed["applications"], windowed["rejections"], windowed["interventions"])
    assert counts == (4, 1, 1)
    assert (windowed["refunds:QUALITY"], windowed["refunds:OTHER"]) == (1, 1)
    assert end == world.clock.now_ms() and start == end - MAX_WINDOW_MS


async def test_a_window_counts_the_events_inside_it_only(world: World) -> None:
    shop = unique("shop")
    first = await world.apply(shop, unique("buyer"))  # at t0: outside the window below
    world.clock.advance(10 * DAY_MS)
    start = world.clock.now_ms()
    second = await world.apply(shop, unique("buyer"))  # at the window's start: inside
    await world.cancelled(first)  # no figure counts a cancel
    world.clock.advance(DAY_MS)
    end = world.clock.now_ms()
    third = await world.apply(shop, unique("buyer"))  # at its end: outside (exclusive)
    await world.archive(first, second, third)

    figures, got_start, got_end = await world.handlers.shop_stats_window(
        shop, OPS, end - start, end
    )

    assert figures == {"applications": 1}
    assert (got_start, got_end) == (start, end)


async def test_history_rows_of_the_previous_release_count_the_same(world: World) -> None:
    shop = unique("shop")
    disputed = await world.disputed(await world.apply(shop, unique("buyer")))
    events = await world.repo.history(disputed.request_id, 0, 100)
    flat_rows = [previous_row(stored.event, stored.event_id) for stored in events]

    await archive_request(world.conn, disputed, flat_rows)
    world.clock.advance(1)

    figures, _, _ = await world.handlers.shop_stats_window(shop, OPS, MAX_WINDOW_MS)
    live = await world.handlers.shop_stats(shop, OPS)
    assert shop_stats(shop, figures) == shop_stats(shop, live)
    assert figures["negotiations:AMOUNT_ONLY"] == 1
    assert figures["negotiation_outcomes:AMOUNT_ONLY:REJECTED"] == 1


async def test_a_window_without_an_archive_is_refused_after_the_callers_rights(
    redis: Redis, archive_db: asyncpg.Connection
) -> None:
    world = World(redis, None, archive_db)
    shop = unique("shop")

    with pytest.raises(ArchiveDisabled) as refused:
        await world.handlers.shop_stats_window(shop, Actor(Role.MERCHANT, shop), DAY_MS)
    with pytest.raises(PermissionDenied):
        await world.handlers.shop_stats_window(shop, Actor(Role.BUYER, "b"), DAY_MS)

    assert refused.value.field == "window"
    assert await world.handlers.shop_stats(shop, OPS) == {}  # all-time figures still answer
