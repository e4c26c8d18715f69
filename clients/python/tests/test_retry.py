"""The published retry policy, against the real server behind a proxy that loses an answer:
the server commits a CreateAfterSale, the connection drops before the answer arrives, the
client hears UNAVAILABLE. With the policy (the default) the channel sends the call again,
with the idempotency key the client made, and the server answers the first result: one
request. Without it, the caller gets ``Unavailable`` carrying that key, and a retry with it
is the same replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aftersale_client import Actor, AfterSaleClient, Unavailable
from aftersale_client.retry import channel_options, retry_policy, service_config
from aftersale_client.v1 import aftersale_pb2 as pb
from aftersale_client.v1 import types_pb2 as t
from tests.conftest import REPO, Server
from tests.proxy import Proxy
from tests.support import deadline, unique

PUBLISHED = REPO / "proto" / "aftersale" / "v1" / "service_config.json"


@pytest.fixture
async def proxy(server: Server) -> AsyncIterator[Proxy]:
    host, port = server.address.rsplit(":", 1)
    started = Proxy((host, int(port)))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


def application(order_id: str, shop_id: str) -> pb.CreateAfterSaleRequest:
    """A CreateAfterSale without an idempotency key: the client makes one."""
    request = pb.CreateAfterSaleRequest(
        order_id=order_id, sku_id="SKU-7", shop_id=shop_id, type=t.AFTER_SALE_TYPE_REFUND,
        amount=10000, paid_amount=10000, reason=t.BUYER_REASON_QUALITY_ISSUE,
        evidence_images=["media/scratch.jpg"],
    )  # fmt: skip
    request.after_sale_deadline.FromDatetime(deadline())
    return request


async def test_a_lost_answer_is_retried_with_the_same_key_and_replayed(
    server: Server, proxy: Proxy
) -> None:
    order_id, shop_id = unique("order"), unique("shop")
    proxy.break_next = 1
    async with AfterSaleClient(proxy.address, token=server.tokens["order-system"],
                               actor=Actor.buyer(unique("buyer"))) as buyer:  # fmt: skip
        created = await buyer.create_after_sale(application(order_id, shop_id), timeout=30)
        listed = await buyer.list_after_sales(order_id=order_id)

    first, second = (pb.CreateAfterSaleRequest.FromString(a.message) for a in proxy.attempts[:2])
    assert proxy.dropped == 1
    assert [a.connection for a in proxy.attempts[:2]] == [1, 2]  # sent again, after the drop
    assert first.idempotency_key and second == first  # the key the client made, both times
    assert [r.request_id for r in listed.after_sales] == [created.after_sale.request_id]
    assert created.after_sale.version == 1


async def test_without_the_policy_a_lost_answer_is_unavailable_with_the_key_to_retry(
    server: Server, proxy: Proxy
) -> None:
    order_id, shop_id = unique("order"), unique("shop")
    request = application(order_id, shop_id)
    proxy.break_next = 1
    buyer = AfterSaleClient(proxy.address, token=server.tokens["order-system"],
                            actor=Actor.buyer(unique("buyer")), retries=False)  # fmt: skip
    async with buyer:
        with pytest.raises(Unavailable) as lost:
            await buyer.create_after_sale(request, timeout=30)
        key = lost.value.idempotency_key
        # What a caller does with the key: retry until a definite answer. The first retry may
        # still go out on the connection the proxy dropped (UNAVAILABLE "Broken pipe").
        for _ in range(10):
            try:
                again = await buyer.create_after_sale(request, idempotency_key=key)
                break
            except Unavailable:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("the retries with the key never got a definite answer")
        listed = await buyer.list_after_sales(order_id=order_id)

    assert lost.value.retryable and lost.value.rpc == "CreateAfterSale"
    assert pb.CreateAfterSaleRequest.FromString(proxy.attempts[0].message).idempotency_key == (
        lost.value.idempotency_key
    )
    assert [r.request_id for r in listed.after_sales] == [again.after_sale.request_id]
    assert again.after_sale.version == 1  # the first call's result, replayed


def test_the_shipped_service_config_is_the_published_one() -> None:
    assert service_config() == PUBLISHED.read_text("utf-8")
    assert retry_policy()["retryableStatusCodes"] == ["RESOURCE_EXHAUSTED", "UNAVAILABLE"]
    assert dict(channel_options()) == {
        "grpc.service_config": service_config(),
        "grpc.enable_retries": 1,
    }
    assert json.loads(dict(channel_options())["grpc.service_config"])["methodConfig"]
    assert dict(channel_options(retries=False)) == {"grpc.enable_retries": 0}
    assert Path(PUBLISHED).is_file()
