"""Over gRPC: a request cannot grow without bound (SPEC §8), and a RETURN cannot exist without
the address the buyer ships to (SPEC §3)."""

from __future__ import annotations

import grpc

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import (
    Api,
    applied,
    create_request,
    key,
    reason_of,
    rpc_error,
    stamp,
    unique,
)


async def test_contact_attempts_stop_at_their_cap_with_a_reason(api: Api) -> None:
    req = await applied(api)

    def attempt() -> pb.RecordContactAttemptRequest:
        return pb.RecordContactAttemptRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            channel=t.CONTACT_CHANNEL_PHONE,
            outcome=t.CONTACT_OUTCOME_NO_ANSWER,
            attempted_at=stamp(api.clock.now_ms() - 60_000),
            screenshots=["media/call.png"] * 9,
        )

    for _ in range(10):
        await req.merchant.RecordContactAttempt(attempt())
    error = await rpc_error(req.merchant.RecordContactAttempt(attempt()))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "CONTACT_ATTEMPT_LIMIT"
    assert (await req.view()).version == 11


async def test_a_return_without_a_return_address_is_refused_at_creation(api: Api) -> None:
    request = create_request(
        order_id=unique("order"),
        sku_id=unique("sku"),
        shop_id=unique("shop"),
        clock=api.clock,
        type="AFTER_SALE_TYPE_RETURN",
    )
    request.ClearField("return_address")

    error = await rpc_error(api.buyer(unique("buyer")).CreateAfterSale(request))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "RETURN_ADDRESS_REQUIRED"
