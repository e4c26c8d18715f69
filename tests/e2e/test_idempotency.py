"""What an idempotency key identifies (SPEC §8), over gRPC: a calling service's key on one
order, used by one actor. On that order a retry returns the first result and another body is
refused; on another order, or from another actor, the same key is another call, whichever
shard the orders live in."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.keys import Keys
from tests.e2e.support import Api, applied, create_request, key, reason_of, rpc_error, stamp, unique


async def test_a_key_used_on_one_order_is_a_new_call_on_another_in_the_same_shard_or_not(
    app: App, api: Api
) -> None:
    keys = Keys(app.settings.shards)
    first = unique("order")
    same_shard = _order_where(keys, lambda o: keys.shard_of_order(o) == keys.shard_of_order(first))
    other_shard = _order_where(keys, lambda o: keys.shard_of_order(o) != keys.shard_of_order(first))
    buyer, shared = api.buyer(unique("buyer")), key()

    made = [
        await buyer.CreateAfterSale(_application(api, order_id, shared))
        for order_id in (first, same_shard, other_shard)
    ]

    assert len({reply.after_sale.request_id for reply in made}) == 3
    assert [reply.after_sale.order_id for reply in made] == [first, same_shard, other_shard]


async def test_on_one_order_a_key_returns_its_first_result_and_refuses_another_body(
    api: Api,
) -> None:
    req = await applied(api)
    other_line = await req.buyer.CreateAfterSale(
        create_request(
            order_id=req.order_id, sku_id=unique("sku"), shop_id=req.shop_id, clock=api.clock
        )
    )
    shared = key()

    first = await req.buyer.CancelAfterSale(_cancel(req.request_id, shared))
    again = await req.buyer.CancelAfterSale(_cancel(req.request_id, shared))
    elsewhere = await rpc_error(
        req.buyer.CancelAfterSale(_cancel(other_line.after_sale.request_id, shared))
    )

    assert again.after_sale == first.after_sale
    assert elsewhere.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason_of(elsewhere) == "IDEMPOTENCY_KEY_REUSED"


async def test_the_shop_and_the_buyer_of_one_request_each_have_their_own_keys(api: Api) -> None:
    req = await applied(api)
    shared = key()
    await req.merchant.RecordContactAttempt(
        pb.RecordContactAttemptRequest(
            request_id=req.request_id,
            idempotency_key=shared,
            channel=t.CONTACT_CHANNEL_PHONE,
            outcome=t.CONTACT_OUTCOME_NO_ANSWER,
            attempted_at=stamp(api.clock.now_ms() - 60_000),
            screenshots=["media/call.png"],
        )
    )

    cancelled = await req.buyer.CancelAfterSale(_cancel(req.request_id, shared))

    assert cancelled.after_sale.version == 3
    assert cancelled.after_sale.state == t.AFTER_SALE_STATUS_USER_CANCELD


def _order_where(keys: Keys, wanted: Callable[[str], bool]) -> str:
    """A fresh order id for which ``wanted`` holds."""
    while not wanted(order_id := unique("order")):
        pass
    return order_id


def _application(api: Api, order_id: str, idempotency_key: str) -> pb.CreateAfterSaleRequest:
    request = create_request(order_id=order_id, sku_id="sku-1", shop_id="shop-1", clock=api.clock)
    request.idempotency_key = idempotency_key
    return request


def _cancel(request_id: str, idempotency_key: str) -> pb.CancelAfterSaleRequest:
    return pb.CancelAfterSaleRequest(request_id=request_id, idempotency_key=idempotency_key)
