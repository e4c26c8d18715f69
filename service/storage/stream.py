"""Reading the transition streams (DESIGN §5, SPEC §7): all shards, from a resumable cursor.

Each shard has one stream ``{as:NN}:events``, written by the commit script (the outbox: no
dual write). A cursor is the last id read per shard (``cursor.StreamCursor``). Every
yielded event carries the cursor *after* it: resuming from it delivers exactly the events not
yet yielded — no gap, no duplicate — because ids grow within a shard and each shard's entries
are yielded in order. Filtered-out events advance the cursor too (``reader.cursor``).

Retention: each shard stream is trimmed to about ``stream_maxlen`` entries (``MAXLEN ~``,
default 100,000 per shard), so a cursor resumes without loss while it is within the newest
~``stream_maxlen`` events of every shard; older entries are gone (the history lists of the
requests keep every event for good).

An entry that does not decode (``decoding``) is skipped, logged and counted; the cursor moves
past it like past a filtered-out one.

Standalone client: one blocking XREAD over all shard streams on a dedicated connection, BLOCK
kept below the socket timeout. Cluster client: a multi-key XREAD must stay in one slot, so
each round reads every shard without blocking in one pipeline (fanned out per node) and
sleeps ``poll_interval_s`` when nothing was new.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
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

NOW = "$now"  # cursor option: only events committed from now on
START = ""  # cursor: from the oldest retained event


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

    async def resolve(self, cursor: str | StreamCursor) -> StreamCursor:
        """A concrete cursor: ``START`` (""), ``NOW`` ("$now": the newest id per shard), a
        token or a position."""
        if isinstance(cursor, StreamCursor):
            if cursor.shards != self.keys.shards:
                raise InvalidInput("cursor", NOT_ISSUED, NOT_ISSUED_ZH, "TOKEN_NOT_ISSUED")
            return cursor
        if cursor == START:
            return StreamCursor.start(self.keys.shards)
        if cursor != NOW:
            return StreamCursor.decode(cursor, self.keys.shards)
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.xrevrange(self.keys.events(shard), "+", "-", count=1)
        newest: list[list[tuple[str, Any]]] = await pipe.execute()
        return StreamCursor(self.keys.shards, tuple(r[0][0] if r else ZERO for r in newest))

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

    def _ordered(
        self, shard_of: dict[str, int], reply: Any
    ) -> list[tuple[int, str, dict[str, str]]]:
        batch = [
            (shard_of[key], event_id, fields)
            for key, entries in xread_entries(reply)
            for event_id, fields in entries
        ]
        batch.sort(key=lambda item: stream_id_order(item[1]))
        return batch

    async def _standalone(
        self, shard_of: dict[str, int], follow: bool
    ) -> AsyncGenerator[list[tuple[int, str, dict[str, str]]]]:
        assert isinstance(self.client, Redis)
        connection = self.client.client()  # dedicated: a blocked XREAD holds it
        try:
            while True:
                streams: dict[Any, Any] = {k: self.cursor.last[s] for k, s in shard_of.items()}
                block = self.block_ms if follow else None
                reply = await self._read_cancellably(connection, streams, block)
                batch = self._ordered(shard_of, reply)
                if batch:
                    yield batch
                elif not follow:
                    return
        finally:
            await connection.aclose()

    async def _read_cancellably(
        self, connection: Redis, streams: dict[Any, Any], block: int | None
    ) -> Any:
        """XREAD in a task of its own, so cancelling the reader always works.

        Cancelling a redis-py read directly can be lost: when the cancel races the read's own
        ``asyncio.timeout``, the timeout takes it as its own expiry, the retry policy re-sends
        the command, and the reader blocks on forever (seen in the stream tests). Here the
        caller's cancel lands on ``asyncio.wait``, which never swallows it; the read task is
        then cancelled too and given at most one BLOCK period to end before we go on.
        """
        read = asyncio.ensure_future(connection.xread(streams, count=self.count, block=block))
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
        assert isinstance(self.client, RedisCluster)
        client = self.client
        while True:
            pipe = client.pipeline(transaction=False)
            for key, shard in shard_of.items():
                node = client.get_node_from_key(key)
                pipe.execute_command(
                    "XREAD", "COUNT", self.count, "STREAMS", key, self.cursor.last[shard],
                    target_nodes=node,
                )  # fmt: skip
            replies = await pipe.execute()
            batch = [item for reply in replies for item in self._ordered(shard_of, reply)]
            batch.sort(key=lambda item: stream_id_order(item[1]))
            if batch:
                yield batch
            elif not follow:
                return
            else:
                await asyncio.sleep(self.poll_interval_s)


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned read's outcome so it is never reported as unhandled."""
    if not task.cancelled():
        task.exception()


__all__ = [
    "NOW",
    "START",
    "StreamCursor",
    "Transition",
    "TransitionFilter",
    "TransitionReader",
    "parse_stream_id",
    "stream_id_order",
]
