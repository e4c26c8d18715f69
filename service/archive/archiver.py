"""The archiver: every transition reaches the archive, in batches, exactly once in effect.

It consumes the durable subscription ``archive`` (made at startup if missing, starting at the
oldest retained event, so nothing committed before the first start is missed; a consumer of
the service's own: no calling service's token may read it) through an in-process
``SubscriptionSession``. For each burst of deliveries it archives the *requests* they name as
they are now in Redis (``RequestArchiver``: record and every history row, one PostgreSQL
transaction for the burst, then the ``a`` mark on each record), and acknowledges the
deliveries only after the marks. An event delivered again (a crash before the ack, a
redelivery) finds its request marked and costs no PostgreSQL work; a request that moved on
since is archived at its newer version, which holds the older one's history too.

Where it runs (README "Archive"): in every process with ``AFTERSALE_ARCHIVER`` on (default:
``serve`` and ``timers`` processes), as competing consumers of the one subscription: the
subscription's shard leases give each shard to one archiver at a time, so a request's events
are archived in order, a killed archiver's shards pass to the others after the lease
(``subscription.lease_s``), and its unacknowledged deliveries are delivered again.

Batching: the session reads up to ``max_in_flight`` entries at once; every delivery already
read is taken into the batch (up to ``batch``) before the transaction, and after a batch
smaller than that the archiver waits ``linger_s`` (0.1 s) before it reads again. A burst is
archived in few transactions, and a steady flow in batches of ``linger_s`` × its rate rather
than a read over every shard stream and a transaction per event; an event waits at most
``linger_s`` more.

While PostgreSQL is down the batch in hand is retried with backoff and the next deliveries are
not taken, so the session's redelivery (ack deadline, max deliveries) does not count the
outage against them (a redelivery or two at most, never a dead letter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis, RedisCluster

from aftersale.vocabulary import Role
from service.archive.backfill import Backfill
from service.archive.migrate import migrate
from service.archive.requests import REDIS_ERRORS, RequestArchiver, Retry, Stopped
from service.observability import archive as report
from service.storage.cursor import parse_stream_id
from service.storage.subscription_session import (
    Delivery,
    SubscriptionGone,
    SubscriptionSession,
)
from service.storage.subscriptions import (
    MAX_DELIVERIES_LIMIT,
    OLDEST,
    Subscription,
    Subscriptions,
)

log = logging.getLogger("service.archive")

SUBSCRIPTION = "archive"
SERVICE = "aftersale-archiver"  # never a calling service's name: only the archiver reads it


def archive_subscription() -> Subscription:
    """The subscription the archiver consumes: every event, from the oldest retained."""
    return Subscription(
        name=SUBSCRIPTION,
        service=SERVICE,
        role=Role.PLATFORM,  # sees every event
        start=OLDEST,
        max_deliveries=MAX_DELIVERIES_LIMIT,
    )


@dataclass(frozen=True, slots=True)
class ArchiverSettings:
    batch: int = 256  # deliveries archived per PostgreSQL transaction, at most
    # After a batch smaller than ``batch``, how long the archiver waits before it reads again:
    # a steady flow is then read and archived in batches of linger × rate events, rather
    # than a read of every stream and a transaction per event (the archive is read days
    # later: the CPU per event is what matters, not 0.1 s).
    linger_s: float = 0.1
    max_in_flight: int = 512  # deliveries read ahead and not acknowledged
    retry: Retry = field(default_factory=Retry)
    backfill: bool = True
    backfill_page: int = 500


def consumer_name() -> str:
    return f"archiver-{socket.gethostname()}-{os.getpid()}"


class Archiver:
    """One archiver (see the module docstring): ``run`` until ``stop``."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        archiver: RequestArchiver,
        now_ms: Callable[[], int],
        settings: ArchiverSettings | None = None,
        *,
        reader: Redis | RedisCluster | None = None,
        consumer: str = "",
    ) -> None:
        self.subscriptions = subscriptions
        self.requests = archiver
        self.now_ms = now_ms
        self.settings = settings or ArchiverSettings()
        self.reader = reader
        self.consumer = consumer or consumer_name()
        self.stopping = archiver.stopping
        self.backfill = Backfill(
            subscriptions.client, subscriptions.keys, archiver, now_ms,
            page=self.settings.backfill_page, batch=self.settings.batch,
        )  # fmt: skip
        self.session: SubscriptionSession | None = None
        self.events = 0  # deliveries acknowledged
        self.migrated = False

    def stop(self) -> None:
        """Stop after the batch in hand (or at once while it waits to retry)."""
        self.stopping.set()
        if self.session is not None:
            self.session.stop()

    async def run(self) -> None:
        """Consume until ``stop``; Redis trouble starts a new session after a backoff."""
        backoff = self.settings.retry.backoff_s
        while not self.stopping.is_set():
            try:
                await self._run_session()
                backoff = self.settings.retry.backoff_s
            except Stopped:
                return
            except SubscriptionGone:
                log.error("the archive subscription was deleted: made again at the oldest "
                          "retained event, and the backfill starts over")  # fmt: skip
                with contextlib.suppress(*REDIS_ERRORS):
                    await self.backfill.reset()
            except Exception as error:  # reported; a new session follows
                stage = "redis" if isinstance(error, REDIS_ERRORS) else "internal"
                report.failed(stage, "consuming the archive subscription", error, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                backoff = min(backoff * 2, self.settings.retry.backoff_max_s)

    async def _run_session(self) -> None:
        if not self.migrated:  # the start could not (PostgreSQL was down): first, now
            await self.requests.retrying("postgres", "migrating the archive", self._migrate)
            self.migrated = True
        subscription, _ = await self.subscriptions.create(archive_subscription(), self.now_ms())
        session = self.session = SubscriptionSession(
            self.subscriptions, subscription, self.consumer,
            reader=self.reader, max_in_flight=self.settings.max_in_flight,
        )  # fmt: skip
        if self.stopping.is_set():
            session.stop()
        backfill = None
        if self.settings.backfill:
            backfill = asyncio.create_task(self._backfill(session), name="archive-backfill")
        try:
            await self._consume(session)
        finally:
            session.stop()
            if backfill is not None:
                backfill.cancel()
                await asyncio.wait({backfill})

    async def _migrate(self) -> None:
        async with self.requests.pool.acquire() as conn:
            await migrate(conn)  # type: ignore[arg-type]
        await self.requests.read_identity()  # what is marked for it already is skipped

    async def _backfill(self, session: SubscriptionSession) -> None:
        """The backfill beside the consumer; a failure ends it (logged), the next session
        (the next start) resumes it from its saved positions."""
        try:
            await self.backfill.run(session)
        except Stopped:
            return
        except Exception as error:  # reported; the events still flow
            report.failed("redis", "the archive backfill", error, None)

    async def _consume(self, session: SubscriptionSession) -> None:
        deliveries = session.deliveries()
        pending: asyncio.Future[Delivery] | None = None
        try:
            ended = False
            while not ended and not self.stopping.is_set():
                if pending is None:
                    pending = _next(deliveries)
                try:
                    batch = [await pending]
                except StopAsyncIteration:
                    return
                finally:
                    pending = None
                while len(batch) < self.settings.batch:
                    # Take what the session has read already; never wait for more (the
                    # pending read is kept, never cancelled: the first of the next batch).
                    pending = _next(deliveries)
                    if not pending.done():
                        await asyncio.sleep(0)
                    if not pending.done():
                        break
                    taken, pending = pending, None
                    try:
                        batch.append(taken.result())
                    except StopAsyncIteration:
                        ended = True
                        break
                await self._archive(session, batch)
                if len(batch) < self.settings.batch:
                    await self._linger()  # let more accumulate: one read, one transaction
        finally:
            session.stop()
            await _settle(pending, session.block_ms / 1000 + 2)
            with contextlib.suppress(RuntimeError):  # still running: a cancel was swallowed
                await deliveries.aclose()

    async def _linger(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.settings.linger_s)

    async def _archive(self, session: SubscriptionSession, batch: list[Delivery]) -> None:
        failed = await self.requests.archive([d.event.request_id for d in batch], "events")
        acks = [d.ack_id for d in batch if d.event.request_id not in failed]
        if acks:
            await self.requests.retrying("redis", "acknowledging archived events",
                                         lambda: session.ack(acks))  # fmt: skip
        self.events += len(acks)
        report.EVENTS.inc(len(acks))
        now = self.now_ms()
        waited = max(now - _commit_ms(d.event_id) for d in batch)
        report.LAG.set(max(0, waited) / 1000)


def _next(deliveries: AsyncGenerator[Delivery, None]) -> asyncio.Future[Delivery]:
    return asyncio.ensure_future(anext(deliveries))


def _commit_ms(event_id: str) -> int:
    try:
        return parse_stream_id(event_id)[0]
    except ValueError:
        return 0


async def _settle(pending: asyncio.Future[Delivery] | None, timeout_s: float) -> None:
    """Let the session end the read in progress (a stopped session ends after it); what it
    delivers meanwhile stays unacknowledged and is delivered again to whoever takes the
    shard."""
    if pending is None:
        return
    if not pending.done():
        await asyncio.wait({pending}, timeout=timeout_s)
    if not pending.done():
        pending.cancel()
        await asyncio.wait({pending})
    if not pending.cancelled():
        pending.exception()  # retrieved: never reported as unhandled
