"""What a serving process watches besides Redis (SPEC §13): its own heartbeat as a server
replica, and whether any timer worker is alive while timers are due.

Every ``heartbeat_s`` it beats as a ``server`` and reads the live timer workers (any process,
from their heartbeats) and the due timers, and sets ``aftersale_timer_workers_alive`` and
``aftersale_timers_unattended``. When timers are due and no worker has been alive for
``absent_warning_s`` (counted from this server's start, or from the last live worker), it logs
a warning that says what to run; once per absence, again when a worker came back and left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aftersale.clock import Clock
from service import ops_metrics
from service.periodic import PeriodicLoop, pause
from service.storage.heartbeats import SERVER, TIMER_WORKER, RedisHeartbeats, new_process_id
from service.storage.status_reads import RedisStatusReads

log = logging.getLogger(__name__)


class TimerOversight(PeriodicLoop):
    """The loop described in the module doc; ``start`` it in a serving process. It runs its
    own period (``_run``): it counts how long no worker was seen, which a round alone cannot."""

    task_name = "timer-oversight"

    def __init__(
        self,
        heartbeats: RedisHeartbeats,
        reads: RedisStatusReads,
        clock: Clock,
        *,
        heartbeat_s: float,
        alive_ttl_ms: int,
        absent_warning_s: float,
        local_worker: bool,
    ) -> None:
        super().__init__(heartbeat_s)
        self._heartbeats = heartbeats
        self._reads = reads
        self._clock = clock
        self.alive_ttl_ms = alive_ttl_ms
        self.absent_warning_s = absent_warning_s
        self.local_worker = local_worker  # AFTERSALE_TIMERS here: says what the warning advises
        self.server_id = new_process_id()
        self.live_workers = 0
        self.due = 0
        self.warned = False

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(Exception):  # its beat expires anyway
            await self._heartbeats.forget(SERVER, self.server_id)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_seen = loop.time()  # the absence is counted from the start
        while not self._stopped.is_set():
            try:
                await self.check()
            except Exception as exc:  # Redis down: readiness says so; try again next period
                log.debug("timer oversight could not read redis: %s", exc)
            else:
                if self.live_workers:
                    last_seen = loop.time()
                    self.warned = False
                elif (
                    self.due
                    and not self.warned
                    and loop.time() - last_seen >= self.absent_warning_s
                ):
                    self._warn()
            await pause(self._stopped, self.interval_s)

    async def check(self) -> None:
        """One period: beat, and read the workers and the due timers."""
        await self._heartbeats.beat(SERVER, self.server_id)
        self.live_workers = await self._heartbeats.alive_count(TIMER_WORKER, self.alive_ttl_ms)
        self.due = await self._reads.due_count(self._clock.now_ms())
        ops_metrics.timer_workers_alive.set(self.live_workers)
        ops_metrics.timers_unattended.set(1 if self.due and not self.live_workers else 0)

    def _warn(self) -> None:
        self.warned = True
        advice = (
            "its timer worker has not beaten (is it stuck?)"
            if self.local_worker
            else "AFTERSALE_TIMERS=0 here: run `python -m service timers` somewhere"
        )
        log.warning(
            "no timer worker alive for %.0fs while %d timers are due: nothing fires them; %s",
            self.absent_warning_s,
            self.due,
            advice,
        )
