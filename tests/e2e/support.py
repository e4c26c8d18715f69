"""Callers, request builders and status-detail readers for the e2e tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from aftersale.clock import FakeClock
from aftersale.policy import DAY_MS
from service.api.tokens import token_of
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc
from service.gen.aftersale.v1 import types_pb2 as t

PAID = 10_000  # 100 yuan
IMAGES = ["media/chat-60-yuan.png", "media/defect.jpg"]
new_stub: Callable[[Any], Any] = aftersale_pb2_grpc.AfterSaleServiceStub


def unique(prefix: str) -> str:
    """A fresh id (``[A-Za-z0-9_-]``), so tests never share a request."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


def stamp(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


class Party:
    """One caller: the stub's RPCs with this caller's metadata attached."""

    def __init__(self, stub: Any, metadata: list[tuple[str, str]]) -> None:
        self._stub = stub
        self.metadata = metadata

    def __getattr__(self, rpc: str) -> Callable[..., Any]:
        method = getattr(self._stub, rpc)

        def call(request: Message, **options: Any) -> Any:
            return method(request, metadata=self.metadata, **options)

        return call


class Api:
    """The service's callers, each with a token from the development token file."""

    def __init__(self, channel: Any, tokens: Path, clock: FakeClock) -> None:
        self.stub = new_stub(channel)
        self.clock = clock
        self.order_token = token_of(tokens, service="order-system")
        self.payment_token = token_of(tokens, service="payment")
        self.ops_token = token_of(tokens, service="ops")

    def as_(self, *metadata: tuple[str, str]) -> Party:
        return Party(self.stub, list(metadata))

    def buyer(self, buyer_id: str) -> Party:
        return self.as_(("authorization", f"Bearer {self.order_token}"), ("x-actor-id", buyer_id))

    def merchant(self, shop_id: str) -> Party:
        return self.as_(("authorization", f"Bearer {self.order_token}"), ("x-shop-id", shop_id))

    @property
    def payment(self) -> Party:
        return self.as_(("authorization", f"Bearer {self.payment_token}"))

    @property
    def ops(self) -> Party:
        return self.as_(("authorization", f"Bearer {self.ops_token}"), ("x-actor-id", "ops-1"))


@dataclass
class Request:
    """One after-sale request under test, and its two parties."""

    api: Api
    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    buyer: Party
    merchant: Party

    async def view(self) -> t.AfterSale:
        reply = await self.api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=self.request_id))
        view: t.AfterSale = reply.after_sale
        return view


def create_request(
    *,
    order_id: str,
    sku_id: str,
    shop_id: str,
    clock: FakeClock,
    type: str = "AFTER_SALE_TYPE_REFUND",
    amount: int = PAID,
    paid: int = PAID,
    reason: str = "BUYER_REASON_QUALITY_ISSUE",
) -> pb.CreateAfterSaleRequest:
    return pb.CreateAfterSaleRequest(
        idempotency_key=key(),
        order_id=order_id,
        sku_id=sku_id,
        shop_id=shop_id,
        type=type,
        amount=amount,
        paid_amount=paid,
        reason=reason,
        description="a small defect",
        evidence_images=["media/photo-1.jpg"],
        return_address=t.ReturnAddress(
            contact_name="Shop", contact_phone="0571-0000", address="1 Example Road, Hangzhou"
        ),
        after_sale_deadline=stamp(clock.now_ms() + 15 * DAY_MS),
    )


async def applied(api: Api, **overrides: Any) -> Request:
    """A fresh buyer of a fresh shop applies (refund of the full 100 yuan by default)."""
    order_id, sku_id, shop_id = unique("order"), unique("sku"), unique("shop")
    buyer_id = unique("buyer")
    buyer = api.buyer(buyer_id)
    request = create_request(
        order_id=order_id, sku_id=sku_id, shop_id=shop_id, clock=api.clock, **overrides
    )
    reply = await buyer.CreateAfterSale(request)
    return Request(
        api,
        reply.after_sale.request_id,
        order_id,
        sku_id,
        shop_id,
        buyer_id,
        buyer,
        api.merchant(shop_id),
    )


async def rpc_error(call: Awaitable[Any]) -> Any:
    """The ``grpc.aio.AioRpcError`` the call ends with (fails the test if it succeeds)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def rich_status(error: Any) -> status_pb2.Status:
    for name, value in error.trailing_metadata() or ():
        if name == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError(f"no status details on {error.code()}: {error.details()}")


def detail(error: Any, kind: type[Any]) -> Any:
    """The first detail of ``kind`` (ErrorInfo, BadRequest, …) in the error's status."""
    for packed in rich_status(error).details:
        if packed.Is(kind.DESCRIPTOR):
            message = kind()
            packed.Unpack(message)
            return message
    raise AssertionError(f"no {kind.__name__} in the status of {error.code()}")


def reason_of(error: Any) -> str:
    reason: str = detail(error, error_details_pb2.ErrorInfo).reason
    return reason


def bad_field(error: Any) -> str:
    """The field the INVALID_ARGUMENT names."""
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    field: str = detail(error, error_details_pb2.BadRequest).field_violations[0].field
    return field


def localized(error: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for packed in rich_status(error).details:
        if packed.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            message = error_details_pb2.LocalizedMessage()
            packed.Unpack(message)
            out[message.locale] = message.message
    return out
