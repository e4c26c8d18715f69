"""Reading the transition streams (DESIGN §5, SPEC §7): all shards, from a resumable cursor.

Each shard has one stream ``{as:NN}:events``, written by the commit script (the outbox: no
dual write). A cursor is the last id read per shard (``cursor.StreamCursor``). Every
yielded event carries the cursor *after* it: resuming from it delivers exactly the events not
yet yielded — no gap, no duplicate — because ids grow within a shard and each shard's entries
are yielded in order. Filtered-out events advance the cursor too (``reader.cursor``).

Retention (``retention``): a periodic trim keeps what is younger than the soft retention or
not yet acknowledged by some consumer group, up to a hard cap per shard, and records in each
shard the id of the last entry it deleted (the watermark). A cursor whose position in a shard
is below that shard's watermark has a gap: reading from it raises ``CursorTrimmed``, which
carries the oldest cursor without one (the cursor with each such position raised to the
watermark) — never a silent skip. Each read returns a shard's entries and its watermark
together (one script, ``READ``), so a reader that falls behind the trimmer while it follows
ends the same way. ``START`` is the watermark in each shard (the oldest retained entry is next)
and ``NOW`` the newest id or the watermark, whichever is later, so a cursor this service
issues is never below the watermark of its time; the first read from ``START`` never fails.
A shard never trimmed has no watermark: no position in it has a gap.

An entry that does not decode (``decoding``) is skipped, logged and counted; the cursor moves
past it like past a filtered-out one.

Standalone client: one ``READ`` over all shard streams on a dedicated connection; when it
found nothing, one blocking XREAD (BLOCK kept below the socket timeout) waits for news, and
``READ`` reads them. Cluster client: a script must stay in one slot, so each round runs
``READ`` per shard in one pipeline (fanned out per node) and sleeps ``poll_interval_s`` when
nothing was new.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, NamedTuple

from redis.asyncio import Redis, RedisCluster

from aftersale.events import TransitionEvent
from aftersale.exceptions import InvalidInput
from service.observability.undecodable import undecodable
from service.storage.cursor import (
    NOT_ISSUED,
    NOT_ISSUED_ZH,
    ZERO,
    StreamCursor,
    parse_stream_id,
    stream_id_order,
)
from service.storage.decoding import UndecodableEntry, event_from_fields
from service.storage.keys import Keys
from service.storage.scripts import Scripts

NOW = "$now"  # cursor option: only events committed from now on
START = ""  # cursor: from the oldest retained event

# READ — the entries after a position and the watermark of each shard, in one atomic step.
# KEYS (stream, watermark) per shard   ARGV 1 count, then the position of each shard
# Returns per shard {watermark ("" if never trimmed), {{id, {field, value, ...}}, ...}}
READ = """
local out = {}
for i = 1, #KEYS, 2 do
  local mark = redis.call('GET', KEYS[i + 1]) or ''
  local entries = redis.call('XRANGE', KEYS[i], '(' .. ARGV[(i + 1) / 2 + 1], '+',
                             'COUNT', ARGV[1])
  out[#out + 1] = {mark, entries}
end
return out
"""


class CursorTrimmed(Exception):
    """Events after a cursor's position were trimmed before they were read: resuming would
    skip them. ``oldest`` is the oldest cursor without a gap (each ``shards`` position raised
    to its watermark)."""

    def __init__(self, oldest: StreamCursor, shards: tuple[int, ...]) -> None:
        super().__init__(f"events after the cursor were trimmed in shards {list(shards)}")
        self.oldest = oldest
        self.shards = shards


@dataclass(frozen=True, slots=True)
class TransitionFilter:
    """Client-side filters; empty means any."""

    shop_id: str = ""
    order_id: str = ""
    states: frozenset[str] = frozenset()  # to_state
    actions: frozenset[str] = frozenset()

    def matches(self, event: TransitionEvent) -> bool:
        return (
            (not self.shop_id or event.shop_id == self.shop_id)
            and (not self.order_id or event.order_id == self.order_id)
            and (not self.states or event.to_state in self.states)
            and (not self.actions or event.action in self.actions)
        )


class Transition(NamedTuple):
    event: TransitionEvent
    event_id: str
    position: StreamCursor  # resume here to continue right after this event

    @property
    def cursor(self) -> str:
        """``position`` as a token (storage's own form)."""
        return self.position.encode()


def xread_entries(reply: Any) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """XREAD/XREADGROUP replies (RESP2 list or RESP3 dict) as [(stream, entries)]."""
    if not reply:
        return []
    pairs = reply.items() if isinstance(reply, dict) else ((r[0], r[1]) for r in reply)
    out = []
    for key, value in pairs:
        entries = value[0] if value and isinstance(value[0], list) else value  # RESP3 wraps
        out.append((str(key), [(i, f) for i, f in entries if i is not None]))
    return out


def block_below_timeout(client: Redis | RedisCluster, block_ms: int) -> int:
    """``block_ms`` capped to half a second under the client's socket timeout."""
    timeout: float | None = None
    if isinstance(client, Redis):
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    if timeout:
        return max(10, min(block_ms, int(timeout * 1000) - 500))
    return block_ms


class TransitionReader:
    """Reads the transition events of all (or the needed) shards from a cursor."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        *,
        block_ms: int = 2_000,
        count: int = 100,
        poll_interval_s: float = 0.1,
    ) -> None:
        self.client = client
        self.keys = keys
        self.block_ms = block_below_timeout(client, block_ms)
        self.count = count
        self.poll_interval_s = poll_interval_s
        self.cursor: StreamCursor = StreamCursor.start(keys.shards)
        self._read_script = client.register_script(READ)
        self._scripts = Scripts(client) if isinstance(client, RedisCluster) else None
        self._gaps_forgiven = False  # the first read from START: a trim since is no gap

    async def resolve(self, cursor: str | StreamCursor) -> StreamCursor:
        """A concrete cursor: ``START`` (""), ``NOW`` ("$now": the newest id per shard), a
        token or a position."""
        if isinstance(cursor, StreamCursor):
            if cursor.shards != self.keys.shards:
                raise InvalidInput("cursor", NOT_ISSUED, NOT_ISSUED_ZH, "TOKEN_NOT_ISSUED")
            return cursor
        if cursor not in (START, NOW):
            return StreamCursor.decode(cursor, self.keys.shards)
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.get(self.keys.trimmed(shard))
            if cursor == NOW:
                pipe.xrevrange(self.keys.events(shard), "+", "-", count=1)
        replies: list[Any] = await pipe.execute()
        if cursor == START:
            return StreamCursor(self.keys.shards, tuple(mark or ZERO for mark in replies))
        later = [
            max(mark or ZERO, newest[0][0] if newest else ZERO, key=stream_id_order)
            for mark, newest in zip(replies[0::2], replies[1::2], strict=True)
        ]
        return StreamCursor(self.keys.shards, tuple(later))

    async def read(
        self,
        cursor: str | StreamCursor = START,
        where: TransitionFilter | None = None,
        *,
        follow: bool = True,
    ) -> AsyncGenerator[Transition]:
        """Events after ``cursor`` that pass ``where``, in order per shard (and by stream time
        across the shards of one read). ``follow``: wait for new events forever (until the
        consumer stops iterating or is cancelled); otherwise stop once caught up.

        Wrap it in ``contextlib.aclosing`` when you may stop early, so the dedicated
        connection is freed at once rather than when the generator is collected."""
        where = where or TransitionFilter()
        self._gaps_forgiven = cursor == START
        self.cursor = await self.resolve(cursor)
        shards = (
            [self.keys.shard_of_order(where.order_id)]
            if where.order_id
            else list(self.keys.all_shards())
        )
        shard_of = {self.keys.events(s): s for s in shards}
        if isinstance(self.client, Redis):
            reading = self._standalone(shard_of, follow)
        else:
            reading = self._cluster(shard_of, follow)
        async with aclosing(reading) as batches:
            async for batch in batches:
                for shard, event_id, fields in batch:
                    self.cursor = self.cursor.advanced(shard, event_id)  # past it, in any case
                    try:
                        event = event_from_fields(fields)
                    except UndecodableEntry as error:  # one bad entry must not end the stream
                        undecodable("stream", self.keys.events(shard), event_id, error)
                        continue
                    if where.matches(event):
                        yield Transition(event, event_id, self.cursor)

    def _checked(
        self, shards: list[int], replies: list[Any]
    ) -> list[tuple[int, str, dict[str, str]]]:
        """``READ``'s replies for ``shards`` as one batch in stream-time order, after checking
        that nothing after the cursor was trimmed unread (``CursorTrimmed`` if it was)."""
        gaps: dict[int, str] = {}
        batch: list[tuple[int, str, dict[str, str]]] = []
        for shard, (mark, entries) in zip(shards, replies, strict=True):
            position = self.cursor.last[shard]
            if mark and stream_id_order(position) < stream_id_order(mark):
                gaps[shard] = str(mark)
            batch.extend((shard, str(i), _fields(f)) for i, f in entries)
        if gaps:
            oldest = self.cursor
            for shard, mark in gaps.items():
                oldest = oldest.advanced(shard, mark)
            if not self._gaps_forgiven:
                raise CursorTrimmed(oldest, tuple(sorted(gaps)))
            self.cursor = oldest  # from the oldest retained: what went meanwhile is no gap
        self._gaps_forgiven = False
        batch.sort(key=lambda item: stream_id_order(item[1]))
        return batch

    def _read_call(self, shards: list[int]) -> tuple[list[str], list[Any]]:
        keys = [k for s in shards for k in (self.keys.events(s), self.keys.trimmed(s))]
        return keys, [self.count, *(self.cursor.last[s] for s in shards)]

    async def _standalone(
        self, shard_of: dict[str, int], follow: bool
    ) -> AsyncGenerator[list[tuple[int, str, dict[str, str]]]]:
        assert isinstance(self.client, Redis)
        connection = self.client.client()  # dedicated: a blocked XREAD holds it
        shards = list(shard_of.values())
        try:
            while True:
                keys, args = self._read_call(shards)
                read = self._read_script(keys=keys, args=args, client=connection)
                batch = self._checked(shards, await self._cancellably(connection, read, None))
                if batch:
                    yield batch
                    continue
                if not follow:
                    return
                # Nothing new: wait for news, then READ them (checked) in the next round.
                streams: dict[Any, Any] = {k: self.cursor.last[s] for k, s in shard_of.items()}
                waiting = connection.xread(streams, count=1, block=self.block_ms)
                await self._cancellably(connection, waiting, self.block_ms)
        finally:
            # In a task of its own: a second cancel must not leave the client unclosed.
            closing = asyncio.ensure_future(connection.aclose())
            closing.add_done_callback(_consume)
            await asyncio.shield(closing)

    async def _cancellably(
        self, connection: Redis, command: Awaitable[Any], block: int | None
    ) -> Any:
        """A command in a task of its own, so cancelling the reader always works.

        Cancelling a redis-py read directly can be lost: when the cancel races the read's own
        ``asyncio.timeout``, the timeout takes it as its own expiry, the retry policy re-sends
        the command, and the reader blocks on forever (seen in the stream tests). Here the
        caller's cancel lands on ``asyncio.wait``, which never swallows it; the read task is
        then cancelled too and given at most one BLOCK period to end before we go on.
        """
        read = asyncio.ensure_future(command)
        try:
            await asyncio.wait({read})
        except asyncio.CancelledError:
            read.cancel()
            await asyncio.wait({read}, timeout=(block or 0) / 1000 + 1)
            if not read.done() and connection.connection is not None:
                # It lost the cancel: close its socket so it cannot linger.
                await connection.connection.disconnect(nowait=True)
            read.add_done_callback(_consume)
            raise
        return read.result()

    async def _cluster(
        self, shard_of: dict[str, int], follow: bool
    ) -> AsyncGenerator[list[tuple[int, str, dict[str, str]]]]:
        assert self._scripts is not None
        shards = list(shard_of.values())
        while True:
            calls = [self._read_call([shard]) for shard in shards]
            replies = await self._scripts.run_many(self._read_script, calls)
            batch = self._checked(shards, [reply[0] for reply in replies])
            if batch:
                yield batch
            elif not follow:
                return
            else:
                await asyncio.sleep(self.poll_interval_s)


def _fields(flat: list[Any]) -> dict[str, str]:
    """A script's ``[field, value, ...]`` as the dict XREAD would give."""
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned read's outcome so it is never reported as unhandled."""
    if not task.cancelled():
        task.exception()


__all__ = [
    "NOW",
    "START",
    "CursorTrimmed",
    "StreamCursor",
    "Transition",
    "TransitionFilter",
    "TransitionReader",
    "parse_stream_id",
    "stream_id_order",
]
