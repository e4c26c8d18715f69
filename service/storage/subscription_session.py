"""One consumer session of a durable subscription (one ``Subscribe`` stream, or an in-process
consumer): which shards it holds, what it delivered, and what it must deliver again.

    session = SubscriptionSession(subscriptions, subscription, "payment-1", reader=streams)
    async with aclosing(session.deliveries()) as deliveries:
        async for delivery in deliveries:
            await handle(delivery.event)
            await session.ack([delivery.ack_id])

Work is split by **leasing shards**: every live session of a subscription registers in
``{as}:sub:<name>:consumers`` (renewed every ``lease_s / 3``); sorted, the sessions share the
shards (shard ``s`` to the session at ``s % n``), and a session reads a shard only while it
holds its lease ``{as:NN}:sub:<name>:lease`` (``SET NX PX``, renewed, released on close). So
each shard, hence each request, has one consumer at a time, and a request's events go out in
stream (version) order. A session hands a shard over only once its deliveries of that shard
are acknowledged (or an ack deadline has passed): the next holder then starts after them.

On taking a shard, a session first claims that shard's pending entries (XCLAIM to itself:
its previous holder is gone), then reads new ones with XREADGROUP. At most ``max_in_flight``
deliveries are unacknowledged at once; nothing more is read until acks come (flow control:
the rest waits in Redis, nothing is dropped).

Every ``tick`` the session also claims the entries of its shards idle longer than the ack
deadline (XPENDING IDLE, then XCLAIM, which counts a delivery), its own or a vanished
session's, and delivers them again: "redelivered after the ack deadline" (within one tick
more). A nack claims the entry at once. An entry whose delivery count (XPENDING) passes the
subscription's ``max_deliveries`` becomes a dead letter (``DEAD_LETTER`` script) instead.

Entries the session may not deliver are acknowledged without delivery: those outside the
subscription's filters or what its consumers may see (``deliverable``), undecodable ones
(logged and counted like every reader), and pending ones whose data the stream trimmed away
(counted as lost for the subscription).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ResponseError

from aftersale.events import TransitionEvent
from aftersale.exceptions import InvalidInput, NotFound
from service.observability import subscriptions as report
from service.observability.undecodable import undecodable
from service.storage.cursor import parse_stream_id, stream_id_order
from service.storage.decoding import UndecodableEntry, event_from_fields
from service.storage.retention import Loss
from service.storage.stream import block_below_timeout, xread_entries
from service.storage.subscription_scripts import ORIGINAL_ID
from service.storage.subscriptions import OLDEST, Subscription, Subscriptions, event_fields

log = logging.getLogger("service.subscriptions")

EVENTS, RETRY = "e", "r"  # which stream of a shard an entry is in (retry: replayed letters)
Key = tuple[int, str, str]  # (shard, stream kind, entry id)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event delivered; acknowledge it with ``ack_id``."""

    ack_id: str
    event: TransitionEvent
    event_id: str  # the event's id in its shard stream (the same on every delivery)
    delivery: int  # 1 the first time


@dataclass(slots=True)
class _Entry:
    key: Key
    fields: dict[str, str] | None  # None: trimmed away while pending
    deliveries: int


class SubscriptionGone(NotFound):
    """The subscription was deleted while a session consumed it."""

    resource_type = "aftersale.v1.Subscription"
    info_reason = "SUBSCRIPTION_NOT_FOUND"
    key = "subscription"
    what_zh = "订阅"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = f"subscription {name!r} was deleted"


async def _close_dedicated(connection: Redis) -> None:
    """Close a dedicated connection, not handing it back: the streams' pool may already be
    closed when a stream cancelled at shutdown gets here, and a connection put back into a
    closed pool would never close."""
    if connection.connection is not None:
        await connection.connection.disconnect()
    await connection.aclose()


def ack_id_of(key: Key) -> str:
    shard, kind, entry_id = key
    return f"{shard}.{kind}.{entry_id}"


def parse_ack_id(raw: str, shards: int, field: str = "ack_ids") -> Key:
    """``"<shard>.<e|r>.<stream id>"`` → key; InvalidInput naming ``field`` if not."""
    parts = raw.split(".")
    try:
        shard, kind, entry_id = int(parts[0]), parts[1], parts[2]
        parse_stream_id(entry_id)
    except (ValueError, IndexError):
        raise InvalidInput(
            field, f"{raw[:80]!r} is not an ack id of this service", "不是本服务发出的确认编号"
        ) from None
    if len(parts) != 3 or kind not in (EVENTS, RETRY) or not 0 <= shard < shards:
        raise InvalidInput(
            field, f"{raw[:80]!r} is not an ack id of this service", "不是本服务发出的确认编号"
        )
    return shard, kind, entry_id


class SubscriptionSession:
    """One consumer of ``subscription`` (see the module docstring)."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        subscription: Subscription,
        consumer: str,
        *,
        reader: Redis | RedisCluster | None = None,
        max_in_flight: int = 0,
        deliverable: Callable[[TransitionEvent], bool] | None = None,
    ) -> None:
        self.registry = subscriptions
        self.client: Any = subscriptions.client  # acks, claims, leases: the shared pool
        self.reader = reader or subscriptions.client  # the blocking reads: its own connection
        self.keys = subscriptions.keys
        self.settings = subscriptions.settings
        self.subscription = subscription
        self.name = subscription.name
        self.consumer = consumer
        self.session = f"{consumer}.{secrets.token_hex(4)}"
        self.max_in_flight = max_in_flight or self.settings.max_in_flight
        self.max_deliveries = subscription.deliveries_allowed(self.settings)
        self._deliverable = deliverable or subscription.matches
        self.lease_ms = max(1, int(self.settings.lease_s * 1000))
        self.deadline_ms = max(1, int(self.settings.ack_deadline_s * 1000))
        self.tick_s = max(0.02, min(self.settings.lease_s / 3, self.settings.ack_deadline_s / 2))
        self.block_ms = block_below_timeout(self.reader, self.settings.block_ms)
        self.held: dict[int, float | None] = {}  # shard → when its hand-over began (None: not)
        self.in_flight: dict[Key, int] = {}  # delivered, unacknowledged → deliveries
        self.queue: OrderedDict[Key, _Entry] = OrderedDict()  # ours, to deliver before new
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closing = asyncio.Event()  # deliveries() is ending: the lease keeper stops
        self._connection: Redis | None = None
        self.delivered = 0

    # -- the consumer's side -------------------------------------------------------------

    def stop(self) -> None:
        """End ``deliveries`` after the current read (at most ``block_ms``)."""
        self._stopping.set()
        self._wake.set()

    async def ack(self, ack_ids: Sequence[str]) -> None:
        """Acknowledge deliveries (handled: never again). Unknown ids are acknowledged too:
        a delivery another session took over meanwhile was still handled."""
        keys = [parse_ack_id(raw, self.keys.shards) for raw in ack_ids]
        if not keys:
            return
        for key in keys:
            self.in_flight.pop(key, None)
        await self._acknowledge(keys)
        self._wake.set()

    async def _acknowledge(self, keys: Sequence[Key]) -> None:
        """XACK ``keys``: one command per stream however many ids (a consumer's batch is
        mostly one shard's), and XDEL those of a retry stream, which only this subscription
        reads, so done is gone."""
        by_stream: dict[str, list[str]] = {}
        for key in keys:
            by_stream.setdefault(self._stream(key), []).append(key[2])
        retries = {self._stream(key) for key in keys if key[1] == RETRY}
        pipe = self.client.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, self.name, *ids)
            if stream in retries:
                pipe.xdel(stream, *ids)
        await pipe.execute()

    async def nack(self, ack_ids: Sequence[str]) -> None:
        """Deliver these again now (a delivery more toward ``max_deliveries``)."""
        keys = [parse_ack_id(raw, self.keys.shards, "nack_ids") for raw in ack_ids]
        mine = [key for key in keys if key in self.in_flight]
        if mine:
            await self._claim(mine, min_idle_ms=0)
        self._wake.set()

    async def deliveries(self) -> AsyncGenerator[Delivery, None]:
        """Deliveries until ``stop()`` (or cancellation); SubscriptionGone if it is deleted."""
        loop = asyncio.get_running_loop()
        next_tick = 0.0
        keeper = asyncio.ensure_future(self._keep_leases())
        try:
            while not self._stopping.is_set():
                if loop.time() >= next_tick:
                    await self._maintain()
                    next_tick = loop.time() + self.tick_s
                room = self.max_in_flight - len(self.in_flight)
                if room <= 0:
                    await self._pause(next_tick - loop.time())
                    continue
                entries = self._from_queue(room)
                if not entries:
                    block = int(max(0.0, next_tick - loop.time()) * 1000)
                    try:
                        entries = await self._read_new(min(self.block_ms, max(block, 1)))
                    except ResponseError as error:
                        if "NOGROUP" not in str(error):
                            raise
                        await self._regroup()
                        continue
                for delivery in await self._process(entries):
                    yield delivery
        finally:
            # A flag, not only a cancel: redis-py may swallow a cancel that races its own
            # timeout (see _blocking_read), and the keeper must end all the same.
            self._closing.set()
            keeper.cancel()
            try:
                await asyncio.wait({keeper}, timeout=self.settings.lease_s)
            finally:  # a second cancel here must not skip closing the dedicated connection
                await self._leave()

    async def _keep_leases(self) -> None:
        """Renew our registration and leases even while the consumer is slow to take the
        next delivery (the loop above runs only when it does): a slow consumer keeps its
        shards rather than having them handed to another under its feet."""
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.settings.lease_s / 3)
            if self._closing.is_set():
                return
            try:
                now_ms = await self._now_ms()
                key = self.keys.sub_consumers(self.name)
                await self.client.zadd(key, {self.session: now_ms + self.lease_ms})
                await self._renew()
            except Exception as exc:  # the loop's own maintenance reports what persists
                log.debug("subscription=%s: lease renewal failed: %s", self.name, exc)

    async def _regroup(self) -> None:
        """A group vanished under a read: the subscription was deleted (SubscriptionGone), or
        its stream was lost (Redis without persistence restarted): then the group is made
        again at the oldest retained event — at least once, so rather again than never."""
        if await self.registry.find(self.name) is None:
            raise SubscriptionGone(self.name)
        log.warning("subscription=%s: its consumer group was missing; made again at the "
                    "oldest retained event", self.name)  # fmt: skip
        await self.registry.ensure_groups(self.name, OLDEST)

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.001, seconds))

    # -- shards: leases and hand-over ----------------------------------------------------

    async def _maintain(self) -> None:
        """Renew our registration and leases, move towards our fair share of the shards,
        claim what waited past the ack deadline."""
        now_ms = int(await self._now_ms())
        key = self.keys.sub_consumers(self.name)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {self.session: now_ms + self.lease_ms})
        pipe.zremrangebyscore(key, "-inf", now_ms)
        pipe.zrange(key, 0, -1)
        pipe.hget(self.keys.subscriptions(), self.name)
        replies = await pipe.execute()
        if replies[3] is None:
            raise SubscriptionGone(self.name)
        live: list[str] = sorted(replies[2])
        index = live.index(self.session) if self.session in live else 0
        target = {s for s in self.keys.all_shards() if s % max(1, len(live)) == index}
        await self._renew()
        loop_now = asyncio.get_running_loop().time()
        for shard, since in list(self.held.items()):
            if shard not in target and since is None:
                self.held[shard] = loop_now  # stop reading it; hand it over once acked
        await self._hand_over(loop_now)
        await self._take([s for s in sorted(target) if s not in self.held])
        await self._sweep()

    async def _now_ms(self) -> int:
        # Redis' clock, not ours: every replica's sessions compare their expiries on it.
        seconds, micros = await self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def _renew(self) -> None:
        if not self.held:
            return
        shards = list(self.held)
        calls = [([self._lease(shard)], [self.session, self.lease_ms]) for shard in shards]
        replies = await self.registry.scripts.run_many(self.registry.renew_script, calls)
        for shard, kept in zip(shards, replies, strict=True):
            if not kept:  # we stalled past the lease and another session has the shard
                log.warning("subscription=%s session=%s lost the lease of shard %d",
                            self.name, self.session, shard)  # fmt: skip
                self._forget(shard)

    async def _hand_over(self, loop_now: float) -> None:
        done = []
        for shard, since in self.held.items():
            if since is None:
                continue
            busy = any(k[0] == shard for k in self.in_flight)
            if not busy or loop_now - since > self.settings.ack_deadline_s:
                done.append(shard)
        for shard in done:
            await self.registry.release_script(keys=[self._lease(shard)], args=[self.session])
            self._forget(shard)

    def _forget(self, shard: int) -> None:
        self.held.pop(shard, None)
        for key in [k for k in self.queue if k[0] == shard]:
            del self.queue[key]  # still pending in Redis: the next holder claims them

    async def _take(self, shards: list[int]) -> None:
        if not shards:
            return
        pipe = self.client.pipeline(transaction=False)
        for shard in shards:
            pipe.set(self._lease(shard), self.session, nx=True, px=self.lease_ms)
        taken = [s for s, ok in zip(shards, await pipe.execute(), strict=True) if ok]
        for shard in taken:
            self.held[shard] = None
        if taken:
            await self._ensure_groups(taken)
            # The shard was free: whoever delivered its pending entries is gone. Claim them
            # all now (they come before anything new of the shard).
            await self._sweep(taken, min_idle_ms=0, batch=self.settings.takeover_batch)

    async def _ensure_groups(self, shards: list[int]) -> None:
        """The retry streams' groups (a deleted or lost retry stream gets its group again);
        the shard streams' groups exist from the subscription's creation."""
        pipe = self.client.pipeline(transaction=False)
        for shard in shards:
            pipe.xgroup_create(self._retry(shard), self.name, id="0", mkstream=True)
        for reply in await pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply

    async def _leave(self) -> None:
        """Release our shards and our registration; what we delivered and nobody acked
        stays pending, and whoever takes the shard next delivers it again. The dedicated
        connection is closed first: a second cancel (a server stopping) may cut this short,
        and the leases expire by themselves, the connection would not."""
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                # In a task of its own: a second cancel (a server stopping) must not cut the
                # close short, or the client object would be collected unclosed.
                closing = asyncio.ensure_future(_close_dedicated(connection))
                closing.add_done_callback(_consume)
                await asyncio.shield(closing)
            calls = [([self._lease(shard)], [self.session]) for shard in self.held]
            if calls:
                await self.registry.scripts.run_many(self.registry.release_script, calls)
            await self.client.zrem(self.keys.sub_consumers(self.name), self.session)
        except Exception as exc:  # the leases expire by themselves
            log.warning("subscription=%s session=%s: leases not released (%s)",
                        self.name, self.session, type(exc).__name__)  # fmt: skip
        finally:
            self.held.clear()

    # -- claims ----------------------------------------------------------------------------

    async def _sweep(
        self, shards: list[int] | None = None, *, min_idle_ms: int | None = None,
        batch: int = 100,
    ) -> None:  # fmt: skip
        """Claim the entries of our shards idle past ``min_idle_ms`` (default: the ack
        deadline), whoever had them, except those waiting in our queue."""
        idle = self.deadline_ms if min_idle_ms is None else min_idle_ms
        shards = (
            [s for s, since in self.held.items() if since is None] if shards is None else shards
        )
        if not shards:
            return
        streams = [(shard, kind) for shard in shards for kind in (RETRY, EVENTS)]
        pipe = self.client.pipeline(transaction=False)
        for shard, kind in streams:
            pipe.xpending_range(self._stream((shard, kind, "")), self.name, "-", "+", batch,
                                idle=idle or None)  # fmt: skip
        replies = await pipe.execute(raise_on_error=False)
        due: list[Key] = []
        counts: dict[Key, int] = {}
        for (shard, kind), rows in zip(streams, replies, strict=True):
            if isinstance(rows, Exception):
                log.warning("subscription=%s: XPENDING of shard %d failed: %s",
                            self.name, shard, rows)  # fmt: skip
                continue
            for row in rows:
                key = (shard, kind, str(row["message_id"]))
                if key not in self.queue:
                    due.append(key)
                    counts[key] = int(row["times_delivered"])
        if due:
            await self._claim(due, idle, counts)

    async def _claim(
        self, keys: list[Key], min_idle_ms: int, counts: dict[Key, int] | None = None
    ) -> None:
        """XCLAIM ``keys`` to us (a delivery each) and queue them; the ones whose data is gone
        are acknowledged and reported lost."""
        by_stream: dict[tuple[int, str], list[str]] = {}
        for shard, kind, entry_id in keys:
            by_stream.setdefault((shard, kind), []).append(entry_id)
        pipe = self.client.pipeline(transaction=False)
        order = list(by_stream.items())
        for (shard, kind), ids in order:
            pipe.xclaim(self._stream((shard, kind, "")), self.name, self.consumer, min_idle_ms,
                        ids)  # fmt: skip
        replies = await pipe.execute(raise_on_error=False)
        missing: list[Key] = []
        for ((shard, kind), ids), reply in zip(order, replies, strict=True):
            if isinstance(reply, Exception):
                log.warning("subscription=%s: XCLAIM failed: %s", self.name, reply)
                continue
            got = {str(entry_id): fields for entry_id, fields in reply if entry_id is not None}
            for entry_id in sorted(ids, key=stream_id_order):
                key = (shard, kind, entry_id)
                previous = (counts or {}).get(key, self.in_flight.get(key, 0))
                self.in_flight.pop(key, None)
                if entry_id in got:
                    self.queue[key] = _Entry(key, got[entry_id] or None, previous + 1)
                else:
                    missing.append(key)  # acked or claimed meanwhile, or trimmed away
        if missing:
            await self._check_trimmed(missing)

    async def _check_trimmed(self, keys: list[Key]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.xrange(self._stream(key), key[2], key[2])
        gone = [k for k, rows in zip(keys, await pipe.execute(), strict=True) if not rows]
        for key in gone:
            self.queue[key] = _Entry(key, None, 0)  # acked and reported by _process

    # -- reads -----------------------------------------------------------------------------

    def _from_queue(self, room: int) -> list[_Entry]:
        taken: list[_Entry] = []
        while self.queue and len(taken) < room:
            _, entry = self.queue.popitem(last=False)
            if self.held.get(entry.key[0], 0.0) is None:  # only shards we still read
                taken.append(entry)
        return taken

    async def _read_new(self, block_ms: int) -> list[_Entry]:
        shards = sorted(s for s, since in self.held.items() if since is None)
        if not shards:
            await self._pause(block_ms / 1000)
            return []
        room = self.max_in_flight - len(self.in_flight)
        streams = {
            self._stream((s, kind, "")): (s, kind) for s in shards for kind in (RETRY, EVENTS)
        }
        count = max(1, room // len(streams))
        if isinstance(self.reader, Redis):
            if self._connection is None:
                self._connection = self.reader.client()  # dedicated: a blocked read holds it
            reply = await self._blocking_read(self._connection, streams, count, block_ms)
            replies = [reply]
        else:
            replies = await self._read_cluster(list(streams), count)
            if not any(replies):
                await self._pause(block_ms / 1000)
        found: list[_Entry] = []
        for reply in replies:
            for key, entries in xread_entries(reply):
                shard, kind = streams[key]
                found.extend(_Entry((shard, kind, i), f, 1) for i, f in entries)
        # Retry entries first (they waited longest), then each shard in stream order.
        found.sort(key=lambda e: (e.key[1] != RETRY, e.key[0], stream_id_order(e.key[2])))
        for entry in found[room:]:
            self.queue[entry.key] = entry  # read beyond the room: ours, delivered next
        return found[:room]

    async def _blocking_read(
        self, connection: Redis, streams: dict[str, Any], count: int, block_ms: int
    ) -> Any:
        """XREADGROUP in a task of its own, so that cancelling the session always works (the
        race ``TransitionReader._read_cancellably`` describes: a cancel lost in redis-py's
        retry would leave the read blocked on): on a cancel the read is cancelled too, given
        one BLOCK period, and its socket closed if it is still going."""
        read = asyncio.ensure_future(
            connection.xreadgroup(
                self.name, self.consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
            )
        )
        try:
            await asyncio.wait({read})
        except asyncio.CancelledError:
            read.cancel()
            await asyncio.wait({read}, timeout=block_ms / 1000 + 1)
            if not read.done() and connection.connection is not None:
                await connection.connection.disconnect(nowait=True)
            read.add_done_callback(_consume)
            raise
        return read.result()

    async def _read_cluster(self, streams: list[str], count: int) -> list[Any]:
        client = self.reader
        assert isinstance(client, RedisCluster)
        pipe = client.pipeline(transaction=False)
        for key in streams:
            pipe.execute_command(
                "XREADGROUP", "GROUP", self.name, self.consumer, "COUNT", count,
                "STREAMS", key, ">", target_nodes=client.get_node_from_key(key),
            )  # fmt: skip
        replies: list[Any] = await pipe.execute()
        return replies

    async def _process(self, entries: list[_Entry]) -> list[Delivery]:
        """Deliveries of ``entries``; the others acknowledged (or set aside) and reported."""
        out: list[Delivery] = []
        skipped: list[Key] = []
        dead: list[tuple[_Entry, TransitionEvent]] = []
        trimmed: list[Key] = []
        for entry in entries:
            key = entry.key
            if not entry.fields:
                trimmed.append(key)
                continue
            try:
                event = event_from_fields(event_fields(entry.fields))
            except UndecodableEntry as error:
                undecodable("subscriber", self._stream(key), key[2], error)
                skipped.append(key)
                continue
            if not self._deliverable(event):
                skipped.append(key)
                continue
            if entry.deliveries > self.max_deliveries:
                dead.append((entry, event))
                continue
            self.in_flight[key] = entry.deliveries
            event_id = entry.fields.get(ORIGINAL_ID, key[2])
            out.append(Delivery(ack_id_of(key), event, event_id, entry.deliveries))
        if skipped or trimmed:
            await self._acknowledge(skipped + trimmed)
        if trimmed:
            # Only the trim removes entries, and it counted each one a group had not
            # acknowledged as lost (``why="hard_cap"``, service.trimming): not again here.
            log.warning(
                "subscription %s: %d pending entries were trimmed before their ack (%s); "
                "acknowledged, and counted lost by the trim",
                self.name, len(trimmed), ", ".join(ack_id_of(k) for k in trimmed[:5]),
            )  # fmt: skip
        for entry, event in dead:
            await self._dead_letter(entry, event)
        self.delivered += len(out)
        return out

    async def _dead_letter(self, entry: _Entry, event: TransitionEvent) -> None:
        shard, kind, entry_id = entry.key
        keys = [self._stream(entry.key), self.keys.sub_dead(shard, self.name)]
        cap, had = self.settings.dead_letter_maxlen, entry.deliveries - 1
        drop_source = "1" if kind == RETRY else "0"
        args: list[str | int] = [self.name, entry_id, cap, had, await self._now_ms(), drop_source]
        dead_id, dropped = await self.registry.dead_letter_script(keys=keys, args=args)
        event_id = (entry.fields or {}).get(ORIGINAL_ID, entry_id)
        if dead_id:
            report.dead_lettered(self.name, event_id, event.request_id, entry.deliveries - 1)
        if dropped:
            where = (
                f"{self.keys.sub_dead(shard, self.name)} (cap {self.settings.dead_letter_maxlen})"
            )
            loss = Loss(self.name, shard, int(dropped), "", "")  # the oldest dead letters
            await self.registry.note_lost(
                self.name, "dead_letter_cap", loss, await self._now_ms(), where
            )

    # -- names -------------------------------------------------------------------------------

    def _stream(self, key: Key) -> str:
        shard, kind, _ = key
        return self.keys.events(shard) if kind == EVENTS else self._retry(shard)

    def _retry(self, shard: int) -> str:
        return self.keys.sub_retry(shard, self.name)

    def _lease(self, shard: int) -> str:
        return self.keys.sub_lease(shard, self.name)


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned read's outcome so it is never reported as unhandled."""
    if not task.cancelled():
        task.exception()
