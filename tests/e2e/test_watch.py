"""WatchTransitions over gRPC (SPEC §7): every transition in order, resumable from any cursor
with no gap and no duplicate, and a stream that ends frees its Redis connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from redis.asyncio import Redis

from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.stream import StreamCursor
from tests.e2e.support import Api, Request, applied, key

READ_TIMEOUT_S = 10.0


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Wait for something another process does (the server noticing a cancel); no timers."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def events(stream: Any, count: int) -> list[pb.WatchTransitionsResponse]:
    """The next ``count`` messages that carry an event (keep-alives skipped)."""
    got: list[pb.WatchTransitionsResponse] = []
    while len(got) < count:
        message = await asyncio.wait_for(stream.read(), timeout=READ_TIMEOUT_S)
        assert message is not grpc.aio.EOF, f"stream ended after {len(got)} events"
        if message.HasField("event"):
            got.append(message)
    return got


def position(app: App, caller: tuple[str, str, str], cursor: str) -> StreamCursor:
    """Where a cursor the service sealed for ``caller`` stands (the test holds the key)."""
    assert app.sealer is not None
    return StreamCursor.from_bytes(app.sealer.open("cursor", caller, cursor), app.settings.shards)


async def first_half(api: Api) -> Request:
    """apply → negotiate → buyer rejects it → merchant rejects the request (4 versions)."""
    req = await applied(api)
    await req.merchant.SendNegotiation(
        pb.SendNegotiationRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            kind=t.NEGOTIATION_KIND_MODIFY_APPLICATION,
            option=t.NEGOTIATION_OPTION_AMOUNT_ONLY,
            proposed_amount=6_000,
            images=["media/chat.png"],
        )
    )
    await req.buyer.RejectNegotiation(
        pb.RejectNegotiationRequest(request_id=req.request_id, idempotency_key=key())
    )
    await req.merchant.RejectAfterSale(
        pb.RejectAfterSaleRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            reject_reason=t.REJECT_REASON_AMOUNT_DISAGREEMENT,
            images=["media/chat.png"],
        )
    )
    return req


async def second_half(req: Request) -> None:
    """escalate → platform rules for the buyer → refund paid (3 more versions)."""
    await req.buyer.EscalateAfterSale(
        pb.EscalateAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )
    resolved = await req.api.ops.ResolveDispute(
        pb.ResolveDisputeRequest(
            request_id=req.request_id, idempotency_key=key(), verdict=t.VERDICT_MERCHANT_LIABLE
        )
    )
    await req.api.payment.ReportRefundResult(
        pb.ReportRefundResultRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            refund_id=resolved.after_sale.refund.refund_id,
            result=t.REFUND_RESULT_SUCCEEDED,
        )
    )


async def history(req: Request) -> list[tuple[int, int]]:
    reply = await req.api.ops.GetHistory(pb.GetHistoryRequest(request_id=req.request_id))
    return [(e.version, e.action) for e in reply.events]


async def test_a_subscriber_gets_every_transition_of_a_flow_in_order(api: Api) -> None:
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    req = await first_half(api)
    await second_half(req)

    got = await events(stream, 7)
    stream.cancel()

    assert [(m.event.version, m.event.action) for m in got] == await history(req)
    assert got[-1].event.to_state == t.AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS
    assert all(m.cursor for m in got)
    assert len({m.event.event_id for m in got}) == 7


async def test_a_subscriber_resumes_from_its_last_cursor_with_no_gap_and_no_duplicate(
    api: Api,
) -> None:
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    req = await first_half(api)
    before = await events(stream, 2)
    stream.cancel()  # disconnects after version 2; versions 3 and 4 are already committed

    await second_half(req)
    resumed = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=before[-1].cursor))
    after = await events(resumed, 5)
    resumed.cancel()

    seen = [(m.event.version, m.event.action) for m in (*before, *after)]
    assert seen == await history(req)


async def test_a_merchant_stream_is_narrowed_to_its_shop(api: Api) -> None:
    other = await applied(api)
    mine = await applied(api)
    stream = mine.merchant.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))

    got = await events(stream, 1)
    await mine.buyer.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    )
    got += await events(stream, 1)
    stream.cancel()

    assert {m.event.shop_id for m in got} == {mine.shop_id} != {other.shop_id}
    assert [m.event.action for m in got] == [t.ACTION_APPLY, t.ACTION_CANCEL]


async def xread_clients(redis: Redis) -> int:
    clients = await redis.client_list()
    return sum(1 for c in clients if c.get("cmd") == "xread" and "b" in c.get("flags", ""))


async def test_cancelling_a_stream_frees_its_redis_connection(
    api: Api, app: App, redis: Redis
) -> None:
    await applied(api)
    baseline = len(await redis.client_list())

    for _ in range(5):
        stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
        await events(stream, 1)
        await eventually(lambda: _equals(xread_clients(redis), 1))
        stream.cancel()
        await eventually(lambda: _equals(xread_clients(redis), 0))

    assert app.watch is not None
    await eventually(lambda: _true(app.watch is not None and app.watch.open_streams == 0))
    assert len(await redis.client_list()) <= baseline + 1  # at most one pooled for reuse


async def test_stopping_the_server_ends_open_streams_cleanly(api: Api, app: App) -> None:
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    await applied(api)
    await events(stream, 1)

    await app.stop(grace_s=5.0)

    assert await asyncio.wait_for(stream.read(), READ_TIMEOUT_S) is grpc.aio.EOF
    assert await stream.code() == grpc.StatusCode.OK


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _true(value: bool) -> bool:
    return value


async def keep_alives_until(
    stream: Any, moved: Callable[[pb.WatchTransitionsResponse], bool]
) -> pb.WatchTransitionsResponse:
    """The first keep-alive for which ``moved`` holds (events fail the test)."""
    while True:
        message: pb.WatchTransitionsResponse = await asyncio.wait_for(
            stream.read(), timeout=READ_TIMEOUT_S
        )
        assert message is not grpc.aio.EOF and not message.HasField("event"), message
        if moved(message):
            return message


async def test_a_keep_alive_moves_the_cursor_past_events_the_caller_cannot_see(
    api: Api, app: App
) -> None:
    assert app.watch is not None
    app.watch.keepalive_s = 0.05  # time between keep-alives (wall clock, not domain time)
    mine = await applied(api)
    buyer = ("order-system", "BUYER", mine.buyer_id)
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    own = position(app, buyer, (await events(stream, 1))[0].cursor)
    await applied(api)  # another buyer's request: invisible to this one

    keep_alive = await keep_alives_until(stream, lambda m: position(app, buyer, m.cursor) != own)
    stream.cancel()
    await mine.buyer.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    )
    resumed = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(cursor=keep_alive.cursor))
    after = await events(resumed, 1)
    resumed.cancel()

    assert [(m.event.request_id, m.event.version) for m in after] == [(mine.request_id, 2)]


async def test_keep_alives_come_on_a_clock_whether_or_not_anything_passed(
    api: Api, app: App
) -> None:
    assert app.watch is not None
    app.watch.keepalive_s = 0.05
    mine = await applied(api)
    buyer = ("order-system", "BUYER", mine.buyer_id)
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    own = position(app, buyer, (await events(stream, 1))[0].cursor)

    quiet = [await keep_alives_until(stream, lambda m: True) for _ in range(3)]  # nothing new
    stream.cancel()

    assert [position(app, buyer, m.cursor) for m in quiet] == [own] * 3
    assert len({m.cursor for m in quiet}) == 3  # sealed afresh: alike positions look unalike
