"""The archive in the running service: a server built with an archive URL runs the archiver,
which archives what the API commits, and ``GetStatus`` shows the archive; a server without
an archive warns at start and ``GetStatus`` says that nothing is ever deleted."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import asyncpg
import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.archive.archiver import SUBSCRIPTION
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from tests.e2e.support import Api, applied, key
from tests.integration.archive_helpers import archived_versions


@pytest.fixture
def settings(settings: Settings, postgres_url: str, archive_db: asyncpg.Connection) -> Settings:
    """The e2e settings with the test archive (emptied first by ``archive_db``)."""
    return replace(settings, archive_url=postgres_url, shards=8)


async def eventually_archived(db: asyncpg.Connection, events: int) -> None:
    for _ in range(500):
        if await db.fetchval("SELECT count(*) FROM events") >= events:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not archived in time")


async def test_what_the_api_commits_is_archived_and_the_status_shows_the_archive(
    api: Api, app: App, archive_db: asyncpg.Connection
) -> None:
    first = await applied(api)
    second = await applied(api)
    await first.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=first.request_id, idempotency_key=key())
    )

    await eventually_archived(archive_db, 3)
    status = await api.ops.GetStatus(pb.GetStatusRequest())

    versions = await archived_versions(archive_db)
    assert versions == {first.request_id: 2, second.request_id: 1}
    archive = status.archive
    assert archive.enabled and archive.reachable and archive.archiver_running
    assert not archive.embedded and not archive.warning
    assert archive.backfill_done_shards <= app.settings.shards
    assert SUBSCRIPTION in [s.name for s in status.subscriptions]


async def test_without_an_archive_the_start_warns_and_the_status_says_nothing_is_deleted(
    settings: Settings, redis: Redis, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.archive")
    off = await build(replace(settings, archive_url="off"), clock=clock, redis=redis)
    await off.start()
    try:
        assert off.archive_pool is None and off.archiver is None
        async with grpc.aio.insecure_channel(off.address) as channel:
            ops = Api(channel, off.settings.tokens_path, clock).ops
            status = await ops.GetStatus(pb.GetStatusRequest())
    finally:
        await off.stop(grace_s=1.0)

    assert not status.archive.enabled
    assert "nothing is ever deleted from Redis" in status.archive.warning
    assert "AFTERSALE_ARCHIVE_URL=off" in status.archive.warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("nothing is ever deleted" in r.getMessage() for r in warnings)
