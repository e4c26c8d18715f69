"""Idempotency results as references (issue 12, item 2), over gRPC: a key keeps the version
its call made, not a copy of the record. A retry while the request is still at that version
gets the first reply byte for byte; once the request moved on (or left Redis), the retry is
told the call took effect (``IDEMPOTENT_CALL_SUPERSEDED``, with the version and event it
made) and changes nothing. Results stored in the earlier forms (the record blob ``d``, the
previous release's flat ``r``) still replay their record."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2
from redis.asyncio import Redis

from service.archive.marks import ARCHIVED_FIELD, archived_mark
from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.codec import encode_record_object
from service.storage.keys import Keys
from service.storage.lifecycle import TerminalSweep
from tests.e2e.support import (
    Api,
    Party,
    applied,
    create_request,
    detail,
    key,
    localized,
    rpc_error,
    stamp,
    unique,
)
from tests.unit.zh_scan import stray_english

SERVICE = "/aftersale.v1.AfterSaleService/"


def _raw(channel: grpc.aio.Channel, rpc: str, party: Party) -> Any:
    """``rpc`` as ``party``, answering the reply's bytes as they came over the wire."""
    call = channel.unary_unary(
        SERVICE + rpc,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=None,
    )

    async def send(request: Any) -> bytes:
        reply: bytes = await call(request, metadata=party.metadata)
        return reply

    return send


def _contact(request_id: str, idempotency_key: str, at_ms: int) -> pb.RecordContactAttemptRequest:
    return pb.RecordContactAttemptRequest(
        request_id=request_id,
        idempotency_key=idempotency_key,
        channel=t.CONTACT_CHANNEL_PHONE,
        outcome=t.CONTACT_OUTCOME_NO_ANSWER,
        attempted_at=stamp(at_ms - 60_000),
        screenshots=["media/call.png"],
    )


async def _idempotency_hashes(redis: Redis, order_id: str) -> list[dict[Any, Any]]:
    found = []
    async for name in redis.scan_iter(match=f"*:idempotency:*:{order_id}:*", count=1_000):
        found.append(await redis.hgetall(name))
    return found


async def test_a_retry_gets_the_first_reply_byte_for_byte_and_the_key_holds_no_record(
    api: Api, channel: grpc.aio.Channel, redis: Redis
) -> None:
    buyer, order = api.buyer(unique("buyer")), unique("order")
    application = create_request(order_id=order, sku_id="sku-1", shop_id="shop-1", clock=api.clock)
    create = _raw(channel, "CreateAfterSale", buyer)
    contact = _raw(channel, "RecordContactAttempt", api.merchant("shop-1"))

    made = await create(application)
    made_again = await create(application)
    request_id = pb.CreateAfterSaleResponse.FromString(made).after_sale.request_id
    request = _contact(request_id, key(), api.clock.now_ms())
    first = await contact(request)
    again = await contact(request)

    assert again == first and made_again == made
    assert pb.RecordContactAttemptResponse.FromString(again).after_sale.version == 2
    stored = await _idempotency_hashes(redis, order)
    assert sorted(sorted(h) for h in stored) == [["e", "h", "i", "v"], ["e", "h", "v"]]
    assert sorted(h["v"] for h in stored) == ["1", "2"]


async def test_a_retry_after_the_request_moved_on_is_told_the_call_took_effect(
    api: Api,
) -> None:
    req = await applied(api)
    request = _contact(req.request_id, key(), api.clock.now_ms())
    await req.merchant.RecordContactAttempt(request)
    await req.buyer.CancelAfterSale(_cancel(req.request_id))

    error = await rpc_error(req.merchant.RecordContactAttempt(request))

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    info = detail(error, error_details_pb2.ErrorInfo)
    history = await api.ops.GetHistory(pb.GetHistoryRequest(request_id=req.request_id))
    made = history.events[1]
    assert made.version == 2
    assert info.reason == "IDEMPOTENT_CALL_SUPERSEDED"
    assert dict(info.metadata) == {
        "idempotency_key": request.idempotency_key,
        "request_id": req.request_id,
        "version": "2",
        "event_id": made.event_id,
    }
    messages = localized(error)
    assert stray_english(messages["zh-CN"]) == [], messages["zh-CN"]
    assert (await req.view()).version == 3  # nothing written


async def test_another_body_under_a_superseded_key_is_still_refused_as_reused(api: Api) -> None:
    req = await applied(api)
    request = _contact(req.request_id, key(), api.clock.now_ms())
    await req.merchant.RecordContactAttempt(request)
    await req.buyer.CancelAfterSale(_cancel(req.request_id))
    request.screenshots.append("media/another.png")

    error = await rpc_error(req.merchant.RecordContactAttempt(request))

    assert detail(error, error_details_pb2.ErrorInfo).reason == "IDEMPOTENCY_KEY_REUSED"


async def test_a_retried_application_after_its_request_left_redis_is_told_it_took_effect(
    app: App, api: Api, redis: Redis
) -> None:
    buyer, order = api.buyer(unique("buyer")), unique("order")
    application = create_request(order_id=order, sku_id="sku-1", shop_id="shop-1", clock=api.clock)
    made = (await buyer.CreateAfterSale(application)).after_sale
    cancel = pb.CancelAfterSaleRequest(request_id=made.request_id, idempotency_key=key())
    cancelled = (await buyer.CancelAfterSale(cancel)).after_sale
    keys = Keys(app.settings.shards)
    archive = "5f0c1d2e-0000-4000-8000-000000000002"  # as if read from the archive
    archived = archived_mark(archive, cancelled.version)
    await redis.hset(keys.record(made.request_id), ARCHIVED_FIELD, archived)
    sweep = TerminalSweep(redis, keys, retention_ms=0)
    assert (await sweep.sweep(api.clock.now_ms(), archive=archive)).swept == 1

    error = await rpc_error(buyer.CreateAfterSale(application))

    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "IDEMPOTENT_CALL_SUPERSEDED"
    assert (info.metadata["request_id"], info.metadata["version"]) == (made.request_id, "1")
    assert await redis.hget(keys.line(order, "sku-1"), "attempts") == "1"  # not applied again


async def test_a_result_stored_as_a_record_blob_still_replays_that_record(
    app: App, api: Api, redis: Redis
) -> None:
    req = await applied(api)
    request = _contact(req.request_id, key(), api.clock.now_ms())
    first = await req.merchant.RecordContactAttempt(request)
    keys = Keys(app.settings.shards)
    stored = await app.handlers.repository.load(req.request_id)
    assert stored is not None
    [name] = [n async for n in redis.scan_iter(match=f"*:idempotency:*{request.idempotency_key}")]
    body_hash, event_id = await redis.hmget(name, ["h", "e"])
    await redis.delete(name)  # as the release before references wrote it: the blob itself
    blob = encode_record_object(stored)  # that release's object form
    await redis.hset(name, mapping={"h": body_hash or "", "d": blob, "e": event_id or ""})
    await req.buyer.CancelAfterSale(_cancel(req.request_id))
    assert await redis.hget(keys.record(req.request_id), "version") == "3"

    again = await req.merchant.RecordContactAttempt(request)

    assert again == first  # the record as that call left it, though the request moved on
    assert (await req.view()).version == 3


def _cancel(request_id: str) -> pb.CancelAfterSaleRequest:
    return pb.CancelAfterSaleRequest(request_id=request_id, idempotency_key=key())
