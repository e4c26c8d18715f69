"""The one composition root: everything the service runs, built from ``Settings``.

Production (``python -m service serve``) and the tests build the same graph; tests pass a
fake clock and a client to their own Redis. ``App.stop()`` ends things in the order that loses
no work: health NOT_SERVING → stop accepting calls → streams end cleanly and unary calls
finish within the grace period → the timer worker stops → the health probe and the timer
oversight stop → the embedded redis-server's supervisor stops → the metrics endpoint closes and
buffered spans are flushed → the Redis client closes → the embedded redis-server (if we
started it) shuts down, flushing its append-only file.

The archive (``service.archive.startup``): the archive's pool (``App.archive_pool``, None when
the archive is off) is opened and migrated in ``build``; the archiver runs from ``start``
when ``archiver_enabled``, and stops right after the timer worker; the embedded PostgreSQL's
supervisor stops with the others; the pool closes and the embedded PostgreSQL stops last.

Observability (``service.observability``): the observing interceptor (RPC metrics, access
line) always; the metrics endpoint and the Redis command timing when
``settings.metrics_listen`` is set; tracing when the ``OTEL_*`` variables ask for it (or a
test passes its own ``Tracing``).

Operations (SPEC §13, ``service.operations``): the embedded redis-server is supervised, and a
serving process keeps its health truthful, watches for timers nobody fires and answers
``GetStatus``. ``App.reload()`` (SIGHUP) reads the tokens file again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.asyncio import Redis, RedisCluster

from aftersale.clock import Clock, SystemClock
from service import ops_metrics
from service.api.sealing import Sealer
from service.api.server import create_server, new_health_servicer, stop_server
from service.api.subscriptions import SubscriptionStreams
from service.api.tokens import TokenFileError, TokenTable, read_token_file
from service.api.watch import TransitionWatch
from service.archive import startup as archive_startup
from service.archive.archiver import Archiver
from service.archive.reads import ArchiveReads
from service.archive.startup import ArchiveParts
from service.archive.status import ArchiveProbe
from service.config import Settings
from service.handlers import AfterSaleHandlers
from service.observability.endpoint import MetricsEndpoint, ScrapeProbe
from service.observability.interceptor import ObservingInterceptor
from service.observability.redis_commands import observe_commands
from service.observability.tracing import Tracing, tracing_from_env
from service.operations import Operations, operations
from service.parts import (
    connect_redis,
    load_sealer,
    load_tokens,
    policy_of,
    stream_slots,
    subscription_settings,
    subscription_streams,
    tls_of,
)
from service.storage.connection import dedicated
from service.storage.heartbeats import RedisHeartbeats
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis
from service.storage.repository import RedisRepository
from service.storage.stream import TransitionReader
from service.storage.subscriptions import Subscriptions
from service.storage.timer_store import RedisTimerStore
from service.timer_worker import TimerWorker, TimerWorkerSettings

log = logging.getLogger(__name__)
GRACE_S = Settings.shutdown_grace_s  # how long in-flight calls may finish after a stop begins


@dataclass
class App:
    """The running service: its parts, and how to start and stop them in order."""

    settings: Settings
    clock: Clock
    redis: Redis | RedisCluster
    handlers: AfterSaleHandlers
    worker: TimerWorker  # built always; its loop runs only when settings.timers_enabled
    server: Any = None  # grpc.aio.Server; None for a timers-only process
    port: int = 0
    health: Any = None
    watch: TransitionWatch | None = None
    subscriptions: SubscriptionStreams | None = None  # open Subscribe streams (serving only)
    stream_redis: Redis | RedisCluster | None = None  # the streams' own pool (closed by stop)
    sealer: Sealer | None = None  # seals page tokens and cursors (serving processes only)
    embedded: EmbeddedRedis | None = None
    owns_redis: bool = True
    grace_s: float = GRACE_S
    drain_s: float = 0.0  # NOT_SERVING this long before calls are refused (load balancers)
    tracing: Tracing | None = None
    metrics: MetricsEndpoint | None = None  # serving once started, if settings.metrics_listen
    _unobserve_redis: Callable[[], None] | None = field(default=None, repr=False)
    tokens: TokenTable | None = None  # the table the server authenticates with (reloadable)
    ops: Operations = field(default_factory=Operations)  # supervision, health, oversight, status
    _worker_task: asyncio.Task[None] | None = field(default=None, repr=False)
    archive: ArchiveParts = field(default_factory=lambda: ArchiveParts("off"))
    archive_pool: asyncpg.Pool | None = None  # the archive's pool (archive.pool); None: off
    archiver: Archiver | None = None  # runs when settings.archiver_enabled and the archive is on
    _archiver_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _reloads: set[asyncio.Task[bool]] = field(default_factory=set, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        """``host:port`` the server listens on (the bound port when the setting said 0)."""
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self.port}"

    @property
    def metrics_address(self) -> str:
        """``host:port`` of the metrics endpoint (the bound port); "" when it is off."""
        if self.metrics is None:
            return ""
        return f"{self.metrics.address.rpartition(':')[0]}:{self.metrics.port}"

    async def start(self) -> None:
        """Start the metrics endpoint (first: a port in use stops the start), serving, and
        the timer worker when enabled; then the operational parts."""
        if self.settings.metrics_listen:
            loop = asyncio.get_running_loop()
            probe = ScrapeProbe(self.redis, Keys(self.settings.shards), self.clock, loop)
            self.metrics = MetricsEndpoint(self.settings.metrics_listen, probe)
            self.metrics.start()
            log.info("metrics address=%s", self.metrics_address)
        if self.server is not None:
            await self.server.start()
            log.info(
                "listening address=%s tls=%s", self.address, self.settings.tls_cert is not None
            )
        if self.settings.timers_enabled:
            self._worker_task = asyncio.create_task(self.worker.run(), name="timer-worker")
        if self.archiver is not None:
            self._archiver_task = asyncio.create_task(self.archiver.run(), name="archiver")
        await self.ops.start(self._worker_task)
        if self.ops.monitor is not None and self._archiver_task is not None:
            self.ops.monitor.watch(self._archiver_task, "the archiver")

    def reload(self) -> None:
        """Read the tokens file again, in the background (SIGHUP)."""
        task = asyncio.get_running_loop().create_task(self.reload_tokens())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload_tokens(self) -> bool:
        """Replace the server's tokens with the file's; a file that cannot be read keeps the
        tokens in use (and says why). True when the tokens were replaced."""
        if self.tokens is None:
            log.info("reload: no tokens in this process (timers only)")
            return False
        path = self.settings.tokens_path
        try:
            entries = await asyncio.to_thread(read_token_file, path)
        except TokenFileError as exc:
            ops_metrics.token_reloads.labels("failed").inc()
            log.error("tokens not reloaded, the previous ones stay: %s", exc)
            return False
        self.tokens.replace(entries)
        ops_metrics.token_reloads.labels("ok").inc()
        services = ", ".join(sorted({entry.service for entry in entries.values()}))
        log.info("tokens reloaded path=%s tokens=%d services=%s", path, len(entries), services)
        return True

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop everything, in order (safe to call twice)."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.grace_s if grace_s is None else grace_s
        self.ops.stopping()
        if self.server is not None and self.watch is not None:
            await stop_server(
                self.server, self.health, self.watch, grace, self.drain_s, self.subscriptions
            )
        self.worker.stop()
        if self._worker_task is not None:
            try:
                await asyncio.wait_for(self._worker_task, timeout=grace)
            except TimeoutError:
                log.warning("timer worker did not stop within %ss; cancelled", grace)
        await self._stop_archiver(grace)
        await self.ops.stop()
        if self.stream_redis is not None and self.stream_redis is not self.redis:
            await self.stream_redis.aclose()  # always ours: made in build, streams have ended
        await self._stop_observing()
        if self.owns_redis:
            await self.redis.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
        await self.archive.close()
        log.info("stopped")

    async def _stop_archiver(self, grace: float) -> None:
        """The archiver ends after its batch in hand; what it did not acknowledge is
        delivered again to the next archiver."""
        if self.archiver is None:
            return
        self.archiver.stop()
        if self._archiver_task is not None:
            try:
                await asyncio.wait_for(self._archiver_task, timeout=grace)
            except TimeoutError:
                log.warning("archiver did not stop within %ss; cancelled", grace)

    async def _stop_observing(self) -> None:
        if self.metrics is not None:
            await asyncio.to_thread(self.metrics.stop)
        if self.tracing is not None:
            self.tracing.uninstrument_redis(self.redis)
            await asyncio.to_thread(self.tracing.shutdown)
        if self._unobserve_redis is not None:
            self._unobserve_redis()

    async def wait(self) -> None:
        """Until the server terminates (after ``stop``), or the worker ends."""
        if self.server is not None:
            await self.server.wait_for_termination()
        elif self._worker_task is not None:
            # Shielded: a cancelled waiter must not cancel the worker it waits on.
            await asyncio.shield(self._worker_task)


async def build(
    settings: Settings,
    clock: Clock | None = None,
    redis: Redis | RedisCluster | None = None,
    *,
    serve: bool = True,
    tracing: Tracing | None = None,
) -> App:
    """Build the service from ``settings``. With ``redis`` given, it is used (and not closed
    by ``stop``); otherwise ``REDIS_URL`` is connected or the embedded server started.
    ``serve=False`` builds a timers-only process (no gRPC server). ``tracing``: the tracer
    provider to trace with; None: whatever the ``OTEL_*`` variables ask for (off unless set).
    """
    clock = clock or SystemClock()
    tracing = tracing if tracing is not None else tracing_from_env(os.environ)
    shard_keys = Keys(settings.shards)  # the one key layout every adapter is given
    embedded = None
    owns_redis = redis is None
    if redis is None:
        redis, embedded = await connect_redis(settings)
    heartbeats = RedisHeartbeats(redis, shard_keys)  # the timer worker's and the oversight's
    app = _parts(settings, clock, redis, shard_keys, heartbeats, tracing, embedded, owns_redis)
    try:
        app.archive = await archive_startup.open_archive(
            settings, redis_embedded=embedded is not None
        )
        app.archive_pool = app.archive.pool
        if app.archive_pool is not None:  # reads fall back to the archive
            app.handlers.use_archive(ArchiveReads(app.archive_pool))
        if not serve:
            app.ops = operations(settings, clock, redis, shard_keys, heartbeats, embedded)
        else:
            await _serving(app, shard_keys, heartbeats)
        _archiving(app, shard_keys)
    except BaseException:
        await app.stop()
        raise
    return app


def _archiving(app: App, shard_keys: Keys) -> None:
    """The archiver and the embedded PostgreSQL's supervisor, when this process has them."""
    settings = app.settings
    subscriptions = Subscriptions(app.redis, shard_keys, subscription_settings(settings))
    app.archiver = archive_startup.archiver(
        app.archive, settings, app.redis, shard_keys, subscriptions, app.clock
    )
    app.ops.archive_supervisor = supervisor = archive_startup.supervisor(app.archive, settings)
    if app.ops.status is not None:
        probe = ArchiveProbe(
            app.archive,
            app.redis,
            shard_keys,
            why_off=archive_startup.why_off(settings, app.embedded is not None),
            archiver_running=app.archiver is not None,
            embedded_restarts=(lambda: supervisor.restarts) if supervisor is not None else None,
        )
        app.ops.status.archive = probe.read


def _parts(
    settings: Settings,
    clock: Clock,
    redis: Redis | RedisCluster,
    shard_keys: Keys,
    heartbeats: RedisHeartbeats,
    tracing: Tracing | None,
    embedded: EmbeddedRedis | None,
    owns_redis: bool,
) -> App:
    """The parts every process has: the handlers and the timer worker, observed."""
    repository = RedisRepository.from_settings(redis, settings, shard_keys)
    handlers = AfterSaleHandlers(repository, clock, policy_of(settings))
    worker_settings = TimerWorkerSettings(
        lease_ms=int(settings.timer_lease_s * 1000),
        batch=settings.timer_batch,
        max_sleep_s=settings.timer_max_sleep_s,
        heartbeat_s=settings.timer_heartbeat_s,
    )
    tracer = tracing.tracer() if tracing is not None else None
    store = RedisTimerStore(redis, shard_keys)
    worker = TimerWorker(store, handlers, clock, worker_settings, tracer, heartbeats=heartbeats)
    app = App(
        settings,
        clock,
        redis,
        handlers,
        worker,
        embedded=embedded,
        owns_redis=owns_redis,
        grace_s=settings.shutdown_grace_s,
        drain_s=settings.shutdown_drain_s,
    )
    if settings.metrics_listen:  # first: the timing is of the round trip, not of its span
        app._unobserve_redis = observe_commands(redis)
    if tracing is not None:
        tracing.instrument_redis(redis)
        app.tracing = tracing
    return app


async def _serving(app: App, shard_keys: Keys, heartbeats: RedisHeartbeats) -> None:
    """Add what a serving process has: tokens, sealer, streams, health, operations, the
    gRPC server (bound, not started)."""
    settings, redis = app.settings, app.redis
    app.tokens = tokens = load_tokens(settings)
    app.sealer = load_sealer(settings)
    app.stream_redis = streams = dedicated(redis, settings.watch_max_streams)
    app.watch = TransitionWatch(
        lambda: TransitionReader(streams, shard_keys),
        app.sealer,
        stream_slots(settings, tokens),
        keepalive_s=settings.watch_keepalive_s,
    )
    # One cap for every transition stream (Subscribe too): they share the streams' pool.
    app.subscriptions = await subscription_streams(
        settings, redis, streams, shard_keys, app.watch.slots, tokens, app.clock
    )
    app.health = new_health_servicer()
    app.ops = operations(
        settings,
        app.clock,
        redis,
        shard_keys,
        heartbeats,
        app.embedded,
        app.health,
        archive_pool=app.archive_pool,
    )
    app.server, app.port = await create_server(
        settings.listen,
        app.handlers,
        tokens=tokens,
        watch=app.watch,
        sealer=app.sealer,
        health_servicer=app.health,
        tls=tls_of(settings),
        reuse_port=settings.reuse_port,
        call_timeout_s=settings.call_timeout_s,
        observers=_observers(app.tracing),
        status=app.ops.status,
        subscriptions=app.subscriptions,
    )


def _observers(tracing: Tracing | None) -> list[object]:
    """The outermost interceptors: the trace span (when on), then metrics and access log."""
    spans = [tracing.server_interceptor()] if tracing is not None else []
    return [*spans, ObservingInterceptor()]
