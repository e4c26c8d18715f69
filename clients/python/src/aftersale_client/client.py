"""The clients: ``AfterSaleClient`` (asyncio, ``grpc.aio``) and ``SyncAfterSaleClient``.

    async with AfterSaleClient("127.0.0.1:50051", token=TOKEN,
                               actor=Actor.buyer("buyer-42")) as client:
        reply = await client.get_after_sale(request_id=rid)

One method per RPC (``_rpcs.py``, generated): keyword arguments are the request's fields,
and ``actor=``/``token=`` override the client's for one call. A write without an
idempotency key gets a fresh one, which the channel's retries (the published policy, on by
default) resend unchanged; a failed call raises an ``AfterSaleError`` (``errors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import grpc

from aftersale_client._rpcs import AsyncRpcs, SyncRpcs
from aftersale_client.actor import Actor
from aftersale_client.retry import channel_options
from aftersale_client.subscriber import Subscriber


def _options(retries: bool, options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [*channel_options(retries=retries), *options]


class AfterSaleClient(AsyncRpcs):
    """The asyncio client. Open it in a running event loop (``async with``) and close it.

    ``target``: the server's address (``host:port``, ``dns:///name:port``); ``credentials``:
    TLS (``grpc.ssl_channel_credentials(...)``), else plaintext; ``retries``: follow the
    published retry policy (default) or not; ``options``: more channel options.
    """

    def __init__(
        self,
        target: str,
        *,
        token: str = "",
        actor: Actor | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        retries: bool = True,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        chosen = _options(retries, options)
        channel = (
            grpc.aio.secure_channel(target, credentials, options=chosen)
            if credentials is not None
            else grpc.aio.insecure_channel(target, options=chosen)
        )
        super().__init__(channel, token=token, actor=actor)
        self._owns_channel = True

    @classmethod
    def over(
        cls, channel: grpc.aio.Channel, *, token: str = "", actor: Actor | None = None
    ) -> AfterSaleClient:
        """A client on a channel you made (and close yourself)."""
        client = cls.__new__(cls)
        AsyncRpcs.__init__(client, channel, token=token, actor=actor)
        client._owns_channel = False
        return client

    def acting_as(self, actor: Actor, *, token: str | None = None) -> AfterSaleClient:
        """The same channel, calling as ``actor`` (and ``token``) by default."""
        return type(self).over(
            self.channel, token=self.token if token is None else token, actor=actor
        )

    def subscriber(self, subscription: str, consumer: str, **options: Any) -> Subscriber:
        """A consumer of a durable subscription on this channel, with this client's token and
        actor (``options``: those of ``Subscriber``)."""
        actor = self.actor
        return Subscriber(
            self.channel,
            subscription,
            consumer,
            token=self.token,
            role=actor.role if actor is not None else "",
            actor_id=actor.id if actor is not None and actor.role != "MERCHANT" else "",
            shop_id=actor.id if actor is not None and actor.role == "MERCHANT" else "",
            **options,
        )

    async def close(self) -> None:
        """Close the channel (if this client opened it); calls in flight are cancelled."""
        if self._owns_channel:
            await self.channel.close()

    async def __aenter__(self) -> AfterSaleClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class SyncAfterSaleClient(SyncRpcs):
    """The blocking client: the same methods, returning the reply (``with`` closes it)."""

    def __init__(
        self,
        target: str,
        *,
        token: str = "",
        actor: Actor | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        retries: bool = True,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        chosen = _options(retries, options)
        channel = (
            grpc.secure_channel(target, credentials, options=chosen)
            if credentials is not None
            else grpc.insecure_channel(target, options=chosen)
        )
        super().__init__(channel, token=token, actor=actor)
        self._owns_channel = True

    def acting_as(self, actor: Actor, *, token: str | None = None) -> SyncAfterSaleClient:
        """The same channel, calling as ``actor`` (and ``token``) by default; closing this
        view closes nothing."""
        view = type(self).__new__(type(self))
        SyncRpcs.__init__(
            view, self.channel, token=self.token if token is None else token, actor=actor
        )
        view._owns_channel = False
        return view

    def close(self) -> None:
        """Close the channel (if this client opened it)."""
        if self._owns_channel:
            self.channel.close()

    def __enter__(self) -> SyncAfterSaleClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
