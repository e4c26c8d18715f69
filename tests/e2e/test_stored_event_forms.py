"""Callers cannot tell which form an event is stored in: GetHistory replies byte for byte the
same once every row is rewritten in the previous release's form, and WatchTransitions sends
the same event for an entry of either form (to ops, and to the payment service, which sees the
events of requests with a refund)."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.decoding import event_from_fields, stored_event
from service.storage.keys import Keys
from tests.e2e.support import Api
from tests.e2e.test_watch import events, first_half, second_half
from tests.previous_event_form import previous_entry, previous_row


async def test_get_history_replies_the_same_bytes_for_rows_of_the_previous_form(
    api: Api, app: App, redis: Redis
) -> None:
    req = await first_half(api)
    await second_half(req)
    ask = pb.GetHistoryRequest(request_id=req.request_id)
    before = await req.api.ops.GetHistory(ask)
    history = Keys(app.settings.shards).history(req.request_id)
    rows = [stored_event(str(row)) for row in await redis.lrange(history, 0, -1)]
    for i, stored in enumerate(rows):
        await redis.lset(history, i, previous_row(stored.event, stored.event_id))

    after = await req.api.ops.GetHistory(ask)

    assert len(before.events) == 7
    assert all(str(row).startswith('{"event_id"') for row in await redis.lrange(history, 0, -1))
    assert after.SerializeToString(deterministic=True) == before.SerializeToString(
        deterministic=True
    )


async def test_watch_sends_the_same_event_for_an_entry_of_either_form(
    api: Api, app: App, redis: Redis
) -> None:
    req = await first_half(api)
    await second_half(req)
    keys = Keys(app.settings.shards)
    stream = keys.events(keys.shard_of_request(req.request_id))
    entries: list[Any] = list(await redis.xrange(stream) or [])
    ours = [event_from_fields(f) for _, f in entries if req.request_id in f.get("event", "")]
    for event in ours:  # the same events again, as the previous release wrote them
        await redis.xadd(stream, previous_entry(event))  # type: ignore[arg-type]
    order = pb.WatchTransitionsRequest(from_oldest=True, order_id=req.order_id)

    as_ops = await watched(api.ops, order, 14)
    as_payment = await watched(api.payment, order, 4)

    assert len(ours) == 7
    assert as_ops[:7] == as_ops[7:]
    assert as_payment[:2] == as_payment[2:]  # resolve_dispute, refund_succeeded: either form


async def watched(party: Any, request: pb.WatchTransitionsRequest, count: int) -> list[bytes]:
    """The events ``party`` is sent, each without its id (the two copies' ids differ)."""
    stream = party.WatchTransitions(request)
    try:  # keep-alives would wait for ever for an event that is never sent
        got = await asyncio.wait_for(events(stream, count), timeout=20)
    finally:
        stream.cancel()
    out = []
    for message in got:
        message.event.event_id = ""
        out.append(message.event.SerializeToString(deterministic=True))
    return out
