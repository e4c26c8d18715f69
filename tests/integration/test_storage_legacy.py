"""What the previous release wrote still works: a record hash in the flat form (every field
its own hash field) and an idempotency result as flat JSON load as they are, the next commit
rewrites the record as a blob, and an order-line index without its buyer belongs to the buyer
of the line's first request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aftersale.exceptions import PermissionDenied
from aftersale.model import AfterSale, Negotiation, PendingTimer
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    State,
    TimerKind,
)
from service.storage.codec import encode_record, encode_record_object
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    BUYER,
    Client,
    applied,
    commit,
    idem,
    order_in_shard,
    replay_of,
    step,
)

REQUEST_ID = "AS41-01M3250V00K30HBKWYAB"  # order "ord-0": shard 41 of 64
MEMBER = f"{REQUEST_ID}|2|negotiation_timeout"
# Written by the previous release (AfterSale.to_flat + the script's _timer_member), verbatim.
FLAT_RECORD: dict[Any, str] = {  # Any: redis-py types hash keys as bytes | str
    "request_id": REQUEST_ID,
    "order_id": "ord-0",
    "sku_id": "sku-1",
    "shop_id": "shop-0",
    "buyer_id": "buyer-0",
    "type": "REFUND",
    "state": "USER_WAIT_CONFIRM_UPDATE",
    "amount": "10000",
    "paid_amount": "10000",
    "reason": "QUALITY_ISSUE",
    "first_reason": "QUALITY_ISSUE",
    "after_sale_deadline_ms": "1792592000000",
    "created_at_ms": "1790000000000",
    "updated_at_ms": "1790000060000",
    "version": "2",
    "description": "the item arrived damaged",
    "evidence": '["media://bench/evidence-0001.jpg"]',
    "application_round": "1",
    "negotiation": (
        '{"round":1,"kind":"MODIFY_APPLICATION","option":"AMOUNT_ONLY","handling_state":'
        '"MERCHANT_PROCESSING","application_round":1,"images":["media://bench/evidence-0001.jpg"'
        '],"proposed_amount":6000,"outcome":"OPEN","sent_at_ms":1790000060000}'
    ),
    "timer": '{"kind":"NEGOTIATION_REPLY","action":"negotiation_timeout","due_ms":1790172860000}',
    "_timer_member": MEMBER,
}
RECORD = AfterSale(
    request_id=REQUEST_ID,
    order_id="ord-0",
    sku_id="sku-1",
    shop_id="shop-0",
    buyer_id="buyer-0",
    type=AfterSaleType.REFUND,
    state=State.USER_WAIT_CONFIRM_UPDATE,
    amount=10_000,
    paid_amount=10_000,
    reason=BuyerReason.QUALITY_ISSUE,
    first_reason=BuyerReason.QUALITY_ISSUE,
    after_sale_deadline_ms=1_792_592_000_000,
    created_at_ms=1_790_000_000_000,
    updated_at_ms=1_790_000_060_000,
    version=2,
    description="the item arrived damaged",
    evidence=["media://bench/evidence-0001.jpg"],
    negotiation=Negotiation(
        round=1,
        kind=NegotiationKind.MODIFY_APPLICATION,
        option=NegotiationOption.AMOUNT_ONLY,
        handling_state=State.MERCHANT_PROCESSING,
        application_round=1,
        message="",
        images=["media://bench/evidence-0001.jpg"],
        proposed_amount=6_000,
        outcome=NegotiationOutcome.OPEN,
        sent_at_ms=1_790_000_060_000,
    ),
    timer=PendingTimer(TimerKind.NEGOTIATION_REPLY, Action.NEGOTIATION_TIMEOUT, 1_790_172_860_000),
)


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=64)


async def test_a_record_stored_in_the_flat_form_loads(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    await client.hset(keys.record(REQUEST_ID), mapping=FLAT_RECORD)

    assert await repo.load(REQUEST_ID) == RECORD
    assert await repo.load_many([REQUEST_ID]) == [RECORD]


async def test_the_next_commit_rewrites_a_flat_record_as_a_blob_and_swaps_its_timer(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    shard = keys.shard_of_request(REQUEST_ID)
    await client.hset(keys.record(REQUEST_ID), mapping=FLAT_RECORD)
    await client.zadd(keys.timers(shard), {MEMBER: RECORD.timer.due_ms if RECORD.timer else 0})
    accepted = step(RECORD, Action.ACCEPT_NEGOTIATION, State.PLATFORM_REFUNDING, BUYER, timer=None)

    await repo.commit(accepted, read_version=2)

    fields = await client.hgetall(keys.record(REQUEST_ID))
    assert set(fields) == {"d", "version"} and fields["version"] == "3"
    assert await repo.load(REQUEST_ID) == accepted.record
    assert await client.zrange(keys.timers(shard), 0, -1) == []


async def test_an_idempotency_result_the_previous_release_stored_is_found_on_its_order_only(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    shard = keys.shard_of_request(REQUEST_ID)
    flat = {k: v for k, v in FLAT_RECORD.items() if k != "_timer_member"}
    result = json.dumps(flat, ensure_ascii=False, separators=(",", ":"))
    await client.hset(keys.record(REQUEST_ID), mapping=FLAT_RECORD)
    legacy = keys.legacy_idempotency(shard, "orders", "k1")  # per caller and shard, flat JSON
    await client.hset(legacy, mapping={"h": "h1", "r": result, "e": "5-0"})
    same_shard = order_in_shard(keys, shard)

    on_its_order = await repo.idempotent_result(idem("k1", actor=BUYER), "ord-0")
    on_its_request = await repo.load_with_idempotency(REQUEST_ID, idem("k1", actor=BUYER))
    on_another_order = await repo.idempotent_result(idem("k1", actor=BUYER), same_shard)

    assert replay_of(on_its_order) == ("h1", RECORD)
    assert on_its_request[0] == RECORD and replay_of(on_its_request[1]) == ("h1", RECORD)
    assert on_another_order is None
    assert await client.hgetall(keys.record(REQUEST_ID)) == FLAT_RECORD  # nothing written


@pytest.mark.parametrize("first_form", ["flat record", "object blob record", "blob record"])
async def test_a_line_indexed_without_its_buyer_belongs_to_the_buyer_of_its_first_request(
    client: Client, keys: Keys, repo: RedisRepository, first_form: str
) -> None:
    if first_form == "flat record":
        await client.hset(keys.record(REQUEST_ID), mapping=FLAT_RECORD)
    elif first_form == "object blob record":  # the previous release's blob
        await client.hset(keys.record(REQUEST_ID), mapping={"d": encode_record_object(RECORD)})
    else:
        await client.hset(keys.record(REQUEST_ID), mapping={"d": encode_record(RECORD)})
    await client.zadd(keys.order("ord-0"), {REQUEST_ID: RECORD.created_at_ms})
    line = keys.line("ord-0", "sku-1")
    await client.hset(line, mapping={"attempts": "1"})  # its request closed, no buyer kept
    await commit(repo, applied(keys, "ord-0", sku_id="sku-2", buyer_id="buyer-9"))  # another line

    with pytest.raises(PermissionDenied) as stranger:
        await commit(repo, applied(keys, "ord-0", buyer_id="buyer-9"))
    owner = await commit(repo, applied(keys, "ord-0", buyer_id="buyer-0"))

    assert stranger.value.reason == "NOT_YOUR_REQUEST" and stranger.value.request_id == ""
    assert await client.hgetall(line) == {
        "active": owner.request_id,
        "attempts": "2",
        "buyer": "buyer-0",
    }
