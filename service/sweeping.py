"""The periodic retention sweep of finished requests (``service.storage.lifecycle``), run by
every serving process beside the stream trimming (``service.trimming``), wired and watched
the same way (``service.operations``).

Every ``interval_s`` it sweeps each shard once: finished requests terminal for longer than
``AFTERSALE_RETENTION_TERMINAL_S`` leave Redis if the archive holds their final version; the
others wait, counted. Replicas sweeping at the same time is safe: each shard's sweep is one
atomic script that checks the archived version itself, so two replicas never delete what
either should not, and one finds what the other left.

Which archive: each pass first reads the archive's identity from PostgreSQL (one one-row
SELECT through the archive's pool) and the sweep deletes only what is marked archived *in
that archive* (``service.archive.marks``). Read every pass, not cached across passes: a pass
run with a remembered identity after the archive was wiped or replaced would delete exactly
the requests the new archive lacks, and the read costs one query per ``interval_s`` (60 s by
default). What is remembered is the last identity read, to say at WARNING when it changed.
When PostgreSQL cannot be reached (or has no identity: not migrated yet), the pass is skipped:
nothing is deleted, counted (``aftersale_retention_sweep_skipped_passes_total``) and logged
once when the skips begin, then every ``SKIP_LOG_EVERY`` passes, and once when they end.

With the archive off the loop is not built at all: nothing is ever deleted, and the process
says so at start (a warning, and ``aftersale_retention_sweep_enabled`` 0).
"""

from __future__ import annotations

import logging

import asyncpg

from aftersale.clock import Clock
from service import ops_metrics
from service.archive.identity import NoIdentity, archive_identity
from service.archive.requests import TRANSIENT_POSTGRES
from service.config import Settings
from service.periodic import PeriodicLoop
from service.storage.lifecycle import Swept, TerminalSweep

log = logging.getLogger(__name__)
SKIP_LOG_EVERY = 60  # skipped passes in a row between two log lines (an hour at 60 s)
# Why the archive's identity could not be read: a pass is skipped, never an error.
IDENTITY_UNREADABLE: tuple[type[BaseException], ...] = (
    *TRANSIENT_POSTGRES, asyncpg.PostgresError, NoIdentity
)  # fmt: skip


def retention_ms(settings: Settings) -> int:
    """How long a finished request stays in Redis: the retention, and never less than the
    idempotency TTL. Every call on a request came before it finished, so by then each key it
    stored has expired: a retry never names a request whose record is gone while its key
    lives (a request-scoped key is found through the record, which names its order)."""
    return max(settings.retention_terminal_s, settings.idempotency_ttl_s) * 1000


class RetentionSweeping(PeriodicLoop):
    """The loop described in the module doc; ``start`` it in a serving process."""

    task_name = "retention-sweeping"
    what = "retention sweep"

    def __init__(
        self, sweep: TerminalSweep, clock: Clock, *, interval_s: float, archive: asyncpg.Pool
    ) -> None:
        super().__init__(interval_s)
        self.sweep = sweep
        self._clock = clock
        self.archive = archive
        self.identity: str | None = None  # the archive's identity the last pass read
        self.skipped = 0  # passes skipped in a row (the archive's identity unreadable)

    def start(self) -> None:
        ops_metrics.retention_sweep_enabled.set(1)
        super().start()

    async def _round(self) -> Swept | None:
        return await self.sweep_once()

    async def _archive_identity(self) -> str | None:
        """The archive's identity, read now; None (the pass is skipped, counted, logged
        without a storm) when it cannot be read."""
        try:
            identity = await archive_identity(self.archive)
        except IDENTITY_UNREADABLE as exc:
            ops_metrics.retention_sweep_skipped.inc()
            self.skipped += 1
            if (self.skipped - 1) % SKIP_LOG_EVERY == 0:
                log.warning("retention sweep skipped (%d passes in a row): the archive's "
                            "identity cannot be read (%s: %s), and nothing is deleted without "
                            "it", self.skipped, type(exc).__name__, exc)  # fmt: skip
            return None
        if self.skipped:
            log.info("retention sweep resumed after %d skipped passes", self.skipped)
            self.skipped = 0
        if self.identity is not None and identity != self.identity:
            log.warning("the archive changed identity (%s, was %s): requests archived in the "
                        "previous one stay in Redis until the archiver archived them again",
                        identity, self.identity)  # fmt: skip
        self.identity = identity
        return identity

    async def sweep_once(self) -> Swept | None:
        """Sweep every shard once; count and log what it did. None: skipped (the archive's
        identity could not be read)."""
        archive = await self._archive_identity()
        if archive is None:
            return None
        now_ms = self._clock.now_ms()
        swept = await self.sweep.sweep(now_ms, archive=archive)
        ops_metrics.retention_swept.inc(swept.swept)
        ops_metrics.retention_waiting.set(swept.waiting)
        ops_metrics.retention_queued_by_walk.inc(swept.queued_by_walk)
        oldest_s = 0.0
        if swept.oldest_terminal_ms is not None:
            oldest_s = max(0.0, (now_ms - swept.oldest_terminal_ms) / 1000)
        ops_metrics.retention_oldest_age.set(oldest_s)
        if swept.swept or swept.waiting or swept.unreadable or swept.queued_by_walk:
            log.info(
                "retention sweep: %d finished requests deleted from Redis, %d past retention "
                "waiting for the archive, %d unreadable kept, %d of the previous release "
                "queued; the oldest still in Redis became terminal %.0f s ago",
                swept.swept,
                swept.waiting,
                swept.unreadable,
                swept.queued_by_walk,
                oldest_s,
            )
        return swept


def nothing_deleted_warning() -> None:
    """Say, once at start, that this process deletes nothing (the archive is off)."""
    ops_metrics.retention_sweep_enabled.set(0)
    log.warning(
        "the archive is off: finished requests are never deleted from Redis, which grows "
        "by every request for good (turn the archive on to keep them there instead)"
    )
