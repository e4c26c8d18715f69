"""Reading the archive (PostgreSQL): records, histories and listing positions of requests,
for the reads that answer the same whether a request is still in Redis or not (SPEC §12).

What the archive holds is what Redis held: ``requests.record`` is the record's stored form
(``codec``) and ``events.event`` the history row, so they decode with the very functions the
Redis reads use, and a reply built from either side is the same. Two things differ and are
handled here: a history row is decoded by its keys, not by its first bytes (the columns are
``json``, which keeps the bytes, but a row is not assumed to be byte-for-byte Redis's: a
``jsonb`` column, or another writer, would reorder keys), and text sorts by the database's
collation, so listing order is asked for with ``COLLATE "C"`` (byte order, as Redis sorts
members).

Every query goes through ``ArchiveReads.run``: a PostgreSQL that cannot be reached raises
``ArchiveUnavailable`` (the API answers UNAVAILABLE with a retry delay), never an empty
answer that would read as "no such request". A connection the server dropped (a restart) is
retried once on a fresh one: these are reads, so running one again is harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

import asyncpg

from aftersale.model import AfterSale
from aftersale.vocabulary import State
from service.observability.metrics import archive_reads
from service.observability.undecodable import undecodable
from service.storage.codec import RECORD_FIELD
from service.storage.decoding import (
    UndecodableEntry,
    check_event,
    record_from_fields,
    stored_event,
)
from service.storage.event_codec import decode_event
from service.storage.listing import Entry
from service.storage.ports import HistoryPage, StoredEvent, UndecodableRecord

log = logging.getLogger(__name__)
T = TypeVar("T")
Read = Literal["record", "records", "history", "listing", "figures"]
READS: tuple[Read, ...] = ("record", "records", "history", "listing", "figures")
for _read in READS:  # every series exists from the start, at 0: a rate needs a baseline
    for _outcome in ("ok", "unavailable"):
        archive_reads.labels(_read, _outcome)
if TYPE_CHECKING:  # the stubs' generic is no runtime subscript
    Connection = asyncpg.pool.PoolConnectionProxy[asyncpg.Record]  # what the pool lends
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
LISTING_COLUMNS = ("shop_id", "buyer_id", "order_id")  # each leads an index with created_at

# The database cannot answer now; nothing about the data follows from it.
READ_TIMEOUT_S = 5.0  # a read (connect, wait for a pooled connection, query) that takes longer
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, no such socket file
    TimeoutError,  # the connect timeout or the command timeout
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)
# A pooled connection the server has dropped (a restart): worth one more try on a new one.
# A drop the client has not noticed yet leaves the connection mid-way through reading the
# server's farewell, and the next query fails as a client protocol error.
STALE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class ArchiveUnavailable(Exception):
    """The archive database cannot be reached now (the cause is chained); retry later."""


class ArchiveDisabled(Exception):
    """The service runs without an archive, and ``field`` asks for something only the
    archive has."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} needs the archive, and this service runs without one")
        self.field = field


def ms_of(at: datetime) -> int:
    """A ``timestamptz`` as UTC milliseconds (the records' unit)."""
    return (at - EPOCH) // ONE_MS


def at_ms(ms: int) -> datetime:
    """UTC milliseconds as an aware datetime, exactly (no float on the way)."""
    return EPOCH + ms * ONE_MS


class Listed(NamedTuple):
    """An archived request's listing position and what a listing filters on."""

    created_ms: int
    request_id: str
    state: State | None  # None: a state this release does not know (its record decides)
    shop_id: str
    buyer_id: str

    @property
    def entry(self) -> Entry:
        return self.created_ms, self.request_id


class ArchiveReads:
    """The archive's read side over an ``asyncpg`` pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def run(self, read: Read, query: Callable[[Connection], Awaitable[T]]) -> T:
        """``query`` on a pooled connection; ``ArchiveUnavailable`` when the database cannot
        answer (after one retry on a fresh connection if the pooled one had been dropped).
        Counted by ``read`` in ``aftersale_archive_reads_total``."""
        for attempt in (1, 2):
            try:
                # Bounded well within a call's time: the pool's command timeout is the
                # archiver's (long statements), a read that hangs answers UNAVAILABLE.
                async with asyncio.timeout(READ_TIMEOUT_S), self.pool.acquire() as connection:
                    answer = await query(connection)
                archive_reads.labels(read, "ok").inc()
                return answer
            except STALE as error:
                if attempt == 2:
                    raise self._unavailable(read, error) from error
                log.info("archive connection dropped, retrying on a new one: %r", error)
            except UNREACHABLE as error:
                raise self._unavailable(read, error) from error
        raise AssertionError("unreachable: the second attempt returns or raises")

    @staticmethod
    def _unavailable(read: Read, error: BaseException) -> ArchiveUnavailable:
        archive_reads.labels(read, "unavailable").inc()
        return ArchiveUnavailable(f"archive unreachable: {error!r}")

    # -- records -------------------------------------------------------------------------

    async def load(self, request_id: str) -> AfterSale | None:
        """The archived record, or None; ``UndecodableRecord`` if it does not decode."""
        blob = await self.run(
            "record",
            lambda c: c.fetchval(
                "SELECT record::text FROM requests WHERE request_id = $1", request_id
            ),
        )
        return None if blob is None else _record(request_id, blob)

    async def load_many(self, request_ids: Sequence[str]) -> dict[str, AfterSale]:
        """The archived records of ``request_ids`` that exist and decode (one that does not
        is skipped, logged and counted, as a list page does with Redis's)."""
        if not request_ids:
            return {}
        rows = await self.run(
            "records",
            lambda c: c.fetch(
                "SELECT request_id, record::text FROM requests WHERE request_id = ANY($1::text[])",
                list(request_ids),
            ),
        )
        records: dict[str, AfterSale] = {}
        for request_id, blob in rows:
            try:
                records[request_id] = _record(request_id, blob)
            except UndecodableRecord:
                continue
        return records

    # -- history -------------------------------------------------------------------------

    async def history_page(self, request_id: str, offset: int, limit: int) -> HistoryPage:
        """The page Redis would answer: ``limit`` events from the ``offset``-th (version
        ``offset + 1``), oldest first; an undecodable row is skipped (logged and counted)
        and the next page still starts right after it."""
        rows = await self.run(
            "history",
            lambda c: c.fetch(
                "SELECT version, event::text FROM events WHERE request_id = $1 AND version > $2"
                " ORDER BY version LIMIT $3",
                request_id,
                offset,
                limit + 1,  # one more: is there a next page?
            ),
        )
        events = []
        for version, row in rows[:limit]:
            try:
                events.append(history_event(row))
            except UndecodableEntry as error:
                where = f"archive:events:{request_id}"
                undecodable("history", where, f"{request_id}@{version}", error)
        return HistoryPage(events, offset + limit if len(rows) > limit else None)

    # -- listings ------------------------------------------------------------------------

    async def listing(
        self,
        column: str,
        value: str,
        after: Entry | None,
        limit: int,
        lowest: int | None = None,
    ) -> list[Listed]:
        """Up to ``limit`` archived requests whose ``column`` is ``value`` (an id column; ""
        for every request), created at ``lowest`` ms or later when given, newest first,
        strictly after ``after``: the order of the Redis listings, by the same one id
        (``repository.listed_by``), so a listing examines the same positions wherever its
        requests are."""
        clauses: list[str] = []
        args: list[Any] = []

        def arg(item: Any) -> str:
            args.append(item)
            return f"${len(args)}"

        if column:
            if column not in LISTING_COLUMNS:
                raise ValueError(f"not a listing column: {column!r}")
            clauses.append(f"{column} = {arg(value)}")
        if lowest is not None:
            clauses.append(f"created_at >= {arg(at_ms(lowest))}")
        if after is not None:
            # Written so that an index on (…, created_at, request_id) bounds the scan.
            at, request_id = arg(at_ms(after[0])), arg(after[1])
            before = f'request_id COLLATE "C" < {request_id}'
            clauses.append(f"created_at <= {at} AND (created_at < {at} OR {before})")
        sql = (
            "SELECT created_at, request_id, state, shop_id, buyer_id FROM requests"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + f' ORDER BY created_at DESC, request_id COLLATE "C" DESC LIMIT {arg(limit)}'
        )
        rows = await self.run("listing", lambda c: c.fetch(sql, *args))
        return [
            Listed(ms_of(created_at), request_id, State.__members__.get(state), shop, buyer)
            for created_at, request_id, state, shop, buyer in rows
        ]


def history_event(row: str) -> StoredEvent:
    """An archived history row as the event Redis's row decodes to. The proto JSON form is
    decoded by its keys (whatever their order); the previous release's flat form by the
    same reader as in Redis, whose test is its ``event_id`` key."""
    try:
        fields = json.loads(row)
    except ValueError as error:
        raise UndecodableEntry(f"not JSON: {error}"[:200]) from None
    if not isinstance(fields, dict) or "eventId" not in fields:
        return stored_event(row)
    try:
        event_id, event = decode_event(row)
    except Exception as error:  # msgspec's errors, a bad enum name: this row's
        raise UndecodableEntry(f"{type(error).__name__}: {error}"[:200]) from None
    if not event_id:
        raise UndecodableEntry("a history row without an eventId")
    check_event(event)
    return StoredEvent(event_id, event)


def _record(request_id: str, blob: str) -> AfterSale:
    """The record of an archived blob, read as Redis's is (``UndecodableRecord`` with whose
    it is, when that much can be read), logged and counted when it does not decode."""
    try:
        return record_from_fields(request_id, {RECORD_FIELD: blob})
    except UndecodableRecord as error:
        undecodable("record", f"archive:requests:{request_id}", request_id, error.why)
        raise
