"""What every generated method (``_rpcs.py``) does: build the request from the keyword
fields, add an idempotency key when the request has one and it is empty, send it with the
client's metadata (this call's ``actor``/``token`` first), raise a typed error on failure."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc
from google.protobuf.message import Message

from aftersale_client.actor import Actor
from aftersale_client.errors import from_rpc_error

AUTHORIZATION = "authorization"
IDEMPOTENCY_KEY = "idempotency_key"
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


@dataclass(frozen=True, slots=True)
class Rpc(Generic[Req, Resp]):
    """One RPC: its path, its message classes, whether the server streams the answer."""

    path: str
    request_type: type[Req]
    response_type: type[Resp]
    streaming: bool = False

    @property
    def name(self) -> str:
        """The RPC's name (``CreateAfterSale``)."""
        return self.path.rsplit("/", 1)[-1]


def new_idempotency_key() -> str:
    """A fresh key: random, so two calls never share one by accident."""
    return uuid.uuid4().hex


def build_request(rpc: Rpc[Req, Any], request: Req | None, fields: Mapping[str, Any]) -> Req:
    """``request`` (copied, never changed) with the keyword ``fields`` that are not None
    replacing its own, and a fresh idempotency key when it takes one and has none."""
    given = {name: value for name, value in fields.items() if value is not None}
    message = rpc.request_type()
    if request is not None:
        if not isinstance(request, rpc.request_type):
            raise TypeError(f"request: {rpc.name} takes a {rpc.request_type.__name__}, "
                            f"not a {type(request).__name__}")  # fmt: skip
        message.CopyFrom(request)
    for name, value in given.items():
        message.ClearField(name)
        message.MergeFrom(rpc.request_type(**{name: value}))
    if IDEMPOTENCY_KEY in message.DESCRIPTOR.fields_by_name and not getattr(
        message, IDEMPOTENCY_KEY
    ):
        setattr(message, IDEMPOTENCY_KEY, new_idempotency_key())
    return message


class _Caller:
    """What the async and the sync client share: the defaults and the metadata."""

    def __init__(self, *, token: str, actor: Actor | None) -> None:
        self.token = token
        self.actor = actor

    def call_metadata(
        self, actor: Actor | None, token: str | None, extra: Sequence[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The metadata of one call: this call's token and actor, else the client's."""
        pairs: list[tuple[str, str]] = []
        bearer = token if token is not None else self.token
        if bearer:
            pairs.append((AUTHORIZATION, f"Bearer {bearer}"))
        who = actor if actor is not None else self.actor
        if who is not None:
            pairs += who.metadata()
        return [*pairs, *extra]


def _key_of(message: Message) -> str:
    return str(getattr(message, IDEMPOTENCY_KEY, ""))


class AsyncCaller(_Caller):
    """The call path of the asyncio client (``grpc.aio``)."""

    def __init__(self, channel: grpc.aio.Channel, *, token: str, actor: Actor | None) -> None:
        super().__init__(token=token, actor=actor)
        self.channel = channel
        self._callables: dict[str, Any] = {}

    def _callable(self, rpc: Rpc[Any, Any]) -> Any:
        found = self._callables.get(rpc.path)
        if found is None:
            kind = self.channel.unary_stream if rpc.streaming else self.channel.unary_unary
            found = kind(rpc.path, request_serializer=rpc.request_type.SerializeToString,
                         response_deserializer=rpc.response_type.FromString)  # fmt: skip
            self._callables[rpc.path] = found
        return found

    async def _unary(
        self,
        rpc: Rpc[Req, Resp],
        request: Req | None,
        fields: Mapping[str, Any],
        actor: Actor | None,
        token: str | None,
        timeout: float | None,
        metadata: Sequence[tuple[str, str]],
    ) -> Resp:
        message = build_request(rpc, request, fields)
        pairs = self.call_metadata(actor, token, metadata)
        try:
            reply: Resp = await self._callable(rpc)(message, metadata=pairs, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, rpc=rpc.name, idempotency_key=_key_of(message)) from error
        return reply

    async def _stream(
        self,
        rpc: Rpc[Req, Resp],
        request: Req | None,
        fields: Mapping[str, Any],
        actor: Actor | None,
        token: str | None,
        timeout: float | None,
        metadata: Sequence[tuple[str, str]],
    ) -> AsyncGenerator[Resp, None]:
        message = build_request(rpc, request, fields)
        call = self._callable(rpc)(
            message, metadata=self.call_metadata(actor, token, metadata), timeout=timeout
        )
        try:
            async for reply in call:
                yield reply
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, rpc=rpc.name) from error
        finally:
            call.cancel()  # the caller stopped reading: end the stream on the server too


class SyncCaller(_Caller):
    """The call path of the blocking client (``grpc``)."""

    def __init__(self, channel: grpc.Channel, *, token: str, actor: Actor | None) -> None:
        super().__init__(token=token, actor=actor)
        self.channel = channel
        self._callables: dict[str, Any] = {}

    def _callable(self, rpc: Rpc[Any, Any]) -> Any:
        found = self._callables.get(rpc.path)
        if found is None:
            kind = self.channel.unary_stream if rpc.streaming else self.channel.unary_unary
            found = kind(rpc.path, request_serializer=rpc.request_type.SerializeToString,
                         response_deserializer=rpc.response_type.FromString)  # fmt: skip
            self._callables[rpc.path] = found
        return found

    def _unary(
        self,
        rpc: Rpc[Req, Resp],
        request: Req | None,
        fields: Mapping[str, Any],
        actor: Actor | None,
        token: str | None,
        timeout: float | None,
        metadata: Sequence[tuple[str, str]],
    ) -> Resp:
        message = build_request(rpc, request, fields)
        pairs = self.call_metadata(actor, token, metadata)
        try:
            reply: Resp = self._callable(rpc)(message, metadata=pairs, timeout=timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error, rpc=rpc.name, idempotency_key=_key_of(message)) from error
        return reply

    def _stream(
        self,
        rpc: Rpc[Req, Resp],
        request: Req | None,
        fields: Mapping[str, Any],
        actor: Actor | None,
        token: str | None,
        timeout: float | None,
        metadata: Sequence[tuple[str, str]],
    ) -> Generator[Resp, None, None]:
        message = build_request(rpc, request, fields)
        call = self._callable(rpc)(
            message, metadata=self.call_metadata(actor, token, metadata), timeout=timeout
        )
        try:
            yield from call
        except grpc.RpcError as error:
            raise from_rpc_error(error, rpc=rpc.name) from error
        finally:
            call.cancel()
