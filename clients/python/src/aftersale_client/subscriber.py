"""A consumer of ``aftersale.v1.SubscriptionService.Subscribe`` (a durable subscription):

    async with Subscriber(channel, "payment", "payment-1", token=TOKEN, role="PAYMENT") as s:
        await s.run(handle)          # async def handle(event: TransitionEvent) -> None

or ``client.subscriber("payment", "payment-1")`` on an ``AfterSaleClient`` (its channel,
token and actor).

The event is acknowledged when ``handle`` returns: a handler that raises is retried here
(``attempts`` times, with backoff), then nacked, so the server delivers it again, and after
its ``max_deliveries`` sets it aside as a dead letter. Delivery is at least once: make the
handler idempotent (the payment service keys on ``refund_id``).

Events of one request are handled one after another in the order they came (version order,
unless one was delivered again); with ``concurrency`` > 1, different requests are handled
in parallel. The stream reconnects with backoff when the server is unavailable or ends it
(a server shutting down ends it cleanly); other errors end ``run`` with the typed error
(``errors.NotFound`` for a deleted subscription, ``errors.PermissionDenied``, …).
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import grpc

from aftersale_client._gen.aftersale.v1 import subscriptions_pb2 as sp
from aftersale_client._gen.aftersale.v1 import subscriptions_pb2_grpc
from aftersale_client._gen.aftersale.v1 import types_pb2 as t
from aftersale_client.errors import from_rpc_error

log = logging.getLogger("aftersale_client.subscriber")

Handler = Callable[[t.TransitionEvent], Awaitable[None]]
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})  # fmt: skip
_END = object()
# The generated module is untyped; this is the one place that calls into it.
_new_stub: Callable[[Any], Any] = subscriptions_pb2_grpc.SubscriptionServiceStub


class Subscriber:
    """One consumer of a durable subscription (see the module docstring)."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        subscription: str,
        consumer: str,
        *,
        token: str,
        role: str = "",
        actor_id: str = "",
        shop_id: str = "",
        max_in_flight: int = 100,
        concurrency: int = 1,
        attempts: int = 3,
        retry_backoff_s: float = 0.2,
        reconnect_backoff_s: float = 0.5,
        reconnect_backoff_max_s: float = 30.0,
    ) -> None:
        self._stub = _new_stub(channel)
        self.subscription = subscription
        self.consumer = consumer
        self.metadata = [("authorization", f"Bearer {token}")]
        for key, value in (("x-actor-role", role), ("x-actor-id", actor_id),
                           ("x-shop-id", shop_id)):  # fmt: skip
            if value:
                self.metadata.append((key, value))
        self.max_in_flight = max_in_flight
        self.concurrency = max(1, concurrency)
        self.attempts = max(1, attempts)
        self.retry_backoff_s = retry_backoff_s
        self.reconnect_backoff_s = reconnect_backoff_s
        self.reconnect_backoff_max_s = reconnect_backoff_max_s
        self._stopping = asyncio.Event()
        self._replies: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()  # (ack id, acked)
        self.handled = 0  # events acknowledged
        self.connections = 0  # streams opened

    async def __aenter__(self) -> Subscriber:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """End ``run`` after the handlers running now finish."""
        self._stopping.set()

    async def run(self, handler: Handler) -> None:
        """Consume until ``stop()``, reconnecting when the stream breaks; an error no
        reconnection mends (``RETRYABLE`` lists those it does) raises an ``AfterSaleError``."""
        backoff = self.reconnect_backoff_s
        while not self._stopping.is_set():
            try:
                delivered = await self._stream_once(handler)
            except grpc.aio.AioRpcError as error:
                if error.code() not in RETRYABLE:
                    raise from_rpc_error(error, rpc="Subscribe") from error
                log.warning("subscription %s: stream broke (%s); reconnecting",
                            self.subscription, error.code().name)  # fmt: skip
                delivered = False
            if self._stopping.is_set():
                return
            backoff = self.reconnect_backoff_s if delivered else backoff
            await self._sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, self.reconnect_backoff_max_s)

    async def _stream_once(self, handler: Handler) -> bool:
        """One Subscribe call, until it ends; whether it delivered anything."""
        self.connections += 1
        call = self._stub.Subscribe(self._requests(), metadata=self.metadata)
        lanes: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in range(self.concurrency)]
        workers = [asyncio.ensure_future(self._work(lane, handler)) for lane in lanes]
        stop = asyncio.ensure_future(self._stopping.wait())
        delivered = False
        try:
            responses = aiter(call)
            while True:
                following = asyncio.ensure_future(anext(responses))
                done, _ = await asyncio.wait({following, stop}, return_when=asyncio.FIRST_COMPLETED)
                if following not in done:
                    following.cancel()
                    call.cancel()
                    break
                try:
                    response = following.result()
                except StopAsyncIteration:
                    break
                if not response.ack_id:
                    continue  # keep-alive
                delivered = True
                index = zlib.crc32(response.event.request_id.encode()) % len(lanes)
                await lanes[index].put(response)
        finally:
            stop.cancel()
            # Handlers finish what they started; what they had not started is not acked and
            # comes again (to this consumer on the next stream, or to another).
            for queue in lanes:
                _drop_waiting(queue)
            await asyncio.gather(*workers, return_exceptions=True)
            call.cancel()
        return delivered

    async def _requests(self) -> AsyncIterator[sp.SubscribeRequest]:
        """The open message, then acks and nacks as they come, batched."""
        yield sp.SubscribeRequest(
            open=sp.SubscribeOpen(
                subscription=self.subscription,
                consumer=self.consumer,
                max_in_flight=self.max_in_flight,
            )
        )
        while True:
            first = await self._replies.get()
            batch = [first]
            while not self._replies.empty() and len(batch) < 500:
                batch.append(self._replies.get_nowait())
            yield sp.SubscribeRequest(
                ack_ids=[ack_id for ack_id, ok in batch if ok],
                nack_ids=[ack_id for ack_id, ok in batch if not ok],
            )

    async def _work(self, lane: asyncio.Queue[Any], handler: Handler) -> None:
        while True:
            response = await lane.get()
            if response is _END:
                return
            ok = await self._handle(response, handler)
            self._replies.put_nowait((response.ack_id, ok))
            if ok:
                self.handled += 1

    async def _handle(self, response: sp.SubscribeResponse, handler: Handler) -> bool:
        """Whether ``handler`` succeeded on the event, within ``attempts``."""
        delay = self.retry_backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                await handler(response.event)
                return True
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("subscription %s: handler failed on event %s of %s "
                              "(attempt %d of %d, delivery %d)", self.subscription,
                              response.event.event_id, response.event.request_id, attempt,
                              self.attempts, response.delivery)  # fmt: skip
            if attempt < self.attempts:
                await self._sleep(delay)
                delay *= 2
        return False

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return


def _drop_waiting(lane: asyncio.Queue[Any]) -> None:
    """Leave only the end mark in ``lane``: deliveries not started are not handled now."""
    while not lane.empty():
        lane.get_nowait()
    lane.put_nowait(_END)
