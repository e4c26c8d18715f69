"""Archiving requests as they are now in Redis: read, write to PostgreSQL, mark.

``RequestArchiver.archive(ids)`` reads each request's record and history in one atomic script
(``marks.READ``), skips those whose record says this archive already holds this version
(``a == <archive id>:<version>``: an event replayed, or a request archived by the backfill),
writes the rest in one PostgreSQL transaction (``writes``), which also reads the archive's
identity, and only after the commit marks each one archived at the version it wrote in the
archive that committed it (``marks.MARK``, which refuses if the request moved on meanwhile).
The identity comes from the transaction itself, never from a cache: a mark names the archive
that holds the rows even if the archive was swapped a moment before.
Everything is idempotent, so a crash anywhere between the steps only repeats work.

A request is archived again at each new version, and its history grows: the archiver
remembers (``KNOWN``, least recently used) up to which version it wrote each request, and
reads and writes only the history rows after it. What it forgets, or another archiver
wrote, is only written again (``ON CONFLICT DO NOTHING``): the memory saves work, it is never
needed for correctness, as the archive never loses a version once written.

Failures (``service.observability.archive``):

- PostgreSQL unreachable, restarting, out of connections, or a serialization failure: the
  whole transaction is tried again with backoff (doubling up to ``backoff_max_s``) until it
  commits or the archiver stops; nothing is acknowledged meanwhile, so nothing is lost;
- Redis failing while reading or marking: the same, with backoff;
- one request PostgreSQL refuses for its data (or whose record does not decode): the batch is
  written again one request per transaction, and the requests that still fail are returned as
  failed (logged, counted): their events stay unacknowledged, are delivered again after the
  ack deadline, and become dead letters after the subscription's max deliveries, where ops
  see them (``ListDeadLetters``) and replay them once fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from aftersale.model import AfterSale
from service.archive.identity import archive_identity
from service.archive.marks import ARCHIVED_FIELD, ArchiveScripts, archived_mark
from service.archive.writes import event_rows, request_row, write_rows
from service.observability import archive as report
from service.storage.codec import RECORD_FIELD
from service.storage.decoding import record_from_fields
from service.storage.keys import Keys
from service.storage.ports import UndecodableRecord

T = TypeVar("T")
KNOWN = 100_000  # requests whose archived version an archiver remembers (≈ 10 MB)

# PostgreSQL failures that say nothing about the data: the same transaction may succeed later.
TRANSIENT_POSTGRES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # the pool's or a command's timeout
    asyncpg.InterfaceError,  # the connection was closed under us
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting, restarting
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,  # serialization failure, deadlock
    # A connection that broke mid-statement can fail its ROLLBACK with this instead of a
    # connection error (asyncpg 0.30+); the pool replaces it.
    asyncpg.exceptions.InternalClientError,
)
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    RedisError, RedisClusterException, OSError, TimeoutError
)  # fmt: skip


class Stopped(Exception):
    """The archiver is stopping: the work in hand is left undone (and unacknowledged)."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A request to write: its record, and its rows as the statements' parameters."""

    record: AfterSale
    request: tuple[Any, ...]
    events: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Retry:
    """How failing work is tried again: wait ``backoff_s``, doubled up to ``backoff_max_s``."""

    backoff_s: float = 0.2
    backoff_max_s: float = 10.0


class RequestArchiver:
    """Archives requests by id (see the module docstring)."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        keys: Keys,
        pool: asyncpg.Pool,
        *,
        retry: Retry | None = None,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.keys = keys
        self.pool = pool
        self.scripts = ArchiveScripts(redis, keys)
        self.retry = retry or Retry()
        self.stopping = stopping or asyncio.Event()
        self.known: OrderedDict[str, int] = OrderedDict()  # request → version written
        # The archive's identity as last read: only to skip requests marked for it already
        # (a stale one costs a write again, or a skip the backfill's restart makes good).
        self.identity: str | None = None

    async def read_identity(self) -> str:
        """The archive's identity, read from PostgreSQL now (and remembered)."""
        async with self.pool.acquire() as conn:
            self.identity = await archive_identity(conn)
        return self.identity

    async def archive(self, request_ids: Sequence[str], source: str) -> set[str]:
        """Archive these requests as they are now; the ids that failed (see above). Raises
        ``Stopped`` if the archiver stops while waiting to retry."""
        ids = list(dict.fromkeys(request_ids))
        firsts = [self.known.get(request_id, 0) for request_id in ids]
        states = await self.retrying(
            "redis", "reading requests", lambda: self.scripts.read_many(ids, firsts)
        )
        todo: list[Pending] = []
        failed: set[str] = set()
        held = self.identity
        for request_id, first, (fields, rows) in zip(ids, firsts, states, strict=True):
            if not fields:
                continue  # gone (archived, then swept)
            mark = fields.get(ARCHIVED_FIELD)
            if held is not None and mark == archived_mark(held, fields.get("version", "")):
                continue  # this archive holds this version already
            try:
                record = record_from_fields(request_id, fields)
            except UndecodableRecord as error:
                report.failed("request", f"archiving {request_id} (record)", error, None)
                failed.add(request_id)
                continue
            request = request_row(record, fields.get(RECORD_FIELD))
            todo.append(Pending(record, request, event_rows(record, rows, first + 1)))
        if not todo:
            return failed
        archives = await self._write(todo)
        failed |= {p.record.request_id for p in todo} - archives.keys()
        written = [(p.record.request_id, p.record.version, archives[p.record.request_id])
                   for p in todo if p.record.request_id in archives]  # fmt: skip
        if written:
            report.REQUESTS.labels(source=source).inc(len(written))
            self._remember(written)
            await self.retrying("redis", "marking requests archived",
                                lambda: self.scripts.mark_many(written))  # fmt: skip
        return failed

    def _remember(self, written: list[tuple[str, int, str]]) -> None:
        for request_id, version, _ in written:
            self.known[request_id] = version
            self.known.move_to_end(request_id)
        while len(self.known) > KNOWN:
            self.known.popitem(last=False)

    async def _write(self, requests: list[Pending]) -> dict[str, str]:
        """Write ``requests`` in one transaction, retried while PostgreSQL is unavailable;
        on a data error, one transaction per request. The ids written, each with the identity
        of the archive that committed it (an id missing: it could not be written)."""
        try:
            archive = await self.retrying("postgres", f"writing {len(requests)} requests",
                                          lambda: self._transaction(requests))  # fmt: skip
        except asyncpg.PostgresError as error:
            if len(requests) == 1:
                request_id = requests[0].record.request_id
                report.failed("request", f"archiving {request_id}", error, None)
                return {}
            written: dict[str, str] = {}
            for request in requests:
                written |= await self._write([request])
            return written
        report.BATCHES.inc()
        return {p.record.request_id: archive for p in requests}

    async def _transaction(self, requests: list[Pending]) -> str:
        """Write ``requests``; the identity of the archive that committed them."""
        async with self.pool.acquire() as conn, conn.transaction():
            archive = await archive_identity(conn)
            await write_rows(
                conn, [p.request for p in requests], [e for p in requests for e in p.events]
            )
        self.identity = archive
        return archive

    async def retrying(self, stage: str, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()`` until it succeeds, waiting between failures of ``stage``'s transient
        kind; ``Stopped`` when the archiver stops meanwhile. Other errors are raised."""
        transient = TRANSIENT_POSTGRES if stage == "postgres" else REDIS_ERRORS
        backoff = self.retry.backoff_s
        while True:
            if self.stopping.is_set():
                raise Stopped
            try:
                return await attempt()
            except transient as error:
                report.failed(stage, what, error, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, self.retry.backoff_max_s)
