"""Helpers of the client's tests: fresh ids, the parties of one order, a request applied for."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from aftersale_client import AfterSaleClient
from aftersale_client.v1 import aftersale_pb2 as pb
from aftersale_client.v1 import types_pb2 as t


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Parties:
    """One fresh order's parties, each a client view on one channel."""

    buyer: AfterSaleClient
    shop: AfterSaleClient
    payment: AfterSaleClient
    ops: AfterSaleClient
    order_id: str
    shop_id: str
    buyer_id: str


def deadline() -> datetime.datetime:
    """An application deadline a month from now (valid on any day the tests run)."""
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)


async def applied(parties: Parties, *, idempotency_key: str | None = None
                  ) -> pb.CreateAfterSaleResponse:  # fmt: skip
    """A fresh request: the buyer asks 100 yuan back of 100 paid, for a scratch."""
    return await parties.buyer.create_after_sale(
        idempotency_key=idempotency_key,
        order_id=parties.order_id,
        sku_id="SKU-7",
        shop_id=parties.shop_id,
        type="AFTER_SALE_TYPE_REFUND",
        amount=10000,
        paid_amount=10000,
        reason=t.BUYER_REASON_QUALITY_ISSUE,
        evidence_images=["media/scratch.jpg"],
        after_sale_deadline=deadline(),
    )
