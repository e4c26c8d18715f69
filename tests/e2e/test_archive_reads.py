"""Reads over gRPC do not care where a request is (SPEC §12): the service built with an
archive (a real PostgreSQL) answers a request archived and taken out of Redis with the same
reply bytes as before; GetShopStats answers a window from the archive; without an archive,
or with one that cannot be reached, the caller is told so."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.bootstrap import build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.keys import Keys
from tests.archive_rows import archive_from_redis, sweep
from tests.e2e.support import (
    Api,
    Party,
    create_request,
    detail,
    key,
    reason_of,
    rpc_error,
    stamp,
    unique,
)

DAY_S = 86_400


def settings_with(tmp_path: Path, archive_url: str | None) -> Settings:
    return Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        redis_max_connections=16,
        metrics_listen="127.0.0.1:0",
        archive_url=archive_url,
    )


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str, archive_db: asyncpg.Connection) -> Settings:
    return settings_with(tmp_path, postgres_url)


@asynccontextmanager
async def serving(settings: Settings, clock: FakeClock, redis: Redis) -> AsyncIterator[Api]:
    """The service built from ``settings``, serving, and its callers."""
    app = await build(settings, clock=clock, redis=redis)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.address) as channel:
            yield Api(channel, settings.tokens_path, clock)
    finally:
        await app.stop(grace_s=1.0)


async def refunded(api: Api, shop_id: str, buyer_id: str) -> t.AfterSale:
    """A request of ``shop_id`` applied for, approved and paid: MERCHANT_REFUND_SUCCESS."""
    request = create_request(
        order_id=unique("order"), sku_id="sku-1", shop_id=shop_id, clock=api.clock
    )
    made = (await api.buyer(buyer_id).CreateAfterSale(request)).after_sale
    rid = made.request_id
    approve = pb.ApproveAfterSaleRequest(request_id=rid, idempotency_key=key())
    approved = (await api.merchant(shop_id).ApproveAfterSale(approve)).after_sale
    report = pb.ReportRefundResultRequest(
        request_id=rid,
        idempotency_key=key(),
        refund_id=approved.refund.refund_id,
        result=t.REFUND_RESULT_SUCCEEDED,
    )
    paid: t.AfterSale = (await api.payment.ReportRefundResult(report)).after_sale
    return paid


async def everything_read(
    api: Api, party: Party, shop_id: str, ids: list[str], since: Timestamp
) -> list[bytes]:
    """The reply bytes of every read ``party`` can make of the shop's requests; a listing's
    sealed tokens differ per call (random nonces), so its pages are compared without them and
    walked with them."""
    replies: list[bytes] = []
    for rid in ids:
        replies.append(await _bytes(party.GetAfterSale(pb.GetAfterSaleRequest(request_id=rid))))
        for size, token in ((0, ""), (2, ""), (2, "2"), (1, "3")):
            history = pb.GetHistoryRequest(request_id=rid, page_size=size, page_token=token)
            replies.append(await _bytes(party.GetHistory(history)))
        allowed = pb.GetAllowedActionsRequest(request_id=rid)
        replies.append(await _bytes(party.GetAllowedActions(allowed)))
    for size, created_from in ((1, None), (2, None), (50, None), (1, since)):
        token = ""
        while True:
            page = await party.ListAfterSales(
                pb.ListAfterSalesRequest(
                    shop_id=shop_id, page_size=size, page_token=token, created_from=created_from
                )
            )
            token = page.next_page_token
            page.next_page_token = "more" if token else ""
            replies.append(page.SerializeToString(deterministic=True))
            if not token:
                break
    return replies


async def _bytes(call: Awaitable[Any]) -> bytes:
    reply = await call
    raw: bytes = reply.SerializeToString(deterministic=True)
    return raw


async def test_a_swept_request_answers_every_read_with_the_same_bytes(
    settings: Settings, clock: FakeClock, redis: Redis, archive_db: asyncpg.Connection
) -> None:
    shop, buyer = unique("shop"), unique("buyer")
    async with serving(settings, clock, redis) as api:
        made = []
        for _ in range(3):
            clock.advance(1_000)
            made.append(await refunded(api, shop, buyer))
        ids = [r.request_id for r in made]
        parties = [api.ops, api.merchant(shop), api.buyer(buyer)]
        since = made[1].created_at
        before = [await everything_read(api, party, shop, ids, since) for party in parties]
        keys = Keys(settings.shards)

        for rid in ids[:2]:
            record = await archive_from_redis(archive_db, redis, keys, rid)
            await sweep(redis, keys, record)
        await archive_from_redis(archive_db, redis, keys, ids[2])  # in both places

        assert not await redis.exists(keys.record(ids[0]), keys.record(ids[1]))
        after = [await everything_read(api, party, shop, ids, since) for party in parties]
        assert after == before


async def test_shop_figures_over_a_window_come_from_the_archive(
    settings: Settings, clock: FakeClock, redis: Redis, archive_db: asyncpg.Connection
) -> None:
    shop = unique("shop")
    async with serving(settings, clock, redis) as api:
        made = [await refunded(api, shop, unique("buyer")) for _ in range(2)]
        keys = Keys(settings.shards)
        for record in made:
            await archive_from_redis(archive_db, redis, keys, record.request_id)
        clock.advance(1_000)
        merchant = api.merchant(shop)
        all_time = await merchant.GetShopStats(pb.GetShopStatsRequest(shop_id=shop))

        month = await merchant.GetShopStats(
            pb.GetShopStatsRequest(shop_id=shop, window=Duration(seconds=30 * DAY_S))
        )

        assert month.stats == all_time.stats and month.stats.applications == 2
        assert month.window_end.ToMilliseconds() == clock.now_ms()
        assert month.window_start.ToMilliseconds() == clock.now_ms() - 30 * DAY_S * 1000
        assert not all_time.HasField("window_start") and not all_time.HasField("window_end")
        too_long = pb.GetShopStatsRequest(shop_id=shop, window=Duration(seconds=400 * DAY_S))
        error = await rpc_error(merchant.GetShopStats(too_long))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert detail(error, error_details_pb2.BadRequest).field_violations[0].field == "window"


async def test_a_window_without_an_archive_is_refused_naming_why(
    tmp_path: Path, clock: FakeClock, redis: Redis
) -> None:
    async with serving(settings_with(tmp_path, None), clock, redis) as api:
        ask = pb.GetShopStatsRequest(shop_id="shop-1", window=Duration(seconds=DAY_S))

        error = await rpc_error(api.merchant("shop-1").GetShopStats(ask))

        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(error) == "ARCHIVE_DISABLED"
        assert detail(error, error_details_pb2.ErrorInfo).metadata["field"] == "window"


async def test_an_unreachable_archive_is_unavailable_with_a_retry_delay_never_not_found(
    tmp_path: Path, clock: FakeClock, redis: Redis
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = settings_with(tmp_path, f"postgresql://postgres@127.0.0.1:{port}/postgres")
    async with serving(down, clock, redis) as api:  # starts although the archive is down
        shop = unique("shop")
        live = await refunded(api, shop, unique("buyer"))
        elsewhere = Keys(down.shards).new_request_id(unique("order"), clock.now_ms())
        reads: list[Callable[[], Awaitable[Any]]] = [
            lambda: api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=elsewhere)),
            lambda: api.ops.GetHistory(pb.GetHistoryRequest(request_id=elsewhere)),
            lambda: api.ops.ListAfterSales(pb.ListAfterSalesRequest(shop_id=shop)),
        ]

        got = await api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=live.request_id))

        assert got.after_sale == live  # live work is Redis's alone
        for read in reads:
            error = await rpc_error(read())
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert reason_of(error) == "ARCHIVE_UNAVAILABLE"
            delay = detail(error, error_details_pb2.RetryInfo).retry_delay
            assert delay.ToMilliseconds() == 1_000


async def test_a_time_range_that_ends_before_it_starts_is_bad_input(
    settings: Settings, clock: FakeClock, redis: Redis
) -> None:
    async with serving(settings, clock, redis) as api:
        ask = pb.ListAfterSalesRequest(
            shop_id="shop-1", created_from=stamp(2_000), created_before=stamp(2_000)
        )

        error = await rpc_error(api.merchant("shop-1").ListAfterSales(ask))

        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert detail(error, error_details_pb2.BadRequest).field_violations[0].field == (
            "created_before"
        )
