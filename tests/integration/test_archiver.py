"""The archiver in-process over real Redis and PostgreSQL: every event archived once, in
batches, replays cost nothing, the mark follows the archived version, PostgreSQL trouble
loses nothing, and the backfill archives requests whose events were trimmed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

import asyncpg
import pytest
from redis.asyncio import Redis

from aftersale.model import AfterSale
from service.archive import backfill
from service.archive.archiver import SUBSCRIPTION, ArchiverSettings
from service.archive.backfill import DONE, IDENTITY
from service.archive.identity import archive_identity
from service.archive.marks import ARCHIVED_FIELD, archived_mark
from service.archive.requests import RequestArchiver
from service.observability import archive as report
from service.storage.codec import decode_record, encode_record_object
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.archive_helpers import (
    QUICK_RETRY,
    archived_events,
    archived_versions,
    finished_request,
    running_archiver,
    wait_until,
)
from tests.integration.storage_support import applied, approved, commit


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=4)


async def test_every_event_of_a_burst_is_archived_once_in_few_transactions(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    records = [await finished_request(repo, keys) for _ in range(40)]
    batches_before = report.BATCHES._value.get()

    async with running_archiver(redis, keys, archive_pool) as archiver:
        await wait_until(lambda: _count(archive_db, "events", 120))
        await wait_until(lambda: _settled(archiver, 120))

    expected = sorted((r.request_id, v) for r in records for v in (1, 2, 3))
    assert await archived_events(archive_db) == expected
    assert await archived_versions(archive_db) == {r.request_id: 3 for r in records}
    assert report.BATCHES._value.get() - batches_before < 40  # batched, not one per request
    mark = archived_mark(await archive_identity(archive_db), 3)
    for record in records:
        assert await redis.hget(keys.record(record.request_id), ARCHIVED_FIELD) == mark


async def test_a_replayed_request_costs_no_postgres_work(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    record = await finished_request(RedisRepository(redis, keys), keys)
    archiver = RequestArchiver(redis, keys, archive_pool, retry=QUICK_RETRY)
    assert await archiver.archive([record.request_id], "events") == set()
    archived_at = await archive_db.fetchval("SELECT archived_at FROM requests")
    written = report.REQUESTS.labels(source="events")._value.get()

    assert await archiver.archive([record.request_id] * 3, "events") == set()

    assert report.REQUESTS.labels(source="events")._value.get() == written
    assert await archive_db.fetchval("SELECT archived_at FROM requests") == archived_at
    assert len(await archived_events(archive_db)) == 3


@pytest.mark.parametrize("form", ["positional", "previous release's object blob"])
async def test_the_archive_keeps_the_object_form_of_a_record_of_either_form(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection, form: str
) -> None:
    """The archive is kept for good: its record names its fields, whatever Redis held."""
    record = await finished_request(RedisRepository(redis, keys), keys)
    name = keys.record(record.request_id)
    if form != "positional":
        await redis.hset(name, "d", encode_record_object(record))
    archiver = RequestArchiver(redis, keys, archive_pool, retry=QUICK_RETRY)

    assert await archiver.archive([record.request_id], "events") == set()

    column = await archive_db.fetchval("SELECT record FROM requests")
    assert column == encode_record_object(record).decode()
    assert decode_record(column) == record
    mark = archived_mark(await archive_identity(archive_db), record.version)
    assert await redis.hget(name, ARCHIVED_FIELD) == mark


async def test_a_request_that_moved_after_archiving_keeps_no_mark_until_archived_again(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    record = await commit(repo, applied(keys))
    archiver = RequestArchiver(redis, keys, archive_pool, retry=QUICK_RETRY)
    await archiver.archive([record.request_id], "events")
    archive = await archive_identity(archive_db)
    assert await redis.hget(keys.record(record.request_id), ARCHIVED_FIELD) == f"{archive}:1"

    moved = await commit(repo, approved(record))

    assert await redis.hget(keys.record(moved.request_id), ARCHIVED_FIELD) is None
    assert await archived_versions(archive_db) == {record.request_id: 1}
    await archiver.archive([record.request_id], "events")
    assert await redis.hget(keys.record(moved.request_id), ARCHIVED_FIELD) == f"{archive}:2"
    assert await archived_versions(archive_db) == {record.request_id: 2}


async def test_the_mark_is_refused_when_the_request_moves_between_write_and_mark(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    record = await commit(repo, applied(keys))
    archiver = RequestArchiver(redis, keys, archive_pool, retry=QUICK_RETRY)
    real_mark_many = archiver.scripts.mark_many

    async def commit_first(marks: Sequence[tuple[str, int, str]]) -> list[bool]:
        await commit(repo, approved(record))  # version 2 lands after the archive wrote 1
        return await real_mark_many(marks)

    archiver.scripts.mark_many = commit_first  # type: ignore[method-assign]
    await archiver.archive([record.request_id], "events")

    assert await archived_versions(archive_db) == {record.request_id: 1}
    assert await redis.hget(keys.record(record.request_id), ARCHIVED_FIELD) is None


async def test_the_backfill_archives_requests_whose_events_were_trimmed_and_resumes(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    records = [await finished_request(repo, keys) for _ in range(12)]
    for shard in keys.all_shards():
        await redis.xtrim(keys.events(shard), maxlen=0)
    settings = ArchiverSettings(retry=QUICK_RETRY, backfill_page=2, batch=3)

    async with running_archiver(redis, keys, archive_pool, settings=settings) as archiver:
        await wait_until(lambda: _backfill_done(redis, keys))
        assert archiver.events == 0  # nothing came through the stream

    assert await archived_versions(archive_db) == {r.request_id: 3 for r in records}
    assert len(await archived_events(archive_db)) == 36
    written = report.REQUESTS.labels(source="backfill")._value.get()
    async with running_archiver(redis, keys, archive_pool, settings=settings) as archiver:
        await wait_until(lambda: _subscribed(redis, keys))
    assert report.REQUESTS.labels(source="backfill")._value.get() == written


async def test_the_backfill_resumes_after_its_saved_position(
    redis: Redis, keys: Keys, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    shard = 0
    records: list[AfterSale] = []
    while len(records) < 4:
        record = await finished_request(repo, keys)
        if keys.shard_of_request(record.request_id) == shard:
            records.append(record)
    await redis.delete(*[keys.all_requests(s) for s in keys.all_shards() if s != shard])
    for s in keys.all_shards():
        await redis.xtrim(keys.events(s), maxlen=0)
    listed = cast(
        list[tuple[str, float]],
        await redis.zrange(keys.all_requests(shard), 0, -1, withscores=True),
    )
    done_member, done_score = listed[1]
    saved = f"{int(done_score)}|{done_member}"
    await redis.hset(keys.archive_backfill(), str(shard), saved)
    identity = await archive_identity(archive_db)  # the progress was made in this archive
    await redis.hset(keys.archive_backfill(), IDENTITY, identity)

    async with running_archiver(redis, keys, archive_pool):
        await wait_until(lambda: _backfill_done(redis, keys))

    assert set(await archived_versions(archive_db)) == {member for member, _ in listed[2:]}


async def _count(db: asyncpg.Connection, table: str, expected: int) -> bool:
    return bool(await db.fetchval(f"SELECT count(*) FROM {table}") >= expected)


async def _settled(archiver: object, events: int) -> bool:
    return getattr(archiver, "events", 0) >= events


async def _backfill_done(redis: Redis, keys: Keys) -> bool:
    state = await redis.hgetall(keys.archive_backfill())
    return all(state.get(str(s)) == DONE for s in keys.all_shards())


async def _subscribed(redis: Redis, keys: Keys) -> bool:
    return bool(await redis.zcard(keys.sub_consumers(SUBSCRIPTION)))


async def test_events_lost_to_the_hard_cap_start_the_backfill_over(
    redis: Redis,
    keys: Keys,
    archive_pool: asyncpg.Pool,
    archive_db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backfill, "LOSS_CHECK_S", 0.05)
    repo = RedisRepository(redis, keys)
    async with running_archiver(redis, keys, archive_pool):
        await wait_until(lambda: _backfill_done(redis, keys))
    missed = await finished_request(repo, keys)  # committed while no archiver ran ...
    for shard in keys.all_shards():  # ... and trimmed unacknowledged by the hard cap
        await redis.xtrim(keys.events(shard), maxlen=0)
    mark = {"count": 3, "last_lost_at_ms": 1, "shard": 0, "first_id": "1-0", "last_id": "1-0"}
    await redis.hset(keys.subscription_losses(), SUBSCRIPTION, json.dumps(mark))

    async with running_archiver(redis, keys, archive_pool):
        await wait_until(lambda: _archived(archive_db, missed.request_id))

    assert await archived_versions(archive_db) == {missed.request_id: 3}
    assert await redis.hget(keys.archive_backfill(), "losses") == "3"


async def _archived(db: asyncpg.Connection, request_id: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM requests WHERE request_id = $1", request_id))
