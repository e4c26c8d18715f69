"""The embedded redis-server, supervised: started again with backoff if it dies (SPEC §13).
The embedded PostgreSQL (the archive, ``service.archive.postgres_server``) is supervised the
same way by the same class: any server with ``exit_status``, ``start``, ``stop``, ``address``,
``pid`` and ``log_tail`` (``Supervised``), named and counted by ``ServerCounters``.

The server keeps its directory, port and password, so clients reconnect by retrying and its
append-only file brings the data back. Each death is logged with the server's last log lines
and counted (``aftersale_embedded_redis_exits``), and so is each restart and each failed
attempt. ``on_exit`` is told at once (the health monitor turns NOT_SERVING without waiting for
its probes to fail). The wait before an attempt doubles from ``backoff_s`` up to
``backoff_max_s`` while the server keeps dying within ``STABLE_S`` of its start (or will not
start), and is ``backoff_s`` again after it ran that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from service import ops_metrics
from service.storage.redis_server import EmbeddedRedisError

log = logging.getLogger(__name__)
POLL_S = 0.2  # how soon a death is seen
STABLE_S = 60.0


class Supervised(Protocol):
    """A server child process the supervisor can watch and start again."""

    @property
    def exit_status(self) -> int | None: ...
    @property
    def address(self) -> str: ...
    @property
    def pid(self) -> int | None: ...
    def start(self) -> Any: ...
    def stop(self, timeout_s: float = 30.0) -> None: ...
    def log_tail(self, lines: int = 20) -> str: ...


@dataclass(frozen=True, slots=True)
class ServerCounters:
    """What a supervised server is called in logs, and its three counters."""

    name: str
    exits: Any
    restarts: Any
    restart_failures: Any
    start_errors: tuple[type[Exception], ...] = (OSError,)


REDIS = ServerCounters(
    "redis-server",
    ops_metrics.embedded_redis_exits,
    ops_metrics.embedded_redis_restarts,
    ops_metrics.embedded_redis_restart_failures,
    (EmbeddedRedisError, OSError),
)


class EmbeddedRedisSupervisor:
    """Watches one embedded server (``EmbeddedRedis`` unless told) from ``start`` to
    ``stop``."""

    def __init__(
        self,
        embedded: Supervised,
        *,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        on_exit: Callable[[str], None] | None = None,
        counters: ServerCounters = REDIS,
    ) -> None:
        self.embedded = embedded
        self.counters = counters
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.on_exit = on_exit
        self.exits = 0
        self.restarts = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The supervising task while it runs (the health monitor watches it)."""
        return self._task

    def start(self) -> None:
        name = f"embedded-{self.counters.name}-supervisor"
        self._task = asyncio.create_task(self._run(), name=name)

    async def stop(self) -> None:
        """Stop supervising (before the server is stopped on purpose); waits for a start in
        progress to end, so the caller stops a server that is not being started."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, unless stopping; True when it is time to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return self._stopping.is_set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.backoff_s
        started_at = loop.time()
        while not await self._sleep(POLL_S):
            status = self.embedded.exit_status
            if status is None:
                continue
            self._died(status)
            if loop.time() - started_at >= STABLE_S:
                backoff = self.backoff_s
            await asyncio.to_thread(self.embedded.stop)  # reap it, release the directory
            while True:
                log.warning(
                    "starting the embedded %s again in %.1fs address=%s",
                    self.counters.name,
                    backoff,
                    self.embedded.address,
                )
                if await self._sleep(backoff):
                    return
                backoff = min(backoff * 2, self.backoff_max_s)
                if await self._restart():
                    started_at = loop.time()
                    break

    def _died(self, status: int) -> None:
        self.exits += 1
        self.counters.exits.inc()
        how = f"signal {-status}" if status < 0 else f"status {status}"
        log.error(
            "the embedded %s exited (%s) address=%s; its log ends:\n%s",
            self.counters.name,
            how,
            self.embedded.address,
            self.embedded.log_tail(5),
        )
        if self.on_exit is not None:
            self.on_exit(f"embedded {self.counters.name} exited ({how})")

    async def _restart(self) -> bool:
        try:
            await asyncio.to_thread(self.embedded.start)
        except self.counters.start_errors as exc:
            self.counters.restart_failures.inc()
            log.error("the embedded %s did not start again: %s", self.counters.name, exc)
            return False
        self.restarts += 1
        self.counters.restarts.inc()
        log.warning(
            "the embedded %s runs again pid=%s address=%s restarts=%d",
            self.counters.name,
            self.embedded.pid,
            self.embedded.address,
            self.restarts,
        )
        return True
