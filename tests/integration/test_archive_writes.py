"""Writing requests into the archive and marking them archived in Redis (real PostgreSQL,
real Redis, requests committed by the real commit script)."""

from __future__ import annotations

import asyncpg
import pytest
from redis.asyncio import Redis

from service.archive.marks import ARCHIVED_FIELD, archived_mark, mark_archived
from service.archive.writes import archive_request
from service.storage.codec import decode_record, encode_record_object
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.archive_helpers import archived_events, finished_request
from tests.integration.storage_support import applied, approved, commit

ARCHIVE = "5f0c1d2e-0000-4000-8000-000000000003"  # an archive's identity


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=4)


async def history(redis: Redis, keys: Keys, request_id: str) -> list[str]:
    return [str(row) for row in await redis.lrange(keys.history(request_id), 0, -1)]


async def test_a_request_is_archived_with_its_columns_record_and_every_event(
    redis: Redis, keys: Keys, archive_db: asyncpg.Connection
) -> None:
    record = await finished_request(RedisRepository(redis, keys), keys)
    rows = await history(redis, keys, record.request_id)

    await archive_request(archive_db, record, rows)

    row = await archive_db.fetchrow("SELECT * FROM requests")
    assert row is not None
    assert (row["request_id"], row["state"], row["version"], row["terminal"]) == (
        record.request_id, "MERCHANT_REFUND_SUCCESS", 3, True,
    )  # fmt: skip
    assert (row["shop_id"], row["buyer_id"], row["type"], row["refund_amount"]) == (
        record.shop_id, record.buyer_id, "REFUND", record.amount,
    )  # fmt: skip
    assert decode_record(row["record"]) == record
    assert row["record"] == encode_record_object(record).decode()  # it names its fields
    events = await archive_db.fetch("SELECT * FROM events ORDER BY version")
    assert [e["event"] for e in events] == rows  # byte for byte what Redis holds
    assert [e["action"] for e in events] == ["ACTION_APPLY", "ACTION_APPROVE",
                                             "ACTION_REFUND_SUCCEEDED"]  # fmt: skip
    assert all(e["event_id"] and e["shop_id"] == record.shop_id for e in events)


async def test_archiving_again_or_an_older_version_changes_nothing(
    redis: Redis, keys: Keys, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    first = await commit(repo, applied(keys))
    first_rows = await history(redis, keys, first.request_id)
    second = await commit(repo, approved(first))
    second_rows = await history(redis, keys, second.request_id)
    await archive_request(archive_db, second, second_rows)

    await archive_request(archive_db, second, second_rows)
    await archive_request(archive_db, first, first_rows)

    assert await archived_events(archive_db) == [(first.request_id, 1), (first.request_id, 2)]
    stored = await archive_db.fetchval("SELECT record FROM requests")
    assert decode_record(stored) == second


async def test_a_record_with_a_nul_character_is_archived(
    redis: Redis, keys: Keys, archive_db: asyncpg.Connection
) -> None:
    repo = RedisRepository(redis, keys)
    decision = applied(keys)
    decision.record.description = "broken\x00screen"
    record = await commit(repo, decision)

    await archive_request(archive_db, record, await history(redis, keys, record.request_id))

    stored = await archive_db.fetchval("SELECT record FROM requests")
    assert decode_record(stored).description == "broken\x00screen"


async def test_the_mark_is_set_only_at_the_version_the_record_holds(
    redis: Redis, keys: Keys
) -> None:
    repo = RedisRepository(redis, keys)
    record = await commit(repo, applied(keys))
    key = keys.record(record.request_id)

    assert not await mark_archived(redis, keys, record.request_id, 2, ARCHIVE)
    assert await redis.hget(key, ARCHIVED_FIELD) is None
    assert await mark_archived(redis, keys, record.request_id, 1, ARCHIVE)
    assert await redis.hget(key, ARCHIVED_FIELD) == f"{ARCHIVE}:1" == archived_mark(ARCHIVE, 1)
    assert not await mark_archived(redis, keys, "AS00-NOSUCHREQUEST", 1, ARCHIVE)
    assert not await redis.exists(keys.record("AS00-NOSUCHREQUEST"))


async def test_a_new_version_clears_the_mark(redis: Redis, keys: Keys) -> None:
    repo = RedisRepository(redis, keys)
    record = await commit(repo, applied(keys))
    await mark_archived(redis, keys, record.request_id, 1, ARCHIVE)

    moved = await commit(repo, approved(record))

    assert await redis.hget(keys.record(moved.request_id), ARCHIVED_FIELD) is None
