"""Heartbeats of the service's processes in Redis: which timer workers (and servers) are alive.

One zset per kind of process (``Keys.heartbeats(kind)``): member the process id, score its
last beat (ms). A process counts as alive while its last beat is younger than its TTL
(``ALIVE_PERIODS`` heartbeat periods); one that stops cleanly removes itself, one that dies
stays listed as not alive until its beat is older than ``FORGET_MS``.

Beats are wall-clock time (``clock``, the system's by default), not the service's injected
clock: whether a process is alive is a matter of real time, even in a test that moves the
service's clock by days.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster

from aftersale.clock import Clock, SystemClock
from service.storage.keys import Keys

TIMER_WORKER = "timer_worker"
SERVER = "server"
ALIVE_PERIODS = 3  # beats a process may miss before it counts as dead
FORGET_MS = 3_600_000  # a dead process is listed for an hour, then pruned
LISTED = 100  # at most this many processes of a kind are listed


def new_process_id() -> str:
    """``host:pid:random``: unique per process start, and says where to look."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def alive_ttl_ms(heartbeat_s: float) -> int:
    """How long after its last beat a process counts as alive."""
    return int(heartbeat_s * 1000 * ALIVE_PERIODS)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A process's last beat."""

    process_id: str
    last_beat_ms: int

    def alive(self, now_ms: int, ttl_ms: int) -> bool:
        return now_ms - self.last_beat_ms <= ttl_ms


class RedisHeartbeats:
    """The heartbeat zsets (``Heartbeats`` port of the timer worker)."""

    def __init__(
        self, client: Redis | RedisCluster, keys: Keys, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.keys = keys
        self.clock = clock or SystemClock()

    async def beat(self, kind: str, process_id: str) -> None:
        """Record a beat of ``process_id`` now, and prune the long dead."""
        key = self.keys.heartbeats(kind)
        now_ms = self.clock.now_ms()
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {process_id: now_ms})
        pipe.zremrangebyscore(key, "-inf", now_ms - FORGET_MS)
        await pipe.execute()

    async def forget(self, kind: str, process_id: str) -> None:
        """``process_id`` stopped cleanly: it is no longer listed."""
        await self.client.zrem(self.keys.heartbeats(kind), process_id)

    async def alive_count(self, kind: str, ttl_ms: int) -> int:
        """How many processes of ``kind`` beat within the last ``ttl_ms``."""
        since = self.clock.now_ms() - ttl_ms
        return int(await self.client.zcount(self.keys.heartbeats(kind), since, "+inf"))

    async def recent(self, kind: str) -> list[Heartbeat]:
        """The processes of ``kind`` seen within ``FORGET_MS``, newest beat first."""
        rows: list[Any] = await self.client.zrevrange(
            self.keys.heartbeats(kind), 0, LISTED - 1, withscores=True
        )
        return [Heartbeat(str(member), int(score)) for member, score in rows]
