"""The two flows through the handlers, in-process (no gRPC): what the timer and memory
sections use to make realistic commits."""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from aftersale import commands as c
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import AfterSaleType, NegotiationKind, NegotiationOption, Role
from bench.flows import IMAGE, PAID, apply_command
from service.handlers import AfterSaleHandlers, Call

if TYPE_CHECKING:
    from bench.product import Parts

CALLER = "bench-order-system"


def _call(actor: Actor, key: str) -> Call:
    return Call(actor=actor, caller=CALLER, idempotency_key=key)


def _refund_id(record: AfterSale) -> str:
    assert record.refund is not None
    return record.refund.refund_id


async def apply(
    handlers: AfterSaleHandlers, index: int, prefix: str, kind: AfterSaleType
) -> AfterSale:
    command = apply_command(kind, 0, 0)
    order_id = f"{prefix}-{index}"
    command = c.Apply(
        request_id="",
        order_id=order_id,
        sku_id=command.sku_id,
        shop_id=f"shop-{index % 100}",
        buyer_id=f"b-{order_id}",
        type=kind,
        amount=command.amount,
        paid_amount=command.paid_amount,
        reason=command.reason,
        after_sale_deadline_ms=4_102_444_800_000,  # 2100-01-01: never in the way
        description=command.description,
        evidence_images=command.evidence_images,
        return_address=command.return_address,
    )
    buyer = Actor(Role.BUYER, command.buyer_id)
    return await handlers.handle("", command, _call(buyer, f"{order_id}-0"))


async def one_flow(handlers: AfterSaleHandlers, index: int, prefix: str) -> int:
    """Run flow ``index`` (even: negotiated refund, odd: return) to its end; the commits made."""
    kind = AfterSaleType.REFUND if index % 2 == 0 else AfterSaleType.RETURN
    record = await apply(handlers, index, prefix, kind)
    rid = record.request_id
    buyer = Actor(Role.BUYER, record.buyer_id)
    merchant = Actor(Role.MERCHANT, record.shop_id)
    payment = Actor(Role.PAYMENT, "payment")
    key = itertools.count(1)

    def call(actor: Actor) -> Call:
        return _call(actor, f"{record.order_id}-{next(key)}")

    if kind is AfterSaleType.REFUND:
        negotiate = c.Negotiate(
            kind=NegotiationKind.MODIFY_APPLICATION,
            option=NegotiationOption.AMOUNT_ONLY,
            images=(IMAGE,),
            proposed_amount=PAID * 6 // 10,
        )
        await handlers.handle(rid, negotiate, call(merchant))
        record = await handlers.handle(rid, c.AcceptNegotiation(), call(buyer))
    else:
        await handlers.handle(rid, c.Approve(), call(merchant))
        waybill = c.SubmitReturnWaybill(carrier="SF", waybill_id="SF1234567890")
        await handlers.handle(rid, waybill, call(buyer))
        record = await handlers.handle(rid, c.ConfirmReceipt(), call(merchant))
    await handlers.handle(rid, c.RefundSucceeded(_refund_id(record)), call(payment))
    return 4 if kind is AfterSaleType.REFUND else 5


async def run_flows(parts: Parts, commits: int, prefix: str, concurrency: int = 1) -> int:
    """Flows until at least ``commits`` commits were made; returns how many were."""
    done = 0
    counter = itertools.count()

    async def worker() -> None:
        nonlocal done
        while done < commits:
            made = await one_flow(parts.handlers, next(counter), prefix)
            done += made  # after the await: `done += await …` would add to a stale `done`

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done
