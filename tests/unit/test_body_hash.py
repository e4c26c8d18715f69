"""The idempotency body hash is stored beside each result for a day: a change of how it is
computed would turn a client's retry across a deploy into IDEMPOTENCY_KEY_REUSED. These are the
hashes the service has stored since the hash was introduced; a cheaper computation must give
the same ones."""

from __future__ import annotations

from aftersale import commands as c
from aftersale.model import Actor
from aftersale.vocabulary import (
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    Role,
)
from service.handlers import _body_hash

APPLY = c.Apply(
    request_id="",
    order_id="ord-0",
    sku_id="sku-1",
    shop_id="shop-0",
    buyer_id="buyer-0",
    type=AfterSaleType.RETURN,
    amount=10000,
    paid_amount=10000,
    reason=BuyerReason.QUALITY_ISSUE,
    after_sale_deadline_ms=1792592000000,
    description="the item arrived damaged",
    evidence_images=("media://bench/evidence-0001.jpg",),
    return_address="Bench Shop Returns, 1 Test Road, Hangzhou, 310000",
)
NEGOTIATE = c.Negotiate(
    kind=NegotiationKind.MODIFY_APPLICATION,
    option=NegotiationOption.AMOUNT_ONLY,
    images=("media://bench/evidence-0001.jpg",),
    proposed_amount=600,
    message="退款 ok",
)


def test_the_stored_hashes_stay_the_same() -> None:
    buyer, shop = Actor(Role.BUYER, "b-1"), Actor(Role.MERCHANT, "shop-1")
    assert _body_hash("", APPLY, buyer) == "25c7021f9f315760f4c3ce07ee7d50e3"
    assert _body_hash("r1", NEGOTIATE, shop) == "9e0545c39b1f4be804155c99a4d7b830"
    assert _body_hash("r1", c.AcceptNegotiation(), buyer) == "ae674835280571744b288496b2c6bd1c"
    assert _body_hash("r1", None, Actor(Role.PLATFORM, "ops")) == (
        "08c162d9ea496b7412aabc6a598e176a"
    )
