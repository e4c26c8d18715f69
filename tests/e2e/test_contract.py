"""The contract says what the server does (issue 13 §2), through the API: the filled merchant
message, the operator who fired a timer early, a return address carried by a plan that makes
the request a RETURN, and the catalogue's kind titles."""

from __future__ import annotations

import grpc

from aftersale.guide import KIND_TEXTS, OPTION_TEXTS
from aftersale.vocabulary import NegotiationKind, NegotiationOption
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import (
    Api,
    Request,
    applied,
    create_request,
    key,
    reason_of,
    rpc_error,
    unique,
)

ADDRESS = t.ReturnAddress(contact_name="Shop", contact_phone="0571-1", address="2 Example Road")
IMAGE = ["media/chat.png"]


def _plan(request_id: str, **fields: object) -> pb.SendNegotiationRequest:
    return pb.SendNegotiationRequest(
        request_id=request_id,
        idempotency_key=key(),
        kind=t.NEGOTIATION_KIND_MODIFY_APPLICATION,
        option=t.NEGOTIATION_OPTION_NEW_PLAN_AGREED,
        proposed_type=t.AFTER_SALE_TYPE_RETURN,
        images=IMAGE,
        **fields,  # type: ignore[arg-type]
    )


async def _refund_without_address(api: Api) -> Request:
    order_id, sku_id, shop_id, buyer_id = (unique(p) for p in ("order", "sku", "shop", "buyer"))
    request = create_request(order_id=order_id, sku_id=sku_id, shop_id=shop_id, clock=api.clock)
    request.ClearField("return_address")
    buyer = api.buyer(buyer_id)
    reply = await buyer.CreateAfterSale(request)
    request_id = reply.after_sale.request_id
    merchant = api.merchant(shop_id)
    return Request(api, request_id, order_id, sku_id, shop_id, buyer_id, buyer, merchant)


async def test_a_negotiation_shows_the_filled_message_and_keeps_the_merchants_own_text(
    api: Api,
) -> None:
    req = await applied(api)
    ask = pb.SendNegotiationRequest(
        request_id=req.request_id,
        idempotency_key=key(),
        kind=t.NEGOTIATION_KIND_INVITE_VERIFY,
        option=t.NEGOTIATION_OPTION_EVIDENCE_UNCLEAR,
        message="请补拍商品背面。",
    )

    sent = await req.merchant.SendNegotiation(ask)

    template = OPTION_TEXTS[NegotiationOption.EVIDENCE_UNCLEAR].message_zh
    negotiation = (await req.view()).negotiation
    assert sent.after_sale.negotiation.message == f"{template}\n请补拍商品背面。"
    assert negotiation.message == f"{template}\n请补拍商品背面。"
    assert negotiation.merchant_message == "请补拍商品背面。"


async def test_an_operators_fire_timer_is_recorded_with_who_forced_it(api: Api) -> None:
    req = await applied(api)

    await api.ops.FireTimer(pb.FireTimerRequest(request_id=req.request_id, idempotency_key=key()))

    history = await api.ops.GetHistory(pb.GetHistoryRequest(request_id=req.request_id))
    fired = history.events[-1]
    assert fired.action == t.ACTION_MERCHANT_TIMEOUT
    assert (fired.actor.role, fired.actor.id) == (t.ROLE_SYSTEM, "timer")
    assert (fired.forced_by.role, fired.forced_by.id) == (t.ROLE_PLATFORM, "ops-1")
    assert not history.events[0].HasField("forced_by")  # the application: nobody forced it


async def test_a_plan_that_makes_a_refund_a_return_carries_the_return_address(api: Api) -> None:
    req = await _refund_without_address(api)

    missing = await rpc_error(req.merchant.SendNegotiation(_plan(req.request_id)))
    sent = await req.merchant.SendNegotiation(_plan(req.request_id, return_address=ADDRESS))
    accepted = await req.buyer.AcceptNegotiation(
        pb.AcceptNegotiationRequest(request_id=req.request_id, idempotency_key=key())
    )

    assert missing.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(missing) == "RETURN_ADDRESS_REQUIRED"
    assert sent.after_sale.state == t.AFTER_SALE_STATUS_USER_WAIT_CONFIRM_UPDATE
    assert accepted.after_sale.state == t.AFTER_SALE_STATUS_USER_WAIT_RETURN
    assert accepted.after_sale.type == t.AFTER_SALE_TYPE_RETURN
    assert "2 Example Road" in str(accepted.after_sale.return_address)


async def test_the_negotiation_catalogue_titles_every_kind(api: Api) -> None:
    reply = await api.ops.ListNegotiationOptions(pb.ListNegotiationOptionsRequest())

    for option in reply.options:
        kind = NegotiationKind(
            t.NegotiationKind.Name(option.kind).removeprefix("NEGOTIATION_KIND_")
        )
        assert option.kind_title_zh == KIND_TEXTS[kind].title_zh
        assert option.kind_title_en == KIND_TEXTS[kind].title_en
    assert {o.kind_title_zh for o in reply.options} == {
        "修改买家售后申请",
        "邀请买家核实与补充凭证",
        "已协商一致,邀请买家取消售后",
    }
