"""The embedded redis-server, supervised: started again with backoff if it dies (SPEC §13).

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

from service import ops_metrics
from service.storage.redis_server import EmbeddedRedis, EmbeddedRedisError

log = logging.getLogger(__name__)
POLL_S = 0.2  # how soon a death is seen
STABLE_S = 60.0


class EmbeddedRedisSupervisor:
    """Watches one ``EmbeddedRedis`` from ``start`` to ``stop``."""

    def __init__(
        self,
        embedded: EmbeddedRedis,
        *,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        on_exit: Callable[[str], None] | None = None,
    ) -> None:
        self.embedded = embedded
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
        self._task = asyncio.create_task(self._run(), name="embedded-redis-supervisor")

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
                    "starting the embedded redis-server again in %.1fs address=%s",
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
        ops_metrics.embedded_redis_exits.inc()
        how = f"signal {-status}" if status < 0 else f"status {status}"
        log.error(
            "the embedded redis-server exited (%s) address=%s; its log ends:\n%s",
            how,
            self.embedded.address,
            self.embedded.log_tail(5),
        )
        if self.on_exit is not None:
            self.on_exit(f"embedded redis-server exited ({how})")

    async def _restart(self) -> bool:
        try:
            await asyncio.to_thread(self.embedded.start)
        except (EmbeddedRedisError, OSError) as exc:
            ops_metrics.embedded_redis_restart_failures.inc()
            log.error("the embedded redis-server did not start again: %s", exc)
            return False
        self.restarts += 1
        ops_metrics.embedded_redis_restarts.inc()
        log.warning(
            "the embedded redis-server runs again pid=%s address=%s restarts=%d",
            self.embedded.pid,
            self.embedded.address,
            self.restarts,
        )
        return True
