"""A small gRPC client for the reliability tests, built from the proto descriptors.

It calls RPCs by name (``"ApproveAfterSale"``) with the auth metadata of SPEC §9 and answers
with a `Reply` (status code name, response or None, message) instead of raising, because the
tests judge every answer. `AsyncApi` serves the crash and fuzz tests (grpc.aio), `SyncApi` the
hypothesis state machine. `call_until_known` is the client discipline the brief asks for: a
broken call is *unknown*, so it is retried with the same idempotency key and body until the
service gives a definite answer.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from service.gen.aftersale.v1 import aftersale_pb2

SERVICE = aftersale_pb2.DESCRIPTOR.services_by_name["AfterSaleService"]
UNARY = [m.name for m in SERVICE.methods if not m.server_streaming]
# A broken call: the service may or may not have run it. UNKNOWN and INTERNAL are included:
# the client cannot tell more, but the tests count them as anomalies.
UNKNOWN_OUTCOME = frozenset(
    {"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN", "INTERNAL", "RESOURCE_EXHAUSTED"}
)


def request_class(method: str) -> type[Message]:
    """The request message class of ``method``."""
    cls: type[Message] = getattr(aftersale_pb2, SERVICE.methods_by_name[method].input_type.name)
    return cls


def response_class(method: str) -> type[Message]:
    cls: type[Message] = getattr(aftersale_pb2, SERVICE.methods_by_name[method].output_type.name)
    return cls


def path_of(method: str) -> str:
    return f"/{SERVICE.full_name}/{method}"


@dataclass(frozen=True)
class Who:
    """The party a call speaks for: its role and id (buyer id, shop id, operator)."""

    role: str  # BUYER, MERCHANT, PAYMENT, PLATFORM
    id: str


@dataclass(frozen=True)
class Tokens:
    """A bearer token per role (the tests write their own token file)."""

    by_role: Mapping[str, str]

    def metadata(self, who: Who) -> tuple[tuple[str, str], ...]:
        pairs = [("authorization", f"Bearer {self.by_role[who.role]}"), ("x-actor-role", who.role)]
        if who.role == "MERCHANT":
            pairs.append(("x-shop-id", who.id))
        else:
            pairs.append(("x-actor-id", who.id))
        return tuple(pairs)


SERVICES = {
    "order-system": ("BUYER", "MERCHANT"),
    "payment": ("PAYMENT",),
    "ops": ("PLATFORM",),
}


def write_tokens(path: Path) -> Tokens:
    """Write a token file (format of ``service/api/tokens.py``); return the tokens by role."""
    document: dict[str, dict[str, Any]] = {}
    by_role: dict[str, str] = {}
    for service, roles in SERVICES.items():
        token = secrets.token_urlsafe(24)
        document[token] = {"service": service, "roles": list(roles)}
        for role in roles:
            by_role[role] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return Tokens(by_role)


@dataclass
class Reply:
    """One answer: ``code`` is a grpc.StatusCode name ("OK" on success)."""

    code: str
    response: Any = None  # the response message on OK
    message: str = ""
    trailers: tuple[tuple[str, Any], ...] = ()  # trailing metadata of a failed call

    @property
    def ok(self) -> bool:
        return self.code == "OK"

    @property
    def view(self) -> Any:
        """The ``AfterSale`` of a mutating or Get response."""
        return self.response.after_sale

    @property
    def reason(self) -> str:
        """The ``ErrorInfo`` reason of a refusal ("" if none)."""
        info = self._info()
        return str(info.reason) if info is not None else ""

    @property
    def metadata(self) -> dict[str, str]:
        """The ``ErrorInfo`` metadata of a refusal (empty if none)."""
        info = self._info()
        return dict(info.metadata) if info is not None else {}

    def _info(self) -> error_details_pb2.ErrorInfo | None:
        for name, value in self.trailers:
            if name == "grpc-status-details-bin":
                for packed in status_pb2.Status.FromString(value).details:
                    info = error_details_pb2.ErrorInfo()
                    if packed.Unpack(info):
                        return info
        return None

    @property
    def superseded(self) -> bool:
        """A retried call that took effect before the request moved on (its first answer is
        kept nowhere): as good as OK for whoever retried it."""
        return self.code == "ALREADY_EXISTS" and self.reason == "IDEMPOTENT_CALL_SUPERSEDED"


@dataclass
class CallStats:
    """What the client saw: answers by code, retries and broken calls."""

    codes: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    unknown_codes: dict[str, int] = field(default_factory=dict)

    def count(self, code: str) -> None:
        self.codes[code] = self.codes.get(code, 0) + 1


def _code_of(error: grpc.RpcError) -> str:
    code = error.code()
    return str(code.name) if code is not None else "UNKNOWN"


class AsyncApi:
    """Unary RPCs by name over one grpc.aio channel."""

    def __init__(self, channel: grpc.aio.Channel, tokens: Tokens) -> None:
        self.tokens = tokens
        self.channel = channel
        self.stats = CallStats()
        self._calls = {
            name: channel.unary_unary(
                path_of(name),
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response_class(name).FromString,
            )
            for name in UNARY
        }
        self._raw = {
            name: channel.unary_unary(
                path_of(name),
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )
            for name in UNARY
        }

    async def call(self, method: str, request: Message, who: Who, timeout: float = 10.0) -> Reply:
        """One attempt; any failure is a `Reply` with its code."""
        try:
            response = await self._calls[method](
                request, metadata=self.tokens.metadata(who), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            code = _code_of(error)
            self.stats.count(code)
            trailers = tuple(error.trailing_metadata() or ())
            return Reply(code, None, error.details() or "", trailers)
        self.stats.count("OK")
        return Reply("OK", response)

    async def call_raw(self, method: str, body: bytes, who: Who, timeout: float = 10.0) -> Reply:
        """One attempt with a raw (possibly malformed) request body."""
        try:
            response = await self._raw[method](
                body, metadata=self.tokens.metadata(who), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            code = _code_of(error)
            self.stats.count(code)
            return Reply(code, None, error.details() or "")
        self.stats.count("OK")
        return Reply("OK", response_class(method).FromString(response))

    async def call_until_known(
        self,
        method: str,
        request: Message,
        who: Who,
        *,
        give_up_s: float = 120.0,
        timeout: float = 5.0,
    ) -> Reply:
        """Retry a broken call with the same idempotency key and body until a definite answer.

        ABORTED is retried too when the call carried no ``expected_version`` (the service lost
        a race it retries itself; a fresh attempt is safe under the same key).
        """
        give_up = time.monotonic() + give_up_s
        delay = 0.05
        while True:
            reply = await self.call(method, request, who, timeout=timeout)
            retry = reply.code in UNKNOWN_OUTCOME
            if reply.code == "ABORTED" and not _has_expected_version(request):
                retry = True
            if not retry or time.monotonic() > give_up:
                return reply
            if reply.code in UNKNOWN_OUTCOME:
                self.stats.unknown_codes[reply.code] = (
                    self.stats.unknown_codes.get(reply.code, 0) + 1
                )
            self.stats.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def _has_expected_version(request: Message) -> bool:
    descriptor = request.DESCRIPTOR
    return "expected_version" in descriptor.fields_by_name and request.HasField("expected_version")


class SyncApi:
    """Unary RPCs by name over one blocking channel (for hypothesis' sync state machines)."""

    def __init__(self, channel: grpc.Channel, tokens: Tokens) -> None:
        self.tokens = tokens
        self.stats = CallStats()
        self._calls = {
            name: channel.unary_unary(
                path_of(name),
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response_class(name).FromString,
            )
            for name in UNARY
        }

        self._raw = {
            name: channel.unary_unary(
                path_of(name), request_serializer=None, response_deserializer=None
            )
            for name in UNARY
        }

    def call(
        self,
        method: str,
        request: Message,
        who: Who,
        timeout: float = 10.0,
        metadata: tuple[tuple[str, str], ...] | None = None,
    ) -> Reply:
        """One call; ``metadata`` replaces the auth metadata of ``who`` when given."""
        return self._invoke(self._calls[method], request, who, timeout, metadata)

    def call_raw(
        self,
        method: str,
        body: bytes,
        who: Who,
        timeout: float = 10.0,
    ) -> Reply:
        """One call with a raw request body (possibly not a valid encoding)."""
        reply = self._invoke(self._raw[method], body, who, timeout, None)
        if reply.ok:
            reply.response = response_class(method).FromString(reply.response)
        return reply

    def _invoke(
        self,
        stub: Any,
        request: Any,
        who: Who,
        timeout: float,
        metadata: tuple[tuple[str, str], ...] | None,
    ) -> Reply:
        try:
            response, _ = stub.with_call(
                request,
                metadata=self.tokens.metadata(who) if metadata is None else metadata,
                timeout=timeout,
            )
        except grpc.RpcError as error:
            code = _code_of(error)
            self.stats.count(code)
            reply = Reply(code, None, error.details() or "")
            reply.trailers = tuple(error.trailing_metadata() or ())
            return reply
        self.stats.count("OK")
        return Reply("OK", response)
