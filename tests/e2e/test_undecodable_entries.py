"""One bad stored entry never stalls a reader (over gRPC): WatchTransitions delivers the events
after a garbage stream entry (live and on resume), GetHistory and ListAfterSales return the
others, and the skip is counted. Reading the broken record itself is DATA_LOSS naming it, and
only to whom may see it: anyone else gets the refusal of a hidden request (AIP-211)."""

from __future__ import annotations

import grpc
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.observability.undecodable import Reader
from service.storage.keys import Keys
from tests.e2e.support import (
    Api,
    Request,
    applied,
    create_request,
    key,
    localized,
    reason_of,
    rpc_error,
    unique,
)
from tests.e2e.test_watch import events

GARBAGE = {"request_id": "AS00-forged", "version": "x", "action": "explode"}


def skipped(reader: Reader) -> float:
    value = REGISTRY.get_sample_value("aftersale_undecodable_entries_total", {"reader": reader})
    return value or 0.0


def keys_of(app: App) -> Keys:
    return Keys(app.settings.shards)


async def garbage_in_stream_of(app: App, redis: Redis, req: Request) -> None:
    shard = keys_of(app).shard_of_request(req.request_id)
    await redis.xadd(keys_of(app).events(shard), GARBAGE)  # type: ignore[arg-type]


async def cancel(req: Request) -> None:
    await req.buyer.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )


async def test_a_watch_delivers_the_events_after_an_undecodable_entry(
    api: Api, app: App, redis: Redis
) -> None:
    req = await applied(api)
    await garbage_in_stream_of(app, redis, req)
    await cancel(req)
    before = skipped("stream")

    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    got = await events(stream, 2)
    stream.cancel()

    assert [(m.event.request_id, m.event.version) for m in got] == [
        (req.request_id, 1),
        (req.request_id, 2),
    ]
    assert skipped("stream") - before >= 1


async def test_a_resumed_watch_reads_past_an_undecodable_entry(
    api: Api, app: App, redis: Redis
) -> None:
    req = await applied(api)
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    cursor = (await events(stream, 1))[0].cursor
    stream.cancel()
    await garbage_in_stream_of(app, redis, req)
    await cancel(req)

    resumed = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=cursor))
    after = await events(resumed, 1)
    resumed.cancel()

    assert [(m.event.request_id, m.event.version) for m in after] == [(req.request_id, 2)]


async def test_get_history_returns_the_events_around_an_undecodable_row(
    api: Api, app: App, redis: Redis
) -> None:
    req = await applied(api)
    await redis.rpush(keys_of(app).history(req.request_id), "{not json")
    await cancel(req)
    before = skipped("history")

    reply = await req.buyer.GetHistory(pb.GetHistoryRequest(request_id=req.request_id))

    assert [e.version for e in reply.events] == [1, 2]
    assert skipped("history") - before == 1


async def test_a_list_page_returns_the_other_requests_of_an_undecodable_one(
    api: Api, app: App, redis: Redis
) -> None:
    shop_id = unique("shop")
    created = []
    for _ in range(3):
        request = create_request(
            order_id=unique("order"), sku_id=unique("sku"), shop_id=shop_id, clock=api.clock
        )
        created.append((await api.buyer(unique("buyer")).CreateAfterSale(request)).after_sale)
    await redis.hset(keys_of(app).record(created[1].request_id), "d", "garbage")
    before = skipped("record")

    page = await api.merchant(shop_id).ListAfterSales(pb.ListAfterSalesRequest(shop_id=shop_id))

    assert {r.request_id for r in page.after_sales} == {
        created[0].request_id,
        created[2].request_id,
    }
    assert skipped("record") - before == 1


async def test_reading_an_undecodable_record_is_data_loss_naming_it_without_internals(
    api: Api, app: App, redis: Redis
) -> None:
    req = await applied(api)
    await redis.hset(keys_of(app).record(req.request_id), "d", "garbage")

    error = await rpc_error(api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=req.request_id)))

    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert reason_of(error) == "RECORD_UNREADABLE"
    assert req.request_id in error.details()
    assert "garbage" not in error.details() and "Error" not in error.details()
    assert set(localized(error)) == {"en-US", "zh-CN"}


async def test_an_undecodable_record_is_data_loss_to_its_buyer_and_hidden_from_others(
    api: Api, app: App, redis: Redis
) -> None:
    req = await applied(api)
    blob = f'{{"buyer_id":"{req.buyer_id}","shop_id":"{req.shop_id}","state":"NO_SUCH_STATE"}}'
    await redis.hset(keys_of(app).record(req.request_id), "d", blob)
    get = pb.GetAfterSaleRequest(request_id=req.request_id)

    own = await rpc_error(req.buyer.GetAfterSale(get))
    other = await rpc_error(api.buyer(unique("buyer")).GetAfterSale(get))
    write = await rpc_error(
        api.buyer(unique("buyer")).CancelAfterSale(
            pb.CancelAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
        )
    )

    assert own.code() == grpc.StatusCode.DATA_LOSS
    assert other.code() == write.code() == grpc.StatusCode.PERMISSION_DENIED
