"""The one composition root: everything the service runs, built from ``Settings``.

Production (``python -m service serve``) and the tests build the same graph; tests pass a
fake clock and a client to their own Redis. ``App.stop()`` ends things in the order that loses
no work: health NOT_SERVING → stop accepting calls → streams end cleanly and unary calls
finish within the grace period → the timer worker stops → the health probe and the timer
oversight stop → the embedded redis-server's supervisor stops → the Redis client closes → the
embedded redis-server (if we started it) shuts down, flushing its append-only file.

Operations (SPEC §13, ``service.operations``): the embedded redis-server is supervised, and a
serving process keeps its health truthful, watches for timers nobody fires and answers
``GetStatus``. ``App.reload()`` (SIGHUP) reads the tokens file again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis, RedisCluster

from aftersale.clock import Clock, SystemClock
from aftersale.policy import Policy, TimerDurations
from service import ops_metrics
from service.api.server import TlsFiles, create_server, new_health_servicer, stop_server
from service.api.tokens import TokenFileError, TokenTable, read_token_file, write_dev_tokens
from service.api.watch import TransitionWatch
from service.config import Settings
from service.handlers import AfterSaleHandlers
from service.operations import Operations, operations
from service.storage.connection import connect, wait_ready
from service.storage.heartbeats import RedisHeartbeats
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis
from service.storage.repository import RedisRepository
from service.storage.stream import TransitionReader
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
    embedded: EmbeddedRedis | None = None
    owns_redis: bool = True
    grace_s: float = GRACE_S
    drain_s: float = 0.0  # NOT_SERVING this long before calls are refused (load balancers)
    tokens: TokenTable | None = None  # the table the server authenticates with (reloadable)
    ops: Operations = field(default_factory=Operations)  # supervision, health, oversight, status
    _worker_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _reloads: set[asyncio.Task[bool]] = field(default_factory=set, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        """``host:port`` the server listens on (the bound port when the setting said 0)."""
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Start serving, and the timer worker when enabled; then the operational parts."""
        if self.server is not None:
            await self.server.start()
            log.info(
                "listening address=%s tls=%s", self.address, self.settings.tls_cert is not None
            )
        if self.settings.timers_enabled:
            self._worker_task = asyncio.create_task(self.worker.run(), name="timer-worker")
        await self.ops.start(self._worker_task)

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
            await stop_server(self.server, self.health, self.watch, grace, self.drain_s)
        self.worker.stop()
        if self._worker_task is not None:
            try:
                await asyncio.wait_for(self._worker_task, timeout=grace)
            except TimeoutError:
                log.warning("timer worker did not stop within %ss; cancelled", grace)
        await self.ops.stop()
        if self.owns_redis:
            await self.redis.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
        log.info("stopped")

    async def wait(self) -> None:
        """Until the server terminates (after ``stop``), or the worker ends."""
        if self.server is not None:
            await self.server.wait_for_termination()
        elif self._worker_task is not None:
            # Shielded: a cancelled waiter must not cancel the worker it waits on.
            await asyncio.shield(self._worker_task)


def policy_of(settings: Settings) -> Policy:
    """The domain rules the settings configure (timer seconds → milliseconds)."""
    durations = TimerDurations(**{f"{k}_ms": v * 1000 for k, v in asdict(settings.timers).items()})
    return Policy(
        durations=durations,
        max_negotiation_rounds=settings.max_negotiation_rounds,
        max_attempts_per_line=settings.max_attempts_per_line,
        max_evidence_images=settings.max_evidence_images,
        max_contact_attempts=settings.max_contact_attempts,
        max_contact_quota_requests=settings.max_contact_quota_requests,
        max_disputes=settings.max_disputes,
        max_proof_requests=settings.max_proof_requests,
        max_proofs=settings.max_proofs,
        max_refund_attempts=settings.max_refund_attempts,
        max_refund_reminders=settings.max_refund_reminders,
        max_proof_deadline_ms=settings.max_proof_deadline_s * 1000,
    )


def load_tokens(settings: Settings) -> TokenTable:
    """The token table; at the default path, a development file is written when missing."""
    path = settings.tokens_path
    if settings.tokens_file is None and not path.exists():
        created = write_dev_tokens(path)
        services = ", ".join(sorted(entry.service for entry in created.values()))
        log.warning("wrote development tokens path=%s services=%s", path, services)
        return TokenTable(created)
    return TokenTable(read_token_file(path))


def tls_of(settings: Settings) -> TlsFiles | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return TlsFiles(settings.tls_cert, settings.tls_key, settings.tls_client_ca)


async def _redis(settings: Settings) -> tuple[Redis | RedisCluster, EmbeddedRedis | None]:
    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis.in_data_dir(settings.data_dir)
        await asyncio.to_thread(embedded.start)
        log.info("embedded redis address=%s dir=%s", embedded.address, embedded.directory)
    client = connect(settings, embedded.url if embedded else None)
    log.info(
        "connecting to redis url=%s", _redacted(embedded.url if embedded else settings.redis_url)
    )
    try:
        await wait_ready(client)
    except BaseException:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    return client, embedded


def _redacted(url: str | None) -> str:
    """``url`` without its password, for logs."""
    parts = urlsplit(url or "")
    if parts.password is None:
        return url or ""
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


async def build(
    settings: Settings,
    clock: Clock | None = None,
    redis: Redis | RedisCluster | None = None,
    *,
    serve: bool = True,
) -> App:
    """Build the service from ``settings``. With ``redis`` given, it is used (and not closed
    by ``stop``); otherwise ``REDIS_URL`` is connected or the embedded server started.
    ``serve=False`` builds a timers-only process (no gRPC server)."""
    clock = clock or SystemClock()
    shard_keys = Keys(settings.shards)  # the one key layout every adapter is given
    embedded = None
    owns_redis = redis is None
    if redis is None:
        redis, embedded = await _redis(settings)
    repository = RedisRepository.from_settings(redis, settings, shard_keys)
    handlers = AfterSaleHandlers(repository, clock, policy_of(settings))
    heartbeats = RedisHeartbeats(redis, shard_keys)
    worker_settings = TimerWorkerSettings(
        lease_ms=int(settings.timer_lease_s * 1000),
        batch=settings.timer_batch,
        max_sleep_s=settings.timer_max_sleep_s,
        heartbeat_s=settings.timer_heartbeat_s,
    )
    store = RedisTimerStore(redis, shard_keys)
    worker = TimerWorker(store, handlers, clock, worker_settings, heartbeats=heartbeats)
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
    if not serve:
        app.ops = operations(settings, clock, redis, shard_keys, heartbeats, embedded)
        return app
    try:
        client = redis
        app.watch = TransitionWatch(
            lambda: TransitionReader(client, shard_keys),
            max_streams=max(1, settings.redis_max_connections // 2),
            keepalive_s=settings.watch_keepalive_s,
        )
        app.health = new_health_servicer()
        app.ops = operations(settings, clock, redis, shard_keys, heartbeats, embedded, app.health)
        app.tokens = load_tokens(settings)
        app.server, app.port = await create_server(
            settings.listen,
            handlers,
            tokens=app.tokens,
            watch=app.watch,
            health_servicer=app.health,
            tls=tls_of(settings),
            reuse_port=settings.reuse_port,
            call_timeout_s=settings.call_timeout_s,
            status=app.ops.status,
        )
    except BaseException:
        await app.stop()
        raise
    return app
