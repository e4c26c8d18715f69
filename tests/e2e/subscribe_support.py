"""A consumer of one ``Subscribe`` stream, for the server's own tests: each delivery goes to
the handler in order and is acked when it returns, nacked when it raises. It speaks the
protocol and nothing more (no reconnection, no in-process retries: the Python client's
``aftersale_client.Subscriber`` does those and has its own tests in clients/python); a
failed stream raises its ``grpc.aio.AioRpcError``. Built on the server's stubs, so this suite
never loads the client's (one process, one copy of each proto file)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import subscriptions_pb2_grpc
from service.gen.aftersale.v1 import types_pb2 as t

new_stub: Callable[[Any], Any] = subscriptions_pb2_grpc.SubscriptionServiceStub
Handler = Callable[[t.TransitionEvent], Awaitable[None]]


class StreamConsumer:
    """One consumer of ``subscription`` on one stream; ``run`` until ``stop()``."""

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
    ) -> None:
        self.channel = channel
        self.metadata = [("authorization", f"Bearer {token}")]
        for key, value in (("x-actor-role", role), ("x-actor-id", actor_id),
                           ("x-shop-id", shop_id)):  # fmt: skip
            if value:
                self.metadata.append((key, value))
        self._outgoing: asyncio.Queue[sp.SubscribeRequest] = asyncio.Queue()
        opening = sp.SubscribeOpen(subscription=subscription, consumer=consumer)
        self._outgoing.put_nowait(sp.SubscribeRequest(open=opening))
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End ``run`` after the event being handled."""
        self._stopping.set()

    async def _requests(self) -> AsyncIterator[sp.SubscribeRequest]:
        while True:
            yield await self._outgoing.get()

    async def run(self, handler: Handler) -> None:
        """Consume until ``stop()`` or the stream's end; a failed stream raises."""
        call = new_stub(self.channel).Subscribe(self._requests(), metadata=self.metadata)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while True:
                reading = asyncio.ensure_future(call.read())
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    return
                message = reading.result()
                if message is grpc.aio.EOF:
                    return
                if not message.ack_id:
                    continue  # keep-alive
                try:
                    await handler(message.event)
                except Exception:
                    self._outgoing.put_nowait(sp.SubscribeRequest(nack_ids=[message.ack_id]))
                else:
                    self._outgoing.put_nowait(sp.SubscribeRequest(ack_ids=[message.ack_id]))
        finally:
            stopping.cancel()
            call.cancel()
