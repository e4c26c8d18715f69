"""Nobody reads or blocks what is not theirs (SPEC §8–§9), over gRPC: an idempotent replay
passes the authorization of the call it replays, a caller that may not see a request gets the
same refusal whether or not it exists (AIP-211), and headers that say who calls come once."""

from __future__ import annotations

import re
from typing import Any

import grpc
from google.rpc import error_details_pb2

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from tests.e2e.support import (
    Api,
    Party,
    Request,
    applied,
    create_request,
    detail,
    key,
    rich_status,
    rpc_error,
    unique,
)


async def test_a_replayed_key_shows_another_buyer_nothing(api: Api) -> None:
    mine = await applied(api)
    cancel = pb.CancelAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    await mine.buyer.CancelAfterSale(cancel)
    stranger = api.buyer(unique("buyer"))  # the same order-system token, another buyer

    error = await rpc_error(stranger.CancelAfterSale(cancel))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert mine.buyer_id not in str(error.details())
    assert "Example Road" not in str(error.details())


async def test_a_replayed_key_shows_another_shop_nothing(api: Api) -> None:
    mine = await applied(api)
    approve = pb.ApproveAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    await mine.merchant.ApproveAfterSale(approve)
    other_shop = api.merchant(unique("shop"))

    error = await rpc_error(other_shop.ApproveAfterSale(approve))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_same_party_replaying_its_key_gets_its_first_result(api: Api) -> None:
    mine = await applied(api)
    approve = pb.ApproveAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())

    first = await mine.merchant.ApproveAfterSale(approve)
    again = await mine.merchant.ApproveAfterSale(approve)

    assert again.after_sale == first.after_sale
    assert (await mine.view()).version == 2


async def test_a_buyer_cannot_tell_a_missing_request_from_anothers(api: Api) -> None:
    theirs = await applied(api)
    prober = api.buyer(unique("buyer"))
    missing_id = theirs.request_id[:-4] + "ZZZZ"

    existing = await rpc_error(
        prober.GetAfterSale(pb.GetAfterSaleRequest(request_id=theirs.request_id))
    )
    missing = await rpc_error(prober.GetAfterSale(pb.GetAfterSaleRequest(request_id=missing_id)))
    acting = await rpc_error(
        prober.CancelAfterSale(
            pb.CancelAfterSaleRequest(request_id=missing_id, idempotency_key=key())
        )
    )

    for error in (existing, missing, acting):
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        info = detail(error, error_details_pb2.ErrorInfo)
        assert info.reason == "NOT_YOUR_REQUEST"
    assert existing.details().replace(theirs.request_id, "X") == missing.details().replace(
        missing_id, "X"
    )


async def test_ops_still_learn_that_a_request_does_not_exist(api: Api) -> None:
    theirs = await applied(api)

    error = await rpc_error(
        api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=theirs.request_id[:-4] + "ZZZZ"))
    )

    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_header_that_says_who_calls_may_come_only_once(api: Api) -> None:
    mine = await applied(api)
    get = pb.GetAfterSaleRequest(request_id=mine.request_id)
    token = ("authorization", f"Bearer {api.order_token}")

    two_buyers = await rpc_error(
        api.as_(token, ("x-actor-id", unique("buyer")), ("x-actor-id", mine.buyer_id)).GetAfterSale(
            get
        )
    )
    two_tokens = await rpc_error(
        api.as_(("authorization", f"Bearer {api.ops_token}"), token).GetAfterSale(get)
    )

    assert two_buyers.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert detail(two_buyers, error_details_pb2.ErrorInfo).metadata["field"] == "x-actor-id"
    assert two_tokens.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_another_buyer_applying_on_a_line_is_denied_and_told_nothing_about_it(
    api: Api,
) -> None:
    mine = await applied(api)
    stranger = api.buyer(unique("buyer"))

    error = await rpc_error(stranger.CreateAfterSale(_same_line(api, mine)))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "NOT_YOUR_REQUEST"
    everything = str(rich_status(error)) + error.details()
    assert mine.request_id not in everything
    assert re.search(r"AS\d+-", everything) is None  # no request id at all
    assert mine.buyer_id not in everything


async def test_another_buyers_attempts_leave_the_line_and_its_five_attempts_to_its_buyer(
    api: Api,
) -> None:
    mine = await applied(api)  # attempt 1 of 5
    await _cancel(mine.buyer, mine.request_id)  # the line has no open request now
    stranger = api.buyer(unique("buyer"))

    tries = [await _apply_and_cancel(api, stranger, mine) for _ in range(5)]
    made = [mine.request_id]
    for _ in range(4):  # attempts 2..5, each after cancelling the open request
        made.append(await _apply_and_cancel(api, mine.buyer, mine))
    sixth = await rpc_error(mine.buyer.CreateAfterSale(_same_line(api, mine)))

    assert tries == [grpc.StatusCode.PERMISSION_DENIED] * 5
    assert len(set(made)) == 5
    assert sixth.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert detail(sixth, error_details_pb2.ErrorInfo).reason == "ATTEMPT_LIMIT"


async def _apply_and_cancel(api: Api, party: Party, req: Request) -> Any:
    """``party`` applies on ``req``'s line and cancels what it made: the new request's id, or
    the code of the refusal."""
    try:
        reply = await party.CreateAfterSale(_same_line(api, req))
    except grpc.aio.AioRpcError as refused:
        return refused.code()
    await _cancel(party, reply.after_sale.request_id)
    return reply.after_sale.request_id


async def _cancel(party: Party, request_id: str) -> None:
    await party.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=request_id, idempotency_key=key())
    )


def _same_line(api: Api, req: Request) -> pb.CreateAfterSaleRequest:
    """An application on ``req``'s order line, under a fresh idempotency key."""
    return create_request(
        order_id=req.order_id, sku_id=req.sku_id, shop_id=req.shop_id, clock=api.clock
    )
