"""SPEC §9 over gRPC: who may call what, on whose requests, and what reads show."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from service.api.auth import METHOD_ROLES
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import (
    Api,
    Party,
    applied,
    bad_field,
    detail,
    key,
    localized,
    reason_of,
    rpc_error,
)
from tests.unit.zh_scan import stray_english

SERVICE = pb.DESCRIPTOR.services_by_name["AfterSaleService"]
ROLES = ("BUYER", "MERCHANT", "PAYMENT", "PLATFORM")


def caller(api: Api, role: str) -> Party:
    return {
        "BUYER": lambda: api.buyer("buyer-x"),
        "MERCHANT": lambda: api.merchant("shop-x"),
        "PAYMENT": lambda: api.payment,
        "PLATFORM": lambda: api.ops,
    }[role]()


async def call(party: Party, rpc: str, request: Any) -> Any:
    """Unary: the response. Streaming: the first message."""
    if SERVICE.methods_by_name[rpc].server_streaming:
        stream = party.WatchTransitions(request)
        try:
            return await stream.read()
        finally:
            stream.cancel()
    return await getattr(party, rpc)(request)


def test_every_rpc_has_a_role_entry() -> None:
    services = (SERVICE, sp.DESCRIPTOR.services_by_name["SubscriptionService"])
    assert set(METHOD_ROLES) == {name for s in services for name in s.methods_by_name}


@pytest.mark.parametrize(
    ("rpc", "role"),
    [
        (rpc, role)
        for rpc in sorted(SERVICE.methods_by_name)  # SubscriptionService: test_subscriptions
        for role in ROLES
        if role not in {r.value for r in METHOD_ROLES[rpc]}
    ],
)
async def test_a_role_outside_an_rpcs_table_is_permission_denied(
    api: Api, rpc: str, role: str
) -> None:
    request = pb.DESCRIPTOR.message_types_by_name[SERVICE.methods_by_name[rpc].input_type.name]
    message = getattr(pb, request.name)()

    error = await rpc_error(call(caller(api, role), rpc, message))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, (rpc, role, error.details())
    assert reason_of(error) in ("ROLE_NOT_ALLOWED", "TOKEN_ROLE_NOT_HELD")
    assert stray_english(localized(error)["zh-CN"]) == [], localized(error)


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ((), "TOKEN_MISSING"),
        ((("authorization", "Bearer not-a-token-of-ours-at-all"),), "TOKEN_INVALID"),
        ((("authorization", "Basic dXNlcjpwYXNz"),), "TOKEN_MISSING"),
        ((("authorization", "Bearer "),), "TOKEN_MISSING"),
    ],
)
async def test_no_or_bad_token_is_unauthenticated(
    api: Api, metadata: tuple[tuple[str, str], ...], reason: str
) -> None:
    anonymous = api.as_(*metadata, ("x-actor-role", "PLATFORM"))

    unary = await rpc_error(anonymous.ListRejectReasons(pb.ListRejectReasonsRequest()))
    stream = await rpc_error(call(anonymous, "WatchTransitions", pb.WatchTransitionsRequest()))

    for error in (unary, stream):
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(error) == reason
        assert stray_english(localized(error)["zh-CN"]) == [], localized(error)


async def test_a_token_cannot_speak_for_a_role_it_does_not_hold(api: Api) -> None:
    ops_as_buyer = api.as_(
        ("authorization", f"Bearer {api.ops_token}"),
        ("x-actor-role", "BUYER"),
        ("x-actor-id", "buyer-1"),
    )

    error = await rpc_error(ops_as_buyer.ListAfterSales(pb.ListAfterSalesRequest()))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "TOKEN_ROLE_NOT_HELD"
    assert "request_id" not in detail(error, error_details_pb2.ErrorInfo).metadata
    assert stray_english(localized(error)["zh-CN"]) == [], localized(error)


async def test_the_acting_ids_are_required_and_checked(api: Api) -> None:
    token = ("authorization", f"Bearer {api.order_token}")
    proof = pb.SubmitProofRequest(request_id="AS01-X", idempotency_key=key())

    ambiguous = await rpc_error(api.as_(token).SubmitProof(proof))
    no_buyer = await rpc_error(
        api.as_(token, ("x-actor-role", "BUYER")).GetAfterSale(pb.GetAfterSaleRequest())
    )
    bad_shop = await rpc_error(
        api.as_(token, ("x-shop-id", "shop 1!")).GetShopStats(pb.GetShopStatsRequest())
    )

    assert bad_field(ambiguous) == "x-actor-role"
    assert bad_field(no_buyer) == "x-actor-id"
    assert bad_field(bad_shop) == "x-shop-id"


async def test_a_buyer_cannot_act_on_or_read_another_buyers_request(api: Api) -> None:
    req = await applied(api)
    other = api.buyer("someone-else")

    cancel = await rpc_error(
        other.CancelAfterSale(
            pb.CancelAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
        )
    )
    read = await rpc_error(other.GetAfterSale(pb.GetAfterSaleRequest(request_id=req.request_id)))
    history = await rpc_error(other.GetHistory(pb.GetHistoryRequest(request_id=req.request_id)))

    for error in (cancel, read, history):
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await req.view()).version == 1


async def test_a_merchant_cannot_act_on_another_shops_request(api: Api) -> None:
    req = await applied(api)

    error = await rpc_error(
        api.merchant("shop-y").ApproveAfterSale(
            pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
        )
    )
    stats = await rpc_error(
        api.merchant("shop-y").GetShopStats(pb.GetShopStatsRequest(shop_id=req.shop_id))
    )

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert detail(error, error_details_pb2.ErrorInfo).metadata["request_id"] == req.request_id
    assert stats.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await req.view()).version == 1


async def test_payment_may_not_approve_and_a_buyer_may_not_use_ops_rpcs(api: Api) -> None:
    req = await applied(api)

    approve = await rpc_error(
        api.payment.ApproveAfterSale(
            pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
        )
    )
    fire = await rpc_error(
        req.buyer.FireTimer(pb.FireTimerRequest(request_id=req.request_id, idempotency_key=key()))
    )
    intervene = await rpc_error(
        req.buyer.InterveneAfterSale(
            pb.InterveneAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
        )
    )

    for error in (approve, fire, intervene):
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await req.view()).version == 1


async def test_payment_reads_only_requests_that_have_a_refund(api: Api) -> None:
    req = await applied(api)
    get = pb.GetAfterSaleRequest(request_id=req.request_id)

    before = await rpc_error(api.payment.GetAfterSale(get))
    await req.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )
    paying = await api.payment.GetAfterSale(get)

    assert before.code() == grpc.StatusCode.PERMISSION_DENIED
    assert paying.after_sale.request_id == req.request_id  # payment reads what it refunds


async def test_lists_show_each_caller_only_what_it_may_see(api: Api) -> None:
    mine = await applied(api)
    theirs = await applied(api)

    as_buyer = await mine.buyer.ListAfterSales(pb.ListAfterSalesRequest())
    as_merchant = await theirs.merchant.ListAfterSales(pb.ListAfterSalesRequest())
    as_ops = await api.ops.ListAfterSales(pb.ListAfterSalesRequest(order_id=theirs.order_id))
    prying = await rpc_error(
        mine.buyer.ListAfterSales(pb.ListAfterSalesRequest(buyer_id=theirs.buyer_id))
    )

    assert [r.request_id for r in as_buyer.after_sales] == [mine.request_id]
    assert [r.request_id for r in as_merchant.after_sales] == [theirs.request_id]
    assert [r.request_id for r in as_ops.after_sales] == [theirs.request_id]
    assert prying.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_allowed_actions_for_another_role_is_for_ops_only(api: Api) -> None:
    req = await applied(api)
    ask_for_merchant = pb.GetAllowedActionsRequest(request_id=req.request_id, role=t.ROLE_MERCHANT)

    denied = await rpc_error(req.buyer.GetAllowedActions(ask_for_merchant))
    for_ops = await api.ops.GetAllowedActions(ask_for_merchant)

    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    allowed = {a.action for a in for_ops.allowed}
    assert {t.ACTION_APPROVE, t.ACTION_NEGOTIATE} <= allowed
    assert for_ops.version == 1


async def test_watch_shows_a_buyer_only_their_own_requests(api: Api) -> None:
    mine = await applied(api)
    theirs = await applied(api)
    await theirs.buyer.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=theirs.request_id, idempotency_key=key())
    )
    await mine.buyer.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    )
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))

    seen: list[t.TransitionEvent] = []
    try:
        while len(seen) < 2:
            message = await asyncio.wait_for(stream.read(), timeout=10)
            if message.HasField("event"):
                seen.append(message.event)
    finally:
        stream.cancel()
    prying = await rpc_error(
        call(theirs.merchant, "WatchTransitions", pb.WatchTransitionsRequest(shop_id=mine.shop_id))
    )

    assert [(e.request_id, e.version) for e in seen] == [(mine.request_id, 1), (mine.request_id, 2)]
    assert prying.code() == grpc.StatusCode.PERMISSION_DENIED
