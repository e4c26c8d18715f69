"""``Coalescer``: the commands of concurrent calls, sent to Redis together.

Each command path of a transition is two round trips (read the record with the idempotency
key, commit), and redis-py spends far more CPU per round trip than per command: a pipeline of
16 script calls costs ≈ 37 µs of client CPU per call against ≈ 79 µs sent one by one
(BENCHMARKS.md §8). Under load many RPCs wait on Redis at the same moment, so the commands
that calls issue during one turn of the event loop are queued and sent at the start of the
next turn as one pipeline; a lone command is sent as it is. While a batch is out, the commands
of later turns wait for its replies and then leave together (one batch in flight, as Nagle's
algorithm keeps one small segment in flight): under load batches grow instead of round trips
multiplying, and an idle service sends each command at once. Nothing waits for a batch to
fill. The price: a batch that waits on a slow or unreachable Redis (up to the socket timeout,
retries included) holds the commands behind it as long, where each would have waited on its
own.

Every command keeps its own outcome. A command's error (a script's refusal, NOSCRIPT, a
wrong type) is that caller's alone; an error of the round trip itself (a lost connection,
after the client's retries) is every caller's of that batch, as each would have met it.
A caller cancelled before its batch leaves drops its command; once sent, a command runs (as a
command sent alone does).

Only commands that never block go through here: a blocking read would hold the whole batch.
On a Redis Cluster nothing is coalesced (see ``Coalescer.enabled``).
Observed, a batch is one round trip: one ``PIPELINE`` in the Redis metrics and, with tracing
on, one span, under the call that opened the batch (the other calls in it show none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Command = tuple[Any, ...]


class Coalescer:
    """Queues commands issued during one event-loop turn and sends them in one round trip."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        enabled: bool = True,
        max_batch: int = 256,
        max_in_flight: int = 1,
    ) -> None:
        self.client = client
        # Off: every call is its own round trip (a pipeline for many). Always off on a cluster:
        # redis-py's cluster pipeline answers a connection error by closing the whole client
        # (every node's connections) and trying again, so one node going down failed calls in
        # flight to the others, which commands sent one by one survive (BENCHMARKS.md §8).
        self.enabled = enabled and not isinstance(client, RedisCluster)
        self.max_batch = max_batch
        # Batches out at once. Measured over gRPC against no limit (BENCHMARKS.md §8): 1 saves
        # 50–130 µs of service CPU per transition at 16 and 64 in flight, p99 no worse.
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._scheduled = False
        self._queued: list[tuple[Command, asyncio.Future[Any]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flushing: set[asyncio.Task[None]] = set()  # strong references until they end

    async def execute(self, *command: Any) -> Any:
        """Run ``command`` (e.g. ``"HGETALL", key``); its reply, or its error raised."""
        if not self.enabled:
            return await _one(self.client, command)
        return await self._queue([command])[0]

    async def execute_many(self, commands: Sequence[Command]) -> list[Any]:
        """Run ``commands`` in the same round trip (one pipeline's worth); every reply in
        order, an error as the exception in its place (not raised)."""
        if not self.enabled:
            pipe = self.client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            return list(await pipe.execute(raise_on_error=False))
        futures = self._queue(commands)
        return list(await asyncio.gather(*futures, return_exceptions=True))

    async def run_script(
        self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """EVALSHA ``script``; a server that lost it (NOSCRIPT, e.g. after a restart) gets it
        loaded and the call run again alone, as ``script(keys=…, args=…)`` does."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await script(keys=keys, args=args)

    def _queue(self, commands: Sequence[Command]) -> list[asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # what an earlier loop left (a batch it never ended) is gone
            self._loop, self._in_flight, self._scheduled, self._queued = loop, 0, False, []
        futures: list[asyncio.Future[Any]] = []
        for command in commands:
            future = loop.create_future()
            if not self._scheduled and self._in_flight < self.max_in_flight:
                self._scheduled = True  # the first of this turn: send at the start of the next
                loop.call_soon(self._send)
            self._queued.append((command, future))
            futures.append(future)
        return futures

    def _send(self) -> None:
        self._scheduled = False
        if self._in_flight >= self.max_in_flight or not self._queued:
            return
        queued, self._queued = self._queued, []
        live = [(command, future) for command, future in queued if not future.cancelled()]
        for first in range(0, len(live), self.max_batch):
            batch = live[first : first + self.max_batch]
            task = asyncio.ensure_future(self._round_trip(batch))
            self._in_flight += 1
            self._flushing.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._flushing.discard(task)
        self._in_flight -= 1
        if self._queued and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    async def _round_trip(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        try:
            if len(batch) == 1:
                replies: list[Any] = [await _one(self.client, batch[0][0])]
            else:
                pipe = self.client.pipeline(transaction=False)
                for command, _ in batch:
                    pipe.execute_command(*command)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as error:  # the round trip failed: every caller of it fails
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(error, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)


async def _one(client: Redis | RedisCluster, command: Command) -> Any:
    """A lone command, sent as the client sends any: one error is raised here."""
    return await client.execute_command(*command)


__all__ = ["Coalescer"]
