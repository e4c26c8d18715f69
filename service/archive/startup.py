"""The archive's parts as a process starts them (``service.bootstrap``): which archive, its
server when embedded, the connection pool, the migrations, and the archiver.

Which archive (``Settings.archive_mode``): ``url`` (``AFTERSALE_ARCHIVE_URL``), ``embedded``
(a PostgreSQL from the wheel in ``<data_dir>/postgres``, started here beside the embedded
Redis and supervised like it) or ``off``. Off, nothing ever leaves Redis: the start says so
at WARNING, and so does ``GetStatus``.

At start the pool is opened and the migrations run (``migrate``, under an advisory lock, so
replicas starting together apply each once). An archive that does not answer within
``READY_TIMEOUT_S`` does not stop the start (the live path does not depend on it): the error
is logged, and the archiver applies the migrations before it archives, retrying with backoff
until PostgreSQL answers.
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
READY_TIMEOUT_S = 10.0  # a starting server: then the service starts without its archive
CONNECT_TIMEOUT_S = (
    2.0  # a connect that hangs gives up soon: reads answer UNAVAILABLE, the archiver retries
)
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


async def connect_archive(url: str, size: int, ready_s: float = READY_TIMEOUT_S) -> asyncpg.Pool:
    """A pool to ``url`` (connections made on demand), with the migrations applied if
    PostgreSQL answers within ``ready_s`` (a server still starting or recovering is waited
    for). If it does not, the pool is returned all the same, and the archiver applies them
    once it answers (``Archiver.run``): the service starts while its archive is down."""
    pool = await asyncpg.create_pool(
        url, min_size=0, max_size=size, timeout=CONNECT_TIMEOUT_S, command_timeout=COMMAND_TIMEOUT_S
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_s
    while True:
        try:
            applied = await migrate_pool(pool)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
            if loop.time() < deadline:
                await asyncio.sleep(0.1)
                continue
            log.error("the archive at %s does not answer (%s: %s): starting without it; the "
                      "archiver retries, nothing is lost", redacted(url), type(error).__name__,
                      error)  # fmt: skip
            return pool
        except BaseException:
            await pool.close()
            raise
        log.info("archive ready url=%s migrations applied=%s", redacted(url), applied or "none")
        return pool


async def migrate_pool(pool: asyncpg.Pool) -> list[int]:
    """Apply the migrations not applied yet, on a connection of ``pool``."""
    async with pool.acquire() as conn:
        return await migrate(conn)  # type: ignore[arg-type]


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
