"""The durable timer worker (DESIGN §4).

Runs inside every service process by default (or alone: ``python -m service timers``). Each
round it hands expired leases back, claims a batch of due timers with a lease, fires each one
through the same handler path as an API call, and sleeps until the next due time (bounded,
so a timer set by another process is picked up within ``max_sleep_s``). Exactly-once *in
effect*: the commit's version check makes a second firing of the same timer a no-op, and a
worker that dies after claiming leaves its lease to expire and be reclaimed.

With ``heartbeats``, a running worker beats every ``heartbeat_s`` (at the start of a round,
so a worker stuck in a round stops beating) under its ``worker_id``, and forgets its beat when
it stops: servers and the ops status see whether any worker is alive (``service.oversight``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry import trace

from aftersale.clock import Clock
from service.handlers import AfterSaleHandlers
from service.observability import metrics
from service.observability.tracing import quiet
from service.storage.heartbeats import TIMER_WORKER, new_process_id
from service.storage.ports import Heartbeats, TimerMember, TimerStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TimerWorkerSettings:
    lease_ms: int = 30_000
    batch: int = 200
    max_sleep_s: float = 0.5
    chunk: int = 100  # timers read, decided and committed per pipeline
    # chunks fired at once: one chunk is read and decided while the one before waits for
    # its commit pipeline, so the worker decides while Redis commits
    in_flight: int = 2
    heartbeat_s: float = 5.0


class TimerWorker:
    def __init__(
        self,
        store: TimerStore,
        handlers: AfterSaleHandlers,
        clock: Clock,
        settings: TimerWorkerSettings,
        tracer: trace.Tracer | None = None,
        *,
        heartbeats: Heartbeats | None = None,
    ) -> None:
        self._store = store
        # A span per batch fired (its commits below it); polling rounds make no spans.
        self._tracer = tracer or trace.NoOpTracer()
        self._handlers = handlers
        self._clock = clock
        self._settings = settings
        self._stopping = asyncio.Event()
        self.fired = 0
        self.dropped = 0
        self.worker_id = new_process_id()
        self._heartbeats = heartbeats
        self._next_beat = 0.0  # loop time

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Fire timers until ``stop()``; errors are logged, never fatal to the loop."""
        log.info("timer worker started id=%s", self.worker_id)
        while not self._stopping.is_set():
            # Every Redis call of a round is inside the try: an outage longer than the
            # client's own retries must cost a few rounds, never the worker (timers would
            # silently stop firing while the process looks healthy).
            try:
                await self._beat()
                if await self.run_once():
                    continue  # more may be due: go again at once
                delay = await self._delay_until_next_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.timer_round_errors.inc()
                log.exception("timer round failed; retrying")
                delay = self._settings.max_sleep_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        await self._forget()
        log.info("timer worker stopped")

    async def run_once(self) -> int:
        """One round: reclaim, claim a batch, fire it. Returns how many timers were handled."""
        now = self._clock.now_ms()
        with quiet():
            metrics.timer_reclaims.inc(await self._store.reclaim_expired(now))
            timers = await self._store.claim_due(now, self._settings.lease_ms, self._settings.batch)
        if not timers:
            return 0
        size = self._settings.chunk
        chunks = iter([timers[start : start + size] for start in range(0, len(timers), size)])
        lanes = min(self._settings.in_flight, -(-len(timers) // size))
        async with asyncio.TaskGroup() as group:  # an error cancels the other lanes
            for _ in range(lanes):
                group.create_task(self._fire_lane(chunks))
        return len(timers)

    async def _fire_lane(self, chunks: Iterator[list[TimerMember]]) -> None:
        """Fire chunks from ``chunks`` (shared by the round's lanes) until none is left. Each
        chunk's timers are distinct members, and a commit only applies on the version its
        decision read, so lanes never fire one timer twice."""
        for chunk in chunks:
            with self._tracer.start_as_current_span("fire timers") as span:
                span.set_attribute("aftersale.timers", len(chunk))
                await self._fire(chunk)

    async def _fire(self, chunk: list[TimerMember]) -> None:
        try:
            fired = await self._handlers.fire_timers(chunk)
        except Exception:
            # The leases stay: these timers are retried once they expire.
            metrics.timer_round_errors.inc()
            log.exception("firing %d timers failed; retried after their lease", len(chunk))
            return
        stale = [t.member for t, ok in zip(chunk, fired, strict=True) if not ok]
        # the requests moved on, or are gone: never fire these again
        await self._store.drop_many(stale)
        # one labels() lookup per action, not per timer (it validates and locks each time)
        by_action = Counter(t.action for t, ok in zip(chunk, fired, strict=True) if ok)
        for action, count in by_action.items():
            metrics.timers_fired.labels(action.value).inc(count)
        metrics.timers_dropped.inc(len(stale))
        self.fired += len(chunk) - len(stale)
        self.dropped += len(stale)

    async def _beat(self) -> None:
        loop_now = asyncio.get_running_loop().time()
        if self._heartbeats is None or loop_now < self._next_beat:
            return
        self._next_beat = loop_now + self._settings.heartbeat_s
        await self._heartbeats.beat(TIMER_WORKER, self.worker_id)

    async def _forget(self) -> None:
        if self._heartbeats is None:
            return
        try:
            await self._heartbeats.forget(TIMER_WORKER, self.worker_id)
        except Exception as exc:  # its beat expires anyway
            log.warning("timer worker could not remove its heartbeat: %s", exc)

    async def _delay_until_next_due(self) -> float:
        """Seconds to sleep: until the next due timer, at most ``max_sleep_s``."""
        with quiet():
            next_due = await self._store.next_due_ms()
        max_sleep = self._settings.max_sleep_s
        if next_due is None:
            return max_sleep
        return min(max_sleep, max(0.0, (next_due - self._clock.now_ms()) / 1000))
