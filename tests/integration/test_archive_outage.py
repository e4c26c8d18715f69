"""When PostgreSQL cannot answer, a read that needs the archive says so (ArchiveUnavailable:
UNAVAILABLE with a retry delay), never "no such request"; reads of live requests that Redis
answers alone go on; a pooled connection the server dropped is replaced without an error."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from aftersale.model import Actor
from aftersale.policy import DAY_MS
from aftersale.vocabulary import Role
from service.archive.reads import ArchiveUnavailable
from tests.integration.archive_world import OPS, World, get_reply, unique


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def dead_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool to an address nothing listens on, made as the service makes its own: with no
    connection up front, so it is made even while PostgreSQL is down."""
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres"
    archive: asyncpg.Pool = await asyncpg.create_pool(url, min_size=0, max_size=2, timeout=2)
    try:
        yield archive
    finally:
        await archive.close()


async def test_reads_needing_an_unreachable_archive_are_unavailable_never_not_found(
    redis: Redis,
    archive_db: asyncpg.Connection,
    archive_pool: asyncpg.Pool,
    dead_pool: asyncpg.Pool,
) -> None:
    writer = World(redis, archive_pool, archive_db)
    shop = unique("shop")
    live = await writer.apply(shop, unique("buyer"))
    swept = await writer.refunded(await writer.apply(shop, unique("buyer")))
    await writer.sweep(swept)
    world = World(redis, dead_pool, archive_db)  # the same data; its archive is down
    h = world.handlers

    unavailable = {"read": "record", "outcome": "unavailable"}
    counted = REGISTRY.get_sample_value("aftersale_archive_reads_total", unavailable) or 0.0
    assert get_reply(await h.get(live.request_id, OPS)) == get_reply(live)
    assert (await h.history(live.request_id, OPS)).events  # Redis holds it all
    for read in (
        h.get(swept.request_id, OPS),
        h.get(swept.request_id, Actor(Role.BUYER, swept.buyer_id)),
        h.history(swept.request_id, OPS),
        h.allowed_actions(swept.request_id, OPS, Role.PLATFORM),
        h.list_requests(OPS, shop_id=shop),
        h.shop_stats_window(shop, OPS, DAY_MS),
    ):
        with pytest.raises(ArchiveUnavailable):
            await read
    after = REGISTRY.get_sample_value("aftersale_archive_reads_total", unavailable)
    assert after == counted + 4  # the gets, the history and the allowed actions: the record


async def test_a_connection_the_server_dropped_is_replaced_without_an_error(
    world_pool: tuple[World, asyncpg.Pool],
) -> None:
    world, pool = world_pool
    record = await world.refunded(await world.apply(unique("shop"), unique("buyer")))
    await world.sweep(record)
    assert await world.handlers.get(record.request_id, OPS) == record  # a pooled connection
    async with pool.acquire() as held:
        pid = held.get_server_pid()

    await world.conn.execute("SELECT pg_terminate_backend($1)", pid)  # as a restart would

    assert await world.handlers.get(record.request_id, OPS) == record


@pytest.fixture
async def world_pool(
    redis: Redis, archive_db: asyncpg.Connection, postgres_url: str
) -> AsyncIterator[tuple[World, asyncpg.Pool]]:
    """A world whose archive pool keeps exactly one connection, to drop it under the pool."""
    one: asyncpg.Pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=1)
    try:
        yield World(redis, one, archive_db), one
    finally:
        await one.close()
