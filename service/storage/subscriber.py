"""A consumer-group subscriber for other services (DESIGN §5): the transition streams, read
with XREADGROUP, acknowledged after the handler succeeds, stale entries of dead consumers
claimed with XAUTOCLAIM, redeliveries deduplicated by (request id, version).

    subscriber = TransitionSubscriber(client, "notifications", "notifications-1", handle, keys=keys)
    task = asyncio.create_task(subscriber.run())
    ...
    subscriber.stop(); await task

Delivery is at least once. Within one shard a consumer handles its entries in stream order
and stops at the first failure (the rest stay pending and are retried, in order, after
``retry_delay_s``), so a single consumer per shard sees each request's events in order. Give
each consumer its own ``shards`` to scale out without losing that order; consumers sharing
shards split the entries between them (faster, but two events of one request may then be
handled concurrently by two consumers).

Dedupe: after a success the entry is acknowledged and ``{as:NN}:seen:<group>:<id>:<version>``
is set (with ``dedupe_ttl_s``) in one script; an entry whose mark exists (a redelivery, e.g.
after a group was reset, or a copy claimed from a consumer that was only slow) is acked
without calling the handler. A small in-process LRU saves the lookup for recent events.
A handler must still be idempotent for the rare race of two consumers on one entry.

An entry whose stream data was trimmed away while pending is acknowledged and logged; one that
does not decode is acknowledged, logged with its id and counted
(``service.observability.undecodable``), so it never stalls the entries after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ResponseError

from aftersale.events import TransitionEvent
from service.observability.undecodable import undecodable
from service.storage.decoding import UndecodableEntry, event_from_fields
from service.storage.keys import Keys
from service.storage.scripts import Scripts
from service.storage.stream import block_below_timeout, stream_id_order, xread_entries

log = logging.getLogger(__name__)

Handler = Callable[[TransitionEvent, str], Awaitable[None]]  # (event, stream entry id)
Entry = tuple[str, dict[str, str]]


class TransitionSubscriber:
    """One consumer of a consumer group over the shard streams."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        keys: Keys,
        shards: Collection[int] | None = None,
        start_id: str = "0",
        count: int = 100,
        block_ms: int = 2_000,
        poll_interval_s: float = 0.1,
        min_idle_ms: int = 60_000,
        claim_interval_s: float = 10.0,
        retry_delay_s: float = 1.0,
        dedupe_ttl_s: int = 7 * 86_400,
        lru_size: int = 10_000,
    ) -> None:
        self.client = client
        self.group = group
        self.consumer = consumer
        self.handler = handler
        self.keys = keys
        self.shards = sorted(shards) if shards is not None else list(self.keys.all_shards())
        self.start_id = start_id  # where a new group starts: "0" everything, "$" only new
        self.count = count
        self.block_ms = block_below_timeout(client, block_ms)
        self.poll_interval_s = poll_interval_s
        self.min_idle_ms = min_idle_ms
        self.claim_interval_s = claim_interval_s
        self.retry_delay_s = retry_delay_s
        self.dedupe_ttl_s = dedupe_ttl_s
        self._lru: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._lru_size = lru_size
        self._scripts = Scripts(client)
        self._stream_shard = {self.keys.events(s): s for s in self.shards}
        self._claim_cursor = dict.fromkeys(self.shards, "0-0")
        self._stopping = asyncio.Event()
        self._backlog = True  # our own pending entries may need (re)processing
        self.handled = 0
        self.skipped = 0

    # -- lifecycle -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run`` to return after the current read (at most ``block_ms``)."""
        self._stopping.set()

    async def ensure_groups(self) -> None:
        """Create the group on every shard stream (and the stream itself) if missing."""
        for key in self._stream_shard:
            try:
                await self.client.xgroup_create(key, self.group, id=self.start_id, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def run(self) -> None:
        """Consume until ``stop()`` (or cancellation)."""
        await self.ensure_groups()
        loop = asyncio.get_running_loop()
        next_claim = loop.time() + self.claim_interval_s
        while not self._stopping.is_set():
            if loop.time() >= next_claim:
                await self.claim_stale()
                next_claim = loop.time() + self.claim_interval_s
            failed = await self.run_once(block=True)
            if failed:
                await self._pause(self.retry_delay_s)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # -- one round -------------------------------------------------------------------------

    async def run_once(self, *, block: bool = False) -> int:
        """Handle our pending entries if any, else read new ones (blocking up to ``block_ms``
        when ``block``). Returns the number of entries that failed."""
        if self._backlog:
            batches = await self._read("0", block=False)
            if not any(entries for entries in batches.values()):
                self._backlog = False
                batches = await self._read(">", block=block)
        else:
            batches = await self._read(">", block=block)
        failed = 0
        for shard, entries in batches.items():
            failed += await self._handle_shard(shard, entries)
        if failed or any(len(e) >= self.count for e in batches.values()):
            self._backlog = True
        return failed

    async def claim_stale(self) -> int:
        """Take over entries idle longer than ``min_idle_ms`` (their consumer died or hangs);
        they join our pending entries and are handled next round. Returns how many."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.shards:
            pipe.xautoclaim(
                self.keys.events(shard),
                self.group,
                self.consumer,
                self.min_idle_ms,
                start_id=self._claim_cursor[shard],
                count=self.count,
                justid=True,
            )
        replies: list[Any] = await pipe.execute()
        claimed = 0
        for shard, reply in zip(self.shards, replies, strict=True):
            # JUSTID: [next start, [ids]] (redis-py may hand back just the ids)
            next_start, ids = (reply[0], reply[1]) if _has_cursor(reply) else ("0-0", reply)
            self._claim_cursor[shard] = str(next_start)
            claimed += len(ids)
        if claimed:
            self._backlog = True
            log.info("%s/%s claimed %d stale entries", self.group, self.consumer, claimed)
        return claimed

    async def _read(self, from_id: str, *, block: bool) -> dict[int, list[Entry]]:
        if isinstance(self.client, Redis):
            streams: dict[Any, Any] = dict.fromkeys(self._stream_shard, from_id)
            reply = await self.client.xreadgroup(
                self.group,
                self.consumer,
                streams,
                count=self.count,
                block=self.block_ms if block else None,
            )
            return self._by_shard([reply])
        client = self.client
        pipe = client.pipeline(transaction=False)
        for key in self._stream_shard:
            pipe.execute_command(
                "XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", self.count,
                "STREAMS", key, from_id, target_nodes=client.get_node_from_key(key),
            )  # fmt: skip
        found = self._by_shard(await pipe.execute())
        if block and not any(found.values()):
            await self._pause(self.poll_interval_s)
        return found

    def _by_shard(self, replies: list[Any]) -> dict[int, list[Entry]]:
        out: dict[int, list[Entry]] = {}
        for reply in replies:
            for key, entries in xread_entries(reply):
                out.setdefault(self._stream_shard[key], []).extend(entries)
        for entries in out.values():
            entries.sort(key=lambda entry: stream_id_order(entry[0]))
        return out

    async def _handle_shard(self, shard: int, entries: list[Entry]) -> int:
        """Handle ``entries`` in order; stop at the first failure. Returns 1 on a failure."""
        stream = self.keys.events(shard)
        events = [(i, self._decoded(stream, i, f)) for i, f in entries]
        marks = [
            self.keys.seen(shard, self.group, e.request_id, e.version) if e else ""
            for _, e in events
        ]
        pipe = self.client.pipeline(transaction=False)
        for mark in marks:
            if mark:
                pipe.exists(mark)
        found = iter(await pipe.execute() if any(marks) else [])
        for (entry_id, event), mark in zip(events, marks, strict=True):
            if event is None:  # trimmed, or undecodable (reported): nothing to deliver
                await self.client.xack(stream, self.group, entry_id)
                continue
            ident = (event.request_id, event.version)
            if next(found) or ident in self._lru:
                await self.client.xack(stream, self.group, entry_id)
                self.skipped += 1
                continue
            try:
                await self.handler(event, entry_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s/%s: handler failed on %s %s v%d; will retry",
                              self.group, self.consumer, entry_id, event.request_id,
                              event.version)  # fmt: skip
                return 1
            await self._scripts.ack_seen(
                keys=[stream, mark], args=[self.group, entry_id, self.dedupe_ttl_s]
            )
            self._remember(ident)
            self.handled += 1
        return 0

    def _decoded(
        self, stream: str, entry_id: str, fields: dict[str, str]
    ) -> TransitionEvent | None:
        """The entry's event; None, reported, when there is none to deliver. An undecodable
        entry is acked rather than retried: it would come back, fail again, and stall every
        entry after it in the shard (it stays in the stream for whoever repairs it)."""
        if not fields:
            log.warning("%s: entry %s of %s was trimmed before it was handled",
                        self.group, entry_id, stream)  # fmt: skip
            return None
        try:
            return event_from_fields(fields)
        except UndecodableEntry as error:
            undecodable("subscriber", stream, entry_id, error)
            return None

    def _remember(self, ident: tuple[str, int]) -> None:
        self._lru[ident] = None
        if len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)


def _has_cursor(reply: Any) -> bool:
    return (
        isinstance(reply, list | tuple)
        and len(reply) >= 2
        and isinstance(reply[0], str)
        and isinstance(reply[1], list)
    )
