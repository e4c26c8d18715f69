"""The archive's parts as a process starts them (``service.bootstrap``): which archive, its
server when embedded, the connection pool, the migrations, and the archiver.

Which archive (``Settings.archive_mode``): ``url`` (``AFTERSALE_ARCHIVE_URL``), ``embedded``
(a PostgreSQL from the wheel in ``<data_dir>/postgres``, started here beside the embedded
Redis and supervised like it) or ``off``. Off, nothing ever leaves Redis: the start says so
at WARNING, and so does ``GetStatus``.

At start the pool is opened and the migrations run (``migrate``, under an advisory lock, so
replicas starting together apply each once); an archive that does not answer within
``READY_TIMEOUT_S`` stops the start with an error naming it, as an unreachable Redis does.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from redis.asyncio import Redis, RedisCluster

from aftersale.clock import Clock
from service import ops_metrics
from service.archive.archiver import Archiver, ArchiverSettings
from service.archive.migrate import migrate
from service.archive.postgres_server import EmbeddedPostgres, EmbeddedPostgresError
from service.archive.requests import RequestArchiver
from service.config import Settings
from service.embedded_supervisor import EmbeddedRedisSupervisor, ServerCounters
from service.storage.keys import Keys
from service.storage.subscriptions import Subscriptions

log = logging.getLogger("service.archive")
READY_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 30.0  # a statement that hangs this long fails (the archiver retries)
OFF_WARNING = (
    "the archive is off (%s): nothing is ever deleted from Redis, and no request is kept "
    "beyond it; set AFTERSALE_ARCHIVE_URL=postgresql://… to keep them"
)
POSTGRES = ServerCounters(
    "postgres",
    ops_metrics.embedded_postgres_exits,
    ops_metrics.embedded_postgres_restarts,
    ops_metrics.embedded_postgres_restart_failures,
    (EmbeddedPostgresError, OSError),
)


@dataclass
class ArchiveParts:
    mode: str  # url, embedded, off
    pool: asyncpg.Pool | None = None
    embedded: EmbeddedPostgres | None = None

    @property
    def enabled(self) -> bool:
        return self.pool is not None

    async def close(self) -> None:
        """Close the pool, then stop the embedded server (after its supervisor stopped)."""
        if self.pool is not None:
            await self.pool.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


def why_off(settings: Settings, redis_embedded: bool) -> str:
    if settings.archive_url is not None:
        return "AFTERSALE_ARCHIVE_URL=off"
    if not redis_embedded and settings.redis_url is None:
        return "the Redis was given to build(), without an archive URL"
    return "REDIS_URL is set and AFTERSALE_ARCHIVE_URL is not"


async def open_archive(settings: Settings, *, redis_embedded: bool) -> ArchiveParts:
    """The archive this process uses, ready (migrated); ``off`` logged at WARNING. The
    embedded archive follows the embedded Redis: a process handed its Redis has none."""
    mode = settings.archive_mode
    if mode == "embedded" and not redis_embedded:
        mode = "off"
    if mode == "off":
        log.warning(OFF_WARNING, why_off(settings, redis_embedded))
        return ArchiveParts("off")
    embedded = None
    url = settings.archive_url or ""
    if mode == "embedded":
        embedded = await start_embedded_postgres(settings.data_dir)
        url = embedded.url
    try:
        pool = await connect_archive(url, settings.archive_pool_size)
    except BaseException:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    return ArchiveParts(mode, pool, embedded)


async def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """The embedded PostgreSQL in ``<data_dir>/postgres``, started (stop it with ``.stop()``)."""
    embedded = EmbeddedPostgres.in_data_dir(data_dir)
    await asyncio.to_thread(embedded.start)
    log.info("embedded postgres address=%s dir=%s", embedded.address, embedded.directory)
    return embedded


async def connect_archive(url: str, size: int) -> asyncpg.Pool:
    """A pool to ``url`` once PostgreSQL answers (retried up to ``READY_TIMEOUT_S``: a
    server still starting or recovering), with the migrations applied."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while True:
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=size, command_timeout=COMMAND_TIMEOUT_S
            )
            break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            if loop.time() >= deadline:
                raise ArchiveUnreachable(url, error) from error
            await asyncio.sleep(0.1)
    try:
        async with pool.acquire() as conn:
            applied = await migrate(conn)  # type: ignore[arg-type]
    except BaseException:
        await pool.close()
        raise
    log.info("archive ready url=%s migrations applied=%s", redacted(url), applied or "none")
    return pool


class ArchiveUnreachable(RuntimeError):
    def __init__(self, url: str, error: BaseException) -> None:
        super().__init__(
            f"the archive at {redacted(url)} did not answer within {READY_TIMEOUT_S:g}s "
            f"({type(error).__name__}: {error}); AFTERSALE_ARCHIVE_URL=off runs without it"
        )


def redacted(url: str) -> str:
    from service.parts import redacted as redact  # noqa: PLC0415 - parts imports the API

    return redact(url)


def supervisor(
    parts: ArchiveParts, settings: Settings, on_exit: object = None
) -> EmbeddedRedisSupervisor | None:
    """The embedded PostgreSQL's supervisor (like the embedded Redis's), if there is one."""
    if parts.embedded is None:
        return None
    return EmbeddedRedisSupervisor(
        parts.embedded,
        backoff_s=settings.redis_restart_backoff_s,
        backoff_max_s=settings.redis_restart_backoff_max_s,
        counters=POSTGRES,
    )


def archiver(
    parts: ArchiveParts,
    settings: Settings,
    redis: Redis | RedisCluster,
    keys: Keys,
    subscriptions: Subscriptions,
    clock: Clock,
) -> Archiver | None:
    """The archiver this process runs, if the archive is on and ``archiver_enabled``."""
    if parts.pool is None or not settings.archiver_enabled:
        return None
    requests = RequestArchiver(redis, keys, parts.pool)
    archiver_settings = ArchiverSettings(
        batch=settings.archive_batch, max_in_flight=max(2 * settings.archive_batch, 100)
    )
    return Archiver(subscriptions, requests, clock.now_ms, archiver_settings)
