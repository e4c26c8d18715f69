"""The two realistic flows every section drives, as domain commands (SPEC §3, §11).

* negotiated refund: apply → negotiate (AMOUNT_ONLY) → accept_negotiation → refund_succeeded
* return: apply → approve → submit_return_waybill → confirm_receipt → refund_succeeded

``run_flow`` runs one through ``decide`` and keeps each step's input record, so a timing loop
can replay exactly one action over the record it meets in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aftersale import commands as c
from aftersale.decide import decide
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.vocabulary import (
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    Role,
)
from service.storage.keys import Keys

PAID = 10_000  # fen
IMAGE = "media://bench/evidence-0001.jpg"
RETURN_ADDRESS = "Bench Shop Returns, 1 Test Road, Hangzhou, 310000"
DAY_MS = 86_400_000

Step = Callable[[AfterSale], c.Command]


@dataclass(frozen=True, slots=True)
class FlowStep:
    action: str
    actor: Actor
    command: c.Command
    before: AfterSale | None  # the record the action runs over (None for apply)


def apply_command(kind: AfterSaleType, index: int, now_ms: int) -> c.Apply:
    """A buyer's application on a fresh order line (``index`` makes the ids unique)."""
    return c.Apply(
        request_id="",
        order_id=f"ord-{index}",
        sku_id="sku-1",
        shop_id=f"shop-{index % 100}",
        buyer_id=f"buyer-{index}",
        type=kind,
        amount=PAID,
        paid_amount=PAID,
        reason=BuyerReason.QUALITY_ISSUE,
        after_sale_deadline_ms=now_ms + 30 * DAY_MS,
        description="the item arrived damaged",
        evidence_images=(IMAGE,),
        return_address=RETURN_ADDRESS if kind is AfterSaleType.RETURN else "",
    )


def buyer(record: AfterSale) -> Actor:
    return Actor(Role.BUYER, record.buyer_id)


def merchant(record: AfterSale) -> Actor:
    return Actor(Role.MERCHANT, record.shop_id)


PAYMENT = Actor(Role.PAYMENT, "payment")


def refund_id(record: AfterSale) -> str:
    assert record.refund is not None, f"{record.request_id} has no refund in {record.state}"
    return record.refund.refund_id


def negotiated_refund_steps() -> list[tuple[str, Callable[[AfterSale], Actor], Step]]:
    return [
        (
            "negotiate",
            merchant,
            lambda r: c.Negotiate(
                kind=NegotiationKind.MODIFY_APPLICATION,
                option=NegotiationOption.AMOUNT_ONLY,
                images=(IMAGE,),
                proposed_amount=PAID * 6 // 10,
            ),
        ),
        ("accept_negotiation", buyer, lambda r: c.AcceptNegotiation()),
        ("refund_succeeded", lambda r: PAYMENT, lambda r: c.RefundSucceeded(refund_id(r))),
    ]


def return_steps() -> list[tuple[str, Callable[[AfterSale], Actor], Step]]:
    return [
        ("approve", merchant, lambda r: c.Approve()),
        (
            "submit_return_waybill",
            buyer,
            lambda r: c.SubmitReturnWaybill(carrier="SF", waybill_id="SF1234567890"),
        ),
        ("confirm_receipt", merchant, lambda r: c.ConfirmReceipt()),
        ("refund_succeeded", lambda r: PAYMENT, lambda r: c.RefundSucceeded(refund_id(r))),
    ]


FLOWS = {
    "negotiated_refund": (AfterSaleType.REFUND, negotiated_refund_steps),
    "return": (AfterSaleType.RETURN, return_steps),
}


def run_flow(name: str, now_ms: int, policy: Policy, index: int = 0) -> list[FlowStep]:
    """Run flow ``name`` through ``decide``; each step keeps the record it ran over."""
    kind, steps = FLOWS[name]
    apply = apply_command(kind, index, now_ms)
    apply = replace(apply, request_id=Keys().new_request_id(apply.order_id, now_ms))
    first = decide(None, apply, Actor(Role.BUYER, apply.buyer_id), now_ms, policy)
    out = [FlowStep("apply", Actor(Role.BUYER, apply.buyer_id), apply, None)]
    record = first.record
    for action, actor_of, make in steps():
        command = make(record)
        actor = actor_of(record)
        out.append(FlowStep(action, actor, command, record))
        now_ms += 60_000
        record = decide(record, command, actor, now_ms, policy).record
    return out
