"""The periodic retention sweep as a serving process runs it (``service.sweeping``, wired by
``service.operations``): built only with the archive on, never earlier than the idempotency
keys expire, and every pass counted (metrics) and told (a log line). With the archive off
nothing is swept and the process says so."""

from __future__ import annotations

import logging
from dataclasses import replace

import asyncpg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.policy import DAY_MS
from service import operations as operations_module
from service.archive.identity import archive_identity
from service.archive.marks import ARCHIVED_FIELD, archived_mark
from service.config import Settings
from service.operations import operations
from service.storage.heartbeats import RedisHeartbeats
from service.storage.keys import Keys
from service.storage.lifecycle import TerminalSweep
from service.sweeping import RetentionSweeping
from tests.integration.storage_support import NOW_MS
from tests.integration.test_lifecycle_sweep import World


def _metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


def _built(
    settings: Settings, redis: Redis, archive: asyncpg.Pool | None = None
) -> operations_module.Operations:
    keys = Keys(shards=4)
    clock = FakeClock(NOW_MS)
    beats = RedisHeartbeats(redis, keys, clock)
    return operations(
        settings, clock, redis, keys, beats, None, health_servicer=object(), archive_pool=archive
    )


def test_with_the_archive_off_nothing_is_swept_and_the_process_says_so(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.sweeping"):
        ops = _built(Settings(), redis)

    assert ops.sweeping is None and ops.trimming is not None
    assert _metric("aftersale_retention_sweep_enabled") == 0
    assert any("never deleted" in r.getMessage() for r in caplog.records)


async def test_with_the_archive_on_the_sweep_waits_at_least_the_idempotency_ttl(
    redis: Redis, postgres_url: str
) -> None:
    short = replace(Settings(), retention_terminal_s=3_600, idempotency_ttl_s=86_400)

    async with asyncpg.create_pool(postgres_url, min_size=0, max_size=1) as archive:
        long_ops = _built(Settings(), redis, archive)
        short_ops = _built(short, redis, archive)

    assert long_ops.sweeping is not None and short_ops.sweeping is not None
    assert long_ops.sweeping.sweep.retention_ms == 30 * DAY_MS
    assert short_ops.sweeping.sweep.retention_ms == DAY_MS  # the keys' TTL, not an hour


async def test_a_pass_is_counted_and_logged(
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
    postgres_url: str,
    archive_db: asyncpg.Connection,
) -> None:
    world = World(redis)
    gone = await world.cancelled()
    mark = archived_mark(await archive_identity(archive_db), gone.version)  # this archive's
    await redis.hset(world.keys.record(gone.request_id), ARCHIVED_FIELD, mark)
    waiting = await world.cancelled()
    sweep = TerminalSweep(redis, world.keys, retention_ms=DAY_MS)
    world.clock.advance(3 * DAY_MS)
    swept_before = _metric("aftersale_retention_swept_requests_total")

    async with asyncpg.create_pool(postgres_url, min_size=0, max_size=1) as archive:
        loop = RetentionSweeping(sweep, world.clock, interval_s=60.0, archive=archive)
        with caplog.at_level(logging.INFO, logger="service.sweeping"):
            result = await loop.sweep_once()

    assert result is not None and (result.swept, result.waiting) == (1, 1)
    assert _metric("aftersale_retention_swept_requests_total") == swept_before + 1
    assert _metric("aftersale_retention_waiting_for_archive") == 1
    age_s = (world.clock.now_ms() - waiting.updated_at_ms) / 1000
    assert _metric("aftersale_retention_oldest_terminal_age_seconds") == age_s
    [line] = [r.getMessage() for r in caplog.records if r.name == "service.sweeping"]
    assert "1 finished requests deleted" in line and "1 past retention waiting" in line
