"""The operational parts of a process (SPEC §13), built from the settings and run together.

- ``supervisor``: in a process that started the embedded redis-server, starts it again if it
  dies (``service.embedded_supervisor``);
- in a serving process: ``monitor`` keeps grpc.health.v1 truthful (``service.health``:
  readiness from a Redis probe on a client of its own, liveness from the vital tasks),
  ``oversight`` beats as a server replica and warns about timers nobody fires
  (``service.oversight``), ``trimming`` trims the transition streams, waiting for their
  subscribers (``service.trimming``), ``sweeping`` deletes finished requests the archive
  holds once their retention ends (``service.sweeping``; not built with the archive off),
  ``status`` answers ``GetStatus`` (``service.status``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
from redis.asyncio import Redis, RedisCluster

from aftersale.clock import Clock
from service.config import Settings
from service.embedded_supervisor import EmbeddedRedisSupervisor
from service.health import HealthMonitor, Ping
from service.oversight import TimerOversight
from service.status import StatusReader
from service.storage.connection import connect
from service.storage.heartbeats import RedisHeartbeats, alive_ttl_ms
from service.storage.keys import Keys
from service.storage.lifecycle import TerminalSweep
from service.storage.redis_server import EmbeddedRedis
from service.storage.retention import StreamRetention
from service.storage.status_reads import RedisStatusReads
from service.sweeping import (
    RetentionSweeping,
    nothing_deleted_warning,
    retention_ms,
)
from service.trimming import StreamTrimming


@dataclass
class Operations:
    supervisor: EmbeddedRedisSupervisor | None = None
    monitor: HealthMonitor | None = None
    oversight: TimerOversight | None = None
    trimming: StreamTrimming | None = None
    sweeping: RetentionSweeping | None = None
    status: StatusReader | None = None
    archive_supervisor: EmbeddedRedisSupervisor | None = None  # the embedded PostgreSQL's

    async def start(self, worker: asyncio.Task[None] | None) -> None:
        """Start supervising, probing and overseeing; ``worker`` (the timer worker's task,
        if it runs here) is one of the vital tasks liveness watches."""
        if self.supervisor is not None:
            self.supervisor.start()
        if self.archive_supervisor is not None:
            self.archive_supervisor.start()
        if self.oversight is not None:
            self.oversight.start()
        if self.trimming is not None:
            self.trimming.start()
        if self.sweeping is not None:
            self.sweeping.start()
        if self.monitor is None:
            return
        await self.monitor.start()
        vital = [
            (worker, "the timer worker"),
            (self.supervisor.task if self.supervisor else None, "the embedded Redis supervisor"),
            (self.oversight.task if self.oversight else None, "the timer oversight"),
            (self.trimming.task if self.trimming else None, "the stream trimming"),
            (self.sweeping.task if self.sweeping else None, "the retention sweep"),
            (
                self.archive_supervisor.task if self.archive_supervisor else None,
                "the embedded PostgreSQL supervisor",
            ),
        ]
        for task, what in vital:
            if task is not None:
                self.monitor.watch(task, what)

    def stopping(self) -> None:
        """A stop begins: the tasks that end from now on end on purpose."""
        if self.monitor is not None:
            self.monitor.stopping()

    async def stop(self) -> None:
        """Stop all (before the Redis client closes and the embedded server stops)."""
        if self.oversight is not None:
            await self.oversight.stop()
        if self.trimming is not None:
            await self.trimming.stop()
        if self.sweeping is not None:
            await self.sweeping.stop()
        if self.monitor is not None:
            await self.monitor.stop()
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.archive_supervisor is not None:
            await self.archive_supervisor.stop()


def operations(
    settings: Settings,
    clock: Clock,
    redis: Redis | RedisCluster,
    keys: Keys,
    heartbeats: RedisHeartbeats,
    embedded: EmbeddedRedis | None,
    health_servicer: Any = None,
    archive_pool: asyncpg.Pool | None = None,
) -> Operations:
    """The parts this process runs: a serving process passes its ``health_servicer``, and
    its archive's pool when the archive is on (the sweep reads the archive's identity)."""
    ops = Operations()
    if embedded is not None:
        ops.supervisor = EmbeddedRedisSupervisor(
            embedded,
            backoff_s=settings.redis_restart_backoff_s,
            backoff_max_s=settings.redis_restart_backoff_max_s,
        )
    if health_servicer is None:
        return ops
    monitor = ops.monitor = health_monitor(settings, health_servicer, redis, embedded)
    supervisor = ops.supervisor
    if supervisor is not None:
        supervisor.on_exit = monitor.redis_lost
    retention = StreamRetention(
        redis,
        keys,
        retention_ms=int(settings.stream_retention_s * 1000),
        maxlen=settings.stream_maxlen,
    )
    ops.trimming = StreamTrimming(retention, clock, interval_s=settings.stream_trim_interval_s)
    if archive_pool is not None:  # the archive is on (open_archive): Redis may let go
        sweep = TerminalSweep(
            redis,
            keys,
            retention_ms=retention_ms(settings),
            batch=settings.retention_sweep_batch,
        )
        interval_s = settings.retention_sweep_interval_s
        ops.sweeping = RetentionSweeping(sweep, clock, interval_s=interval_s, archive=archive_pool)
    else:
        nothing_deleted_warning()
    reads = RedisStatusReads(redis, keys, retention)
    ttl_ms = alive_ttl_ms(settings.timer_heartbeat_s)
    ops.oversight = TimerOversight(
        heartbeats,
        reads,
        clock,
        heartbeat_s=settings.timer_heartbeat_s,
        alive_ttl_ms=ttl_ms,
        absent_warning_s=settings.timer_absent_warning_s,
        local_worker=settings.timers_enabled,
    )
    ops.status = StatusReader(
        reads,
        heartbeats,
        clock,
        alive_ttl_ms=ttl_ms,
        timeout_s=settings.call_timeout_s / 2,
        ready=lambda: monitor.ready,
        why_not_ready=lambda: monitor.last_error,
        embedded_restarts=(lambda: supervisor.restarts) if supervisor is not None else None,
    )
    return ops


def health_monitor(
    settings: Settings, servicer: Any, shared: Redis | RedisCluster, embedded: EmbeddedRedis | None
) -> HealthMonitor:
    """The monitor of the server's health, probing Redis on a client of its own: short
    timeouts, no retries, two connections. Without a URL (a test that passes its own client)
    it probes through ``shared``, bounded by the probe's timeout all the same."""
    url = embedded.url if embedded is not None else settings.redis_url
    client, close = shared, None
    if url is not None:
        timeout = settings.health_timeout_s
        probe_settings = replace(
            settings,
            redis_socket_timeout_s=timeout,
            redis_socket_connect_timeout_s=timeout,
            redis_retry_attempts=0,
            redis_max_connections=2,
            redis_health_check_interval_s=0.0,
        )
        client = connect(probe_settings, url)
        close = client.aclose
    return HealthMonitor(
        servicer,
        _ping(client),
        interval_s=settings.health_interval_s,
        timeout_s=settings.health_timeout_s,
        failures=settings.health_failures,
        close=close,
    )


def _ping(client: Redis | RedisCluster) -> Ping:
    async def ping() -> None:
        if isinstance(client, RedisCluster):
            await client.ping(target_nodes=RedisCluster.PRIMARIES)
        else:
            await client.ping()

    return ping
