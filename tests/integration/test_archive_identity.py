"""The archive's identity on real Redis and PostgreSQL: an archive wiped or replaced while Redis
keeps its marks loses nothing. The sweep deletes only what is marked for the archive it reads
now, so nothing goes until the archiver's backfill, which starts over for another archive, has
archived every request into it again; a pass that cannot read the identity is skipped."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import cast

import asyncpg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.model import AfterSale
from aftersale.policy import DAY_MS
from service.archive.backfill import DONE, IDENTITY, Backfill
from service.archive.identity import archive_identity
from service.archive.marks import ARCHIVED_FIELD, archived_mark
from service.archive.migrate import migrate
from service.archive.requests import RequestArchiver
from service.storage.keys import Keys
from service.storage.lifecycle import TerminalSweep
from service.storage.repository import RedisRepository
from service.storage.subscription_session import SubscriptionSession
from service.sweeping import RetentionSweeping
from tests.integration.archive_helpers import (
    archived_versions,
    finished_request,
    running_archiver,
    wait_until,
)
from tests.integration.storage_support import NOW_MS

LATER_MS = NOW_MS + 365 * DAY_MS  # every request here is past the retention by then


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=4)


@pytest.fixture
async def other_url(postgres_url: str, archive_db: asyncpg.Connection) -> AsyncIterator[str]:
    """Another, empty archive on the same server (its own database, migrated: another
    identity), as AFTERSALE_ARCHIVE_URL pointed elsewhere or a cluster made anew; dropped
    after the test."""
    name = f"other_{uuid.uuid4().hex[:12]}"
    await archive_db.execute(f"CREATE DATABASE {name}")
    url = postgres_url.replace("@/postgres?", f"@/{name}?")
    assert url != postgres_url
    try:
        connection = await asyncpg.connect(url)
        try:
            await migrate(connection)
        finally:
            await connection.close()
        yield url
    finally:
        await archive_db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _sweeping(redis: Redis, keys: Keys, archive: asyncpg.Pool) -> RetentionSweeping:
    sweep = TerminalSweep(redis, keys, retention_ms=DAY_MS)
    return RetentionSweeping(sweep, FakeClock(LATER_MS), interval_s=60.0, archive=archive)


async def _marks(redis: Redis, keys: Keys, records: list[AfterSale]) -> list[object]:
    return [await redis.hget(keys.record(r.request_id), ARCHIVED_FIELD) for r in records]


async def _backfilled_in(redis: Redis, keys: Keys, archive: str) -> bool:
    state = await redis.hgetall(keys.archive_backfill())
    done = all(state.get(str(s)) == DONE for s in keys.all_shards())
    return done and state.get(IDENTITY) == archive


async def _all_marked(redis: Redis, keys: Keys, records: list[AfterSale], archive: str) -> bool:
    return await _marks(redis, keys, records) == [archived_mark(archive, 3)] * len(records)


async def test_a_replaced_archive_keeps_every_request_in_redis_until_archived_again(
    redis: Redis,
    keys: Keys,
    archive_pool: asyncpg.Pool,
    archive_db: asyncpg.Connection,
    other_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo = RedisRepository(redis, keys)
    records = [await finished_request(repo, keys) for _ in range(6)]
    first = await archive_identity(archive_db)
    async with running_archiver(redis, keys, archive_pool):
        await wait_until(lambda: _backfilled_in(redis, keys, first))
        await wait_until(lambda: _all_marked(redis, keys, records, first))

    async with asyncpg.create_pool(other_url, min_size=0, max_size=2) as other:
        second = await archive_identity(other)
        assert second != first
        swept = await _sweeping(redis, keys, other).sweep_once()  # the archive was replaced

        assert swept is not None and (swept.swept, swept.waiting) == (0, len(records))
        for record in records:
            assert await repo.load(record.request_id) == record

        with caplog.at_level(logging.WARNING, logger="service.archive"):
            async with running_archiver(redis, keys, other):
                await wait_until(lambda: _backfilled_in(redis, keys, second))
                await wait_until(lambda: _all_marked(redis, keys, records, second))
        assert any("the archive changed identity" in r.getMessage() for r in caplog.records)
        async with other.acquire() as connection:
            held = await archived_versions(connection)  # type: ignore[arg-type]
        assert held == {r.request_id: 3 for r in records}

        swept = await _sweeping(redis, keys, other).sweep_once()

    assert swept is not None and (swept.swept, swept.waiting) == (len(records), 0)
    assert not any([await redis.exists(keys.record(r.request_id)) for r in records])


async def test_marks_of_the_previous_release_are_made_again_by_a_backfill_started_over(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    records = [await finished_request(repo, keys) for _ in range(4)]
    for record in records:  # archived and marked as the previous release did: version alone
        await redis.hset(keys.record(record.request_id), ARCHIVED_FIELD, "3")
    for shard in keys.all_shards():  # its backfill, finished (no identity: it had none)
        await redis.hset(keys.archive_backfill(), str(shard), DONE)
    archive = await archive_identity(archive_db)
    swept = await _sweeping(redis, keys, archive_pool).sweep_once()
    assert swept is not None and (swept.swept, swept.waiting) == (0, len(records))

    async with running_archiver(redis, keys, archive_pool):
        await wait_until(lambda: _backfilled_in(redis, keys, archive))
        await wait_until(lambda: _all_marked(redis, keys, records, archive))

    assert await archived_versions(archive_db) == {r.request_id: 3 for r in records}


async def test_a_pass_is_skipped_counted_and_logged_once_while_postgres_is_unreachable(
    redis: Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    repo = RedisRepository(redis, keys)
    record = await finished_request(repo, keys)
    await redis.hset(keys.record(record.request_id), ARCHIVED_FIELD, archived_mark("x", 3))
    skipped = "aftersale_retention_sweep_skipped_passes_total"
    before = REGISTRY.get_sample_value(skipped) or 0.0
    nowhere = "postgresql://postgres@127.0.0.1:1/postgres"  # nothing listens on port 1
    async with asyncpg.create_pool(nowhere, min_size=0, max_size=1, timeout=2) as unreachable:
        loop = _sweeping(redis, keys, unreachable)
        with caplog.at_level(logging.INFO, logger="service.sweeping"):
            passes = [await loop.sweep_once() for _ in range(3)]

    assert passes == [None, None, None]
    assert REGISTRY.get_sample_value(skipped) == before + 3
    lines = [r.getMessage() for r in caplog.records if r.name == "service.sweeping"]
    assert len(lines) == 1 and "skipped" in lines[0]
    assert await redis.exists(keys.record(record.request_id))


async def test_a_pass_is_skipped_when_the_archive_has_no_identity_yet(
    redis: Redis, keys: Keys, postgres_url: str, archive_db: asyncpg.Connection
) -> None:
    name = f"bare_{uuid.uuid4().hex[:12]}"  # a database the migrations have not reached
    await archive_db.execute(f"CREATE DATABASE {name}")
    try:
        url = postgres_url.replace("@/postgres?", f"@/{name}?")
        async with asyncpg.create_pool(url, min_size=0, max_size=1) as bare:
            assert await _sweeping(redis, keys, bare).sweep_once() is None
    finally:
        await archive_db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class _Held:
    """What ``Backfill._shard`` reads of a session: the shards it holds (0, no expiry)."""

    def __init__(self) -> None:
        self.held: dict[int, float | None] = {0: None}


async def test_a_walk_never_saves_its_position_over_a_restart_for_another_archive(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    while not await redis.zcard(keys.all_requests(0)):
        await finished_request(repo, keys)
    walk = Backfill(redis, keys, RequestArchiver(redis, keys, archive_pool), lambda: LATER_MS)
    walk.identity = await archive_identity(archive_db)  # the walk started in this archive
    await redis.hset(keys.archive_backfill(), IDENTITY, "another")  # ... another started over

    await walk._shard(0, None, LATER_MS, cast(SubscriptionSession, _Held()))

    assert await redis.hget(keys.archive_backfill(), "0") is None
    walk.identity = "another"
    await walk._shard(0, None, LATER_MS, cast(SubscriptionSession, _Held()))
    assert await redis.hget(keys.archive_backfill(), "0") == DONE
