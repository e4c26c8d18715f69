"""The archive in the ops status (``GetStatus``): on or off (off says that nothing is ever
deleted), embedded or not, whether PostgreSQL answers, the embedded server's restarts, the
backfill's progress, and whether this process runs an archiver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.archive.backfill import DONE
from service.archive.startup import OFF_WARNING, ArchiveParts
from service.storage.keys import Keys

PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class ArchiveState:
    enabled: bool
    embedded: bool = False
    reachable: bool = False
    error: str = ""
    embedded_restarts: int = 0
    backfill_done_shards: int = 0
    archiver_running: bool = False
    warning: str = ""


class ArchiveProbe:
    """Reads an ``ArchiveState`` (``read``), each part bounded by ``PROBE_TIMEOUT_S``."""

    def __init__(
        self,
        parts: ArchiveParts,
        redis: Any,
        keys: Keys,
        *,
        why_off: str = "",
        archiver_running: bool = False,
        embedded_restarts: Callable[[], int] | None = None,
    ) -> None:
        self.parts = parts
        self.redis = redis
        self.keys = keys
        self.why_off = why_off
        self.archiver_running = archiver_running
        self.embedded_restarts = embedded_restarts or (lambda: 0)

    async def read(self) -> ArchiveState:
        pool = self.parts.pool
        if pool is None:
            return ArchiveState(False, warning=OFF_WARNING % self.why_off)
        error = ""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await pool.fetchval("SELECT 1")
        except Exception as exc:  # whatever stops the probe is what ops must read
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        done = 0
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                state = await self.redis.hgetall(self.keys.archive_backfill())
            done = sum(1 for value in state.values() if value == DONE)
        except Exception:  # Redis trouble is the status's own Redis section
            pass
        return ArchiveState(
            enabled=True,
            embedded=self.parts.embedded is not None,
            reachable=not error,
            error=error,
            embedded_restarts=self.embedded_restarts(),
            backfill_done_shards=done,
            archiver_running=self.archiver_running,
            warning=f"the archive does not answer: {error}" if error else "",
        )
