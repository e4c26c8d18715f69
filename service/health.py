"""Health that tells the truth (grpc.health.v1, SPEC §13): readiness and liveness.

Readiness — services ``""`` (the whole server) and ``aftersale.v1.AfterSaleService``: SERVING
when the server can serve now, that is, Redis answers. A probe PINGs Redis every
``interval_s`` on a connection of its own (so a full or stuck pool cannot hide the answer, nor
the probe wait behind calls), with ``timeout_s`` and no retries; ``failures`` failed probes in
a row turn readiness NOT_SERVING, one success turns it SERVING again. A death of the embedded
redis-server (``redis_lost``) turns it NOT_SERVING at once.

Liveness — service ``liveness``: SERVING while the process is not wedged. It is answered by
the event loop that runs everything (a loop that is stuck does not answer: the probe's
deadline fails), and turns NOT_SERVING when a task the process cannot live without ended
unexpectedly (``watch``: the Redis probe itself, the embedded Redis supervisor, the timer
worker), since only a restart brings those back. An unreachable Redis does not make a process
unlive: restarting it would not bring Redis back.

Both turn NOT_SERVING for good when a stop begins (``stop_server``: the health servicer's
graceful shutdown ignores every later change).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from grpc_health.v1 import health_pb2

from service import ops_metrics
from service.api.server import SERVICE_NAME
from service.periodic import end_task, pause

log = logging.getLogger(__name__)

LIVENESS = "liveness"
READINESS = ("", SERVICE_NAME)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
LAG_WARNING_S = 1.0  # the loop woke this late: something blocks it

Ping = Callable[[], Awaitable[object]]


class HealthMonitor:
    """Keeps a ``grpc_health.v1.health.aio.HealthServicer`` truthful; see the module doc."""

    def __init__(
        self,
        servicer: Any,
        ping: Ping,
        *,
        interval_s: float = 1.0,
        timeout_s: float = 0.5,
        failures: int = 3,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._servicer = servicer
        self._ping = ping
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.failures = failures
        self._close = close
        self.ready = True  # built after Redis answered
        self.live = True
        self.failed_in_a_row = 0
        self.last_error = ""
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pending: set[asyncio.Task[None]] = set()
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        """Serve liveness, and probe Redis until ``stop``."""
        await self._servicer.set(LIVENESS, SERVING)
        ops_metrics.redis_reachable.set(1)
        self._task = asyncio.create_task(self._run(), name="health-probe")
        self.watch(self._task, "the Redis health probe")

    def stopping(self) -> None:
        """A stop begins: tasks that end now end on purpose."""
        self._stopping = True

    async def stop(self) -> None:
        self._stopping = True
        await end_task(self._task, self._stopped)
        for task in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._close is not None:
            await self._close()

    def watch(self, task: asyncio.Task[Any], what: str) -> None:
        """Liveness turns NOT_SERVING if ``task`` ends while the process is not stopping."""

        def ended(done: asyncio.Task[Any]) -> None:
            if self._stopping:
                return
            error = None if done.cancelled() else done.exception()
            log.critical("%s ended unexpectedly; liveness NOT_SERVING", what, exc_info=error)
            self.live = False
            self._set(LIVENESS, NOT_SERVING)

        task.add_done_callback(ended)

    def redis_lost(self, reason: str) -> None:
        """Redis is known to be gone (no need to wait for the probes to fail)."""
        self.failed_in_a_row = max(self.failed_in_a_row, self.failures)
        self._not_ready(reason)

    async def probe_once(self) -> bool:
        """One PING; updates readiness. True when Redis answered."""
        try:
            await asyncio.wait_for(self._ping(), timeout=self.timeout_s)
        except Exception as exc:  # any failure to answer is a failed probe
            ops_metrics.health_probe_failures.inc()
            self.failed_in_a_row += 1
            if self.failed_in_a_row >= self.failures:
                last = f"{type(exc).__name__}: {exc}".rstrip(": ")
                self._not_ready(f"{self.failed_in_a_row} probes failed in a row, the last: {last}")
            return False
        self.failed_in_a_row = 0
        if not self.ready:
            self.ready = True
            self.last_error = ""
            ops_metrics.redis_reachable.set(1)
            log.warning("redis answers again; readiness SERVING")
            for name in READINESS:
                self._set(name, SERVING)
        return True

    def _not_ready(self, reason: str) -> None:
        self.last_error = reason
        if not self.ready:
            return
        self.ready = False
        ops_metrics.redis_reachable.set(0)
        log.error("redis unreachable (%s); readiness NOT_SERVING", reason)
        for name in READINESS:
            self._set(name, NOT_SERVING)

    def _set(self, name: str, status: int) -> None:
        task = asyncio.get_running_loop().create_task(self._servicer.set(name, status))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        wake = loop.time()
        while not self._stopped.is_set():
            await self.probe_once()
            wake += self.interval_s  # a fixed cadence: a slow probe does not stretch it
            delay = wake - loop.time()
            if delay < 0:
                wake = loop.time()
                delay = 0
            await pause(self._stopped, delay)
            lag = max(0.0, loop.time() - wake)
            ops_metrics.event_loop_lag.set(lag)
            if lag > LAG_WARNING_S:
                log.warning("the event loop woke %.1fs late: something blocks it", lag)
