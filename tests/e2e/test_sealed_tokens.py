"""Cursors and list page tokens are sealed (SPEC §9): they tell a caller nothing it may not
see (other tenants' commit times, ids of others' requests), and only the caller they were
issued to, for the same listing, can use them; a forged or tampered one is INVALID_ARGUMENT."""

from __future__ import annotations

import asyncio
import base64
import zlib
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.exceptions import InvalidInput
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.listing import decode_page_token
from service.storage.stream import StreamCursor
from tests.e2e.support import Api, Party, applied, bad_field, create_request, key, rpc_error, unique
from tests.e2e.test_watch import READ_TIMEOUT_S, events


def unsealed_bytes(token: str) -> bytes:
    """What a client can get out of a token without the key: its base64, and any zlib."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    try:
        return raw + zlib.decompress(raw)
    except zlib.error:
        return raw


async def shop_with_requests(api: Api, count: int) -> tuple[str, Party]:
    """A fresh shop with ``count`` requests from fresh buyers; the shop's merchant."""
    shop_id = unique("shop")
    for _ in range(count):
        request = create_request(
            order_id=unique("order"), sku_id=unique("sku"), shop_id=shop_id, clock=api.clock
        )
        await api.buyer(unique("buyer")).CreateAfterSale(request)
    return shop_id, api.merchant(shop_id)


async def test_a_buyers_keep_alive_cursor_tells_nothing_of_another_tenants_commits(
    api: Api, app: App
) -> None:
    assert app.watch is not None
    app.watch.keepalive_s = 0.05
    mine = await applied(api)
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    await events(stream, 1)
    other = await applied(api)  # another buyer's request: its commit time is not mine to know
    other_history = await api.ops.GetHistory(pb.GetHistoryRequest(request_id=other.request_id))
    other_id = other_history.events[0].event_id

    keep_alive = await asyncio.wait_for(stream.read(), timeout=READ_TIMEOUT_S)
    stream.cancel()

    assert not keep_alive.HasField("event")
    assert other_id.split("-")[0].encode() not in unsealed_bytes(keep_alive.cursor)
    with pytest.raises(InvalidInput):
        StreamCursor.decode(keep_alive.cursor, app.settings.shards)


async def test_a_cursor_issued_to_one_buyer_is_invalid_argument_for_another(api: Api) -> None:
    mine = await applied(api)
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    cursor = (await events(stream, 1))[0].cursor
    stream.cancel()
    other = await applied(api)

    resumed = other.buyer.WatchTransitions(pb.WatchTransitionsRequest(cursor=cursor))
    error = await rpc_error(resumed.read())

    assert bad_field(error) == "cursor"


async def test_a_cursor_in_storages_own_form_is_invalid_argument(api: Api, app: App) -> None:
    forged = StreamCursor.start(app.settings.shards).encode()  # "from the oldest", unsealed

    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=forged))
    error = await rpc_error(stream.read())

    assert bad_field(error) == "cursor"


async def test_a_tampered_cursor_is_invalid_argument(api: Api) -> None:
    mine = await applied(api)
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    cursor = (await events(stream, 1))[0].cursor
    stream.cancel()
    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]

    resumed = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(cursor=tampered))
    error = await rpc_error(resumed.read())

    assert bad_field(error) == "cursor"


async def test_pages_of_a_listing_follow_each_other_through_sealed_tokens(api: Api) -> None:
    shop_id, merchant = await shop_with_requests(api, 3)
    seen: list[str] = []
    token = ""

    for _ in range(4):
        page = await merchant.ListAfterSales(
            pb.ListAfterSalesRequest(shop_id=shop_id, page_size=1, page_token=token)
        )
        seen += [r.request_id for r in page.after_sales]
        token = page.next_page_token
        if not token:
            break

    assert len(seen) == len(set(seen)) == 3
    assert not token


async def test_a_page_token_names_no_request(api: Api) -> None:
    shop_id, merchant = await shop_with_requests(api, 2)
    listed = await api.ops.ListAfterSales(pb.ListAfterSalesRequest(shop_id=shop_id))

    page = await merchant.ListAfterSales(pb.ListAfterSalesRequest(shop_id=shop_id, page_size=1))

    assert page.next_page_token
    revealed = unsealed_bytes(page.next_page_token)
    assert not [r.request_id for r in listed.after_sales if r.request_id.encode() in revealed]
    with pytest.raises(InvalidInput):
        decode_page_token(page.next_page_token)


async def test_a_page_token_is_invalid_argument_for_another_caller_or_listing(api: Api) -> None:
    shop_id, merchant = await shop_with_requests(api, 2)
    first = await merchant.ListAfterSales(pb.ListAfterSalesRequest(shop_id=shop_id, page_size=1))
    token = first.next_page_token

    by_ops = api.ops.ListAfterSales(pb.ListAfterSalesRequest(shop_id=shop_id, page_token=token))
    other_listing = merchant.ListAfterSales(
        pb.ListAfterSalesRequest(shop_id=shop_id, order_id=unique("order"), page_token=token)
    )

    assert bad_field(await rpc_error(by_ops)) == "page_token"
    assert bad_field(await rpc_error(other_listing)) == "page_token"


async def test_a_cursor_from_one_replica_resumes_on_another_sharing_the_key_file(
    api: Api, app: App, settings: Settings, clock: FakeClock, redis: Redis
) -> None:
    mine = await applied(api)
    stream = mine.buyer.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    cursor = (await events(stream, 1))[0].cursor
    stream.cancel()
    await mine.buyer.CancelAfterSale(
        pb.CancelAfterSaleRequest(request_id=mine.request_id, idempotency_key=key())
    )
    replica = await build(settings, clock=clock, redis=redis)
    await replica.start()

    try:
        async with grpc.aio.insecure_channel(replica.address) as channel:
            other = Api(channel, settings.tokens_path, clock).buyer(mine.buyer_id)
            resumed = other.WatchTransitions(pb.WatchTransitionsRequest(cursor=cursor))
            after = await events(resumed, 1)
            resumed.cancel()
    finally:
        await replica.stop(grace_s=1.0)

    assert [(m.event.request_id, m.event.version) for m in after] == [(mine.request_id, 2)]
    assert settings.token_key_path.stat().st_mode & 0o777 == 0o600


async def test_a_named_key_file_that_is_missing_stops_the_start(
    settings: Settings, clock: FakeClock, redis: Redis, tmp_path: Path
) -> None:
    missing = replace(settings, token_key_file=tmp_path / "absent.key")

    with pytest.raises(ValueError, match=r"absent\.key"):
        await build(missing, clock=clock, redis=redis)
