"""The ops status view (``GetStatus``, ``python -m service status``; SPEC §13).

What one read shows: whether this server is ready (its readiness), Redis (reachable, memory
used and its limit, an embedded server's restarts), the timer backlog (due, claimed,
scheduled) and the oldest overdue timers, the requests flagged for ops (a refund never
answered), the events retained in the streams, and the timer workers and server replicas seen
from their heartbeats, and the subscriptions (consumer groups) on the streams: their backlog
and any events the hard cap trimmed before they acknowledged them.

A Redis that does not answer within ``timeout_s`` (or that readiness already knows is gone)
gives a status saying so, not an error: ops need the view most when Redis is in trouble.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from aftersale.clock import Clock
from service.storage.heartbeats import SERVER, TIMER_WORKER, Heartbeat, RedisHeartbeats
from service.storage.status_reads import (
    Flagged,
    Memory,
    RedisStatusReads,
    SubscriptionBacklog,
    TimerBacklog,
)

NO_TIMERS = TimerBacklog(0, 0, 0, ())
NO_FLAGS = Flagged(0, ())


@dataclass(frozen=True, slots=True)
class RedisState:
    reachable: bool
    error: str = ""  # why not, when unreachable
    memory: Memory | None = None
    embedded: bool = False
    embedded_restarts: int = 0


@dataclass(frozen=True, slots=True)
class OpsStatus:
    read_at_ms: int
    ready: bool
    redis: RedisState
    timers: TimerBacklog = NO_TIMERS
    flagged: Flagged = NO_FLAGS
    retained_events: int = 0
    timer_workers: tuple[Heartbeat, ...] = ()
    servers: tuple[Heartbeat, ...] = ()
    subscriptions: tuple[SubscriptionBacklog, ...] = ()
    alive_ttl_ms: int = 0
    beats_read_at_ms: int = 0  # wall-clock time, which heartbeats are in
    archive: Any = None  # service.archive.status.ArchiveState, when read

    def alive(self, beat: Heartbeat) -> bool:
        return beat.alive(self.beats_read_at_ms, self.alive_ttl_ms)

    @property
    def live_workers(self) -> int:
        return sum(1 for beat in self.timer_workers if self.alive(beat))

    @property
    def unattended(self) -> bool:
        """Timers are due and no worker is alive to fire them."""
        return self.redis.reachable and self.timers.due > 0 and self.live_workers == 0


class StatusReader:
    """Reads an ``OpsStatus``; the parts not in Redis come from the callables given."""

    def __init__(
        self,
        reads: RedisStatusReads,
        heartbeats: RedisHeartbeats,
        clock: Clock,
        *,
        alive_ttl_ms: int,
        timeout_s: float,
        ready: Callable[[], bool] = lambda: True,
        why_not_ready: Callable[[], str] = lambda: "",
        embedded_restarts: Callable[[], int] | None = None,
    ) -> None:
        self._reads = reads
        self._heartbeats = heartbeats
        self._clock = clock
        self.alive_ttl_ms = alive_ttl_ms
        self.timeout_s = timeout_s
        self._ready = ready
        self._why_not_ready = why_not_ready
        self._embedded_restarts = embedded_restarts
        # The archive's part (service.archive.status.ArchiveProbe.read), set by the
        # composition root: read beside the Redis parts, whatever Redis says.
        self.archive: Callable[[], Awaitable[Any]] | None = None

    async def read(self, limit: int) -> OpsStatus:
        """The status now, listing at most ``limit`` (>= 1) overdue timers and flagged
        requests."""
        status = await self._read(limit)
        if self.archive is None:
            return status
        return replace(status, archive=await self.archive())

    async def _read(self, limit: int) -> OpsStatus:
        now = self._clock.now_ms()
        ready = self._ready()
        embedded = self._embedded_restarts is not None
        restarts = self._embedded_restarts() if self._embedded_restarts is not None else 0
        down = RedisState(False, self._why_not_ready(), None, embedded, restarts)
        if not ready:
            return OpsStatus(now, ready, down, alive_ttl_ms=self.alive_ttl_ms)
        try:
            async with asyncio.timeout(self.timeout_s):
                shards, subscriptions = await asyncio.gather(
                    asyncio.gather(
                        self._reads.memory(),
                        self._reads.timers(now, limit),
                        self._reads.flagged(limit),
                        self._reads.retained_events(),
                        self._heartbeats.recent(TIMER_WORKER),
                        self._heartbeats.recent(SERVER),
                    ),
                    self._reads.subscriptions(),
                )
                memory, timers, flagged, retained, workers, servers = shards
        except (RedisError, RedisClusterException, TimeoutError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}".rstrip(": ")
            unreachable = RedisState(False, why, None, embedded, restarts)
            return OpsStatus(now, ready, unreachable, alive_ttl_ms=self.alive_ttl_ms)
        return OpsStatus(
            read_at_ms=now,
            ready=ready,
            redis=RedisState(True, "", memory, embedded, restarts),
            timers=timers,
            flagged=flagged,
            retained_events=retained,
            timer_workers=tuple(workers),
            servers=tuple(servers),
            subscriptions=tuple(subscriptions),
            alive_ttl_ms=self.alive_ttl_ms,
            beats_read_at_ms=self._heartbeats.clock.now_ms(),
        )
