"""Helpers for the archive's tests: requests committed through the real commit script, an
in-process archiver over the test Redis and PostgreSQL, and what the archive holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.model import AfterSale
from service.archive.archiver import Archiver, ArchiverSettings
from service.archive.requests import RequestArchiver, Retry
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.subscriptions import Subscriptions, SubscriptionSettings
from tests.integration.storage_support import NOW_MS, applied, approved, commit, refunded

FAST = SubscriptionSettings(ack_deadline_s=2.0, lease_s=0.5, block_ms=50)
QUICK_RETRY = Retry(backoff_s=0.05, backoff_max_s=0.2)


async def finished_request(repo: RedisRepository, keys: Keys) -> AfterSale:
    """A request applied, approved and refunded: 3 versions, terminal."""
    record = await commit(repo, applied(keys))
    record = await commit(repo, approved(record))
    return await commit(repo, refunded(record))


async def archived_events(db: asyncpg.Connection) -> list[tuple[str, int]]:
    """Every (request id, version) of the events table, with duplicates if there were any
    (the primary key forbids them: this lists what is there)."""
    rows = await db.fetch("SELECT request_id, version FROM events ORDER BY 1, 2")
    return [(row["request_id"], row["version"]) for row in rows]


async def archived_versions(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT request_id, version FROM requests")
    return {row["request_id"]: row["version"] for row in rows}


async def wait_until(condition: object, timeout_s: float = 10.0) -> None:
    """Until ``await condition()`` is true (polling every 20 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running_archiver(
    redis: Redis,
    keys: Keys,
    pool: asyncpg.Pool,
    *,
    settings: ArchiverSettings | None = None,
    clock: FakeClock | None = None,
) -> AsyncIterator[Archiver]:
    """An archiver consuming in a task, stopped (and awaited) on the way out."""
    clock = clock or FakeClock(NOW_MS)
    requests = RequestArchiver(redis, keys, pool, retry=QUICK_RETRY)
    subscriptions = Subscriptions(redis, keys, FAST)
    archiver = Archiver(
        subscriptions, requests, clock.now_ms, settings or ArchiverSettings(retry=QUICK_RETRY)
    )
    task = asyncio.create_task(archiver.run())
    try:
        yield archiver
    finally:
        archiver.stop()
        await asyncio.wait_for(task, 10)
