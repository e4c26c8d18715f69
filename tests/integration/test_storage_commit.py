"""The commit script on a real Redis (standalone and cluster): atomic, version-checked,
idempotent, and the order-line rules of SPEC §8 under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from aftersale.exceptions import (
    IdempotencyKeyReused,
    InvalidInput,
    LimitExceeded,
    Refusal,
    VersionConflict,
)
from aftersale.vocabulary import Action, BuyerReason, State
from service.storage.codec import encode_record
from service.storage.event_codec import encode_event
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    NOW_MS,
    Client,
    applied,
    approved,
    cancelled,
    commit,
    contact_recorded,
    history_length,
    idem,
    modified,
    refunded,
    replay_of,
    snapshot,
    unique,
)


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=16)


@pytest.fixture
def repo(client: Client, keys: Keys) -> RedisRepository:
    return RedisRepository(client, keys, idempotency_ttl_s=600)


async def test_an_application_writes_record_history_event_timer_line_listings_and_counters(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    decision = applied(keys)
    record = decision.record

    result = await repo.commit(decision, read_version=0, idempotency=idem("k1"), body_hash="h1")

    shard = keys.shard_of_request(record.request_id)
    assert not result.replayed and result.record is None
    assert await repo.load(record.request_id) == record
    [stored] = await repo.history(record.request_id)
    assert stored.event_id == result.event_id and stored.event == decision.event
    assert decision.event is not None and record.timer is not None
    entries = await client.xrange(keys.events(shard))
    text = encode_event(decision.event).decode()
    assert entries == [(result.event_id, {"v": "1", "event": text})]
    row = f'{{"eventId":"{result.event_id}",' + text[1:]
    assert await client.lrange(keys.history(record.request_id), 0, -1) == [row]
    member = f"{record.request_id}|1|merchant_timeout"
    assert await client.zscore(keys.timers(shard), member) == record.timer.due_ms
    assert await client.hgetall(keys.line(record.order_id, "sku-1")) == {
        "active": record.request_id,
        "attempts": "1",
        "buyer": "buyer-1",
    }
    assert await client.zrange(keys.shop(shard, "shop-1"), 0, -1) == [record.request_id]
    assert await client.zrange(keys.buyer(shard, "buyer-1"), 0, -1) == [record.request_id]
    assert await client.zrange(keys.order(record.order_id), 0, -1) == [record.request_id]
    assert await repo.shop_stats("shop-1") == {"applications": 1}
    assert replay_of(await repo.idempotent_result(idem("k1"), record.order_id)) == ("h1", record)
    fields = await client.hgetall(keys.record(record.request_id))
    # the blob is positional, and no timer member is stored: the record tells it
    assert set(fields) == {"d", "version"} and fields["version"] == "1"
    assert fields["d"] == encode_record(record).decode() and fields["d"].startswith("[")
    idempotency = await client.hgetall(keys.idempotency(record.order_id, *idem("k1")))
    # a reference to the version the call made, not a copy of the record
    assert idempotency == {"h": "h1", "v": "1", "e": result.event_id, "i": record.request_id}


async def test_a_commit_at_a_stale_version_is_refused_and_writes_nothing(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    first = await commit(repo, applied(keys))
    second = await commit(repo, contact_recorded(first))
    before = await snapshot(client, keys, second)

    with pytest.raises(VersionConflict) as refused:
        await repo.commit(approved(first), read_version=1, idempotency=idem("late"), body_hash="h")

    assert (refused.value.expected, refused.value.actual) == (1, 2)
    assert await snapshot(client, keys, second) == before
    assert await repo.idempotent_result(idem("late"), first.order_id) is None


async def test_of_ten_concurrent_commits_on_one_version_exactly_one_is_stored(
    keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    rivals = [approved(record)] + [contact_recorded(record) for _ in range(9)]

    outcomes = await asyncio.gather(
        *(repo.commit(d, read_version=1) for d in rivals), return_exceptions=True
    )

    stored = [d for d, o in zip(rivals, outcomes, strict=True) if not isinstance(o, Exception)]
    assert len(stored) == 1
    assert all(isinstance(o, VersionConflict) for o in outcomes if isinstance(o, Exception))
    assert await repo.load(record.request_id) == stored[0].record
    assert [e.event.version for e in await repo.history(record.request_id)] == [1, 2]


async def test_replaying_the_same_commit_without_a_key_is_a_no_op(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    decision = approved(record)
    await repo.commit(decision, read_version=1)
    before = await snapshot(client, keys, decision.record)

    with pytest.raises(VersionConflict):
        await repo.commit(decision, read_version=1)

    assert await snapshot(client, keys, decision.record) == before


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_result(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    approve = approved(record)
    first = await repo.commit(
        approve, read_version=1, idempotency=idem("approve-1"), body_hash="same"
    )
    after_first = await snapshot(client, keys, record)

    retry = await repo.commit(
        contact_recorded(record), read_version=1, idempotency=idem("approve-1"), body_hash="same"
    )

    assert retry.replayed and retry.record == approve.record and retry.event_id == first.event_id
    assert await snapshot(client, keys, record) == after_first


async def test_the_same_idempotency_key_with_a_different_body_is_refused(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    done = await commit(repo, approved(record), idempotency=idem("k"), body_hash="approve")
    before = await snapshot(client, keys, done)

    with pytest.raises(IdempotencyKeyReused):
        await repo.commit(refunded(done), read_version=2, idempotency=idem("k"), body_hash="refund")

    assert await snapshot(client, keys, done) == before


async def test_idempotency_keys_are_scoped_per_caller(keys: Keys, repo: RedisRepository) -> None:
    record = await commit(repo, applied(keys))
    await commit(repo, approved(record), idempotency=idem("k"), body_hash="a")

    result = await repo.commit(
        refunded(approved(record).record),
        read_version=2,
        idempotency=idem("k", "payments"),
        body_hash="b",
    )

    assert not result.replayed


async def test_twenty_concurrent_applications_for_one_order_line_let_exactly_one_in(
    keys: Keys, repo: RedisRepository
) -> None:
    order_id = unique("order")
    rivals = [applied(keys, order_id) for _ in range(20)]

    outcomes = await asyncio.gather(
        *(repo.commit(d, read_version=0) for d in rivals), return_exceptions=True
    )

    winners = [d for d, o in zip(rivals, outcomes, strict=True) if not isinstance(o, Exception)]
    refusals = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(refusals) == 19
    assert all(isinstance(r, LimitExceeded) for r in refusals)
    assert {r.refusal.reason for r in refusals if isinstance(r, LimitExceeded)} == {
        "LINE_HAS_OPEN_REQUEST"
    }
    page = await repo.list_requests(order_id=order_id)
    assert [r.request_id for r in page.records] == [winners[0].record.request_id]
    assert await repo.shop_stats("shop-1") == {"applications": 1}


async def test_an_open_request_blocks_a_new_one_for_its_line_until_it_is_closed(
    keys: Keys, repo: RedisRepository
) -> None:
    order_id = unique("order")
    first = await commit(repo, applied(keys, order_id))

    with pytest.raises(LimitExceeded) as refused:
        await repo.commit(applied(keys, order_id), read_version=0)
    await commit(repo, cancelled(first))
    second = await commit(repo, applied(keys, order_id))

    refusal = refused.value.refusal
    assert refusal.reason == "LINE_HAS_OPEN_REQUEST"
    assert refusal.metadata["open_request_id"] == first.request_id
    assert refusal.message_zh and refusal.message_en and refused.value.state is None
    assert refusal == Refusal(
        "LINE_HAS_OPEN_REQUEST",
        f"This order line already has an open after-sale request ({first.request_id}).",
        f"该订单商品已有进行中的售后单({first.request_id})。",
        "Continue with the open request, or cancel it before applying again.",
        "请继续处理进行中的售后单,或撤销后再重新申请。",
        {"open_request_id": first.request_id, "order_id": order_id, "sku_id": "sku-1"},
    )
    assert second.version == 1


async def test_applications_and_modifications_count_towards_five_attempts_per_line(
    keys: Keys, repo: RedisRepository
) -> None:
    order_id = unique("order")
    record = await commit(repo, applied(keys, order_id))  # 1
    for amount in (5_000, 4_000, 3_000):  # 2, 3, 4
        record = await commit(repo, modified(record, amount))
    await commit(repo, cancelled(record))  # cancelling does not give attempts back
    second = await commit(repo, applied(keys, order_id))  # 5

    with pytest.raises(LimitExceeded) as modify_refused:
        await repo.commit(modified(second, 2_000), read_version=1)
    await commit(repo, cancelled(second))
    with pytest.raises(LimitExceeded) as apply_refused:
        await repo.commit(applied(keys, order_id), read_version=0)

    assert modify_refused.value.refusal.reason == "ATTEMPT_LIMIT"
    assert modify_refused.value.state is State.MERCHANT_PROCESSING
    assert modify_refused.value.action is Action.MODIFY_APPLICATION
    assert apply_refused.value.refusal.reason == "ATTEMPT_LIMIT"
    assert modify_refused.value.refusal == Refusal(
        "ATTEMPT_LIMIT",
        "This order line has used all 5 applications and modifications.",
        "该商品的售后申请与修改次数已达上限(5 次)。",
        "Contact the shop's customer service or the platform.",
        "请联系商家客服或平台客服。",
        {"limit": "5", "used": "5", "order_id": order_id, "sku_id": "sku-1"},
    )
    assert (await repo.load(second.request_id)).state is State.USER_CANCELD  # type: ignore[union-attr]


async def test_no_application_is_possible_after_a_successful_refund(
    keys: Keys, repo: RedisRepository
) -> None:
    order_id = unique("order")
    record = await commit(repo, applied(keys, order_id))
    record = await commit(repo, approved(record))
    record = await commit(repo, refunded(record))

    with pytest.raises(LimitExceeded) as refused:
        await repo.commit(applied(keys, order_id), read_version=0)

    assert refused.value.refusal.reason == "LINE_ALREADY_REFUNDED"
    assert refused.value.refusal.metadata["refunded_request_id"] == record.request_id
    assert refused.value.refusal == Refusal(
        "LINE_ALREADY_REFUNDED",
        f"This order line was already refunded by after-sale request {record.request_id}.",
        f"该订单商品已通过售后单 {record.request_id} 完成退款,不能再次申请售后。",
        "No further after-sale request is possible for this order line.",
        "该订单商品不能再申请售后。",
        {"refunded_request_id": record.request_id, "order_id": order_id, "sku_id": "sku-1"},
    )
    other_line = await commit(repo, applied(keys, order_id, sku_id="sku-2"))
    assert other_line.version == 1


async def test_shop_counters_add_up_over_shards(keys: Keys, repo: RedisRepository) -> None:
    quality = await commit(repo, applied(keys, reason=BuyerReason.QUALITY_ISSUE, amount=6_000))
    other = await commit(repo, applied(keys, reason=BuyerReason.NO_LONGER_WANT, amount=2_500))
    await commit(repo, applied(keys))
    await commit(repo, refunded(await commit(repo, approved(quality))))
    await commit(repo, refunded(await commit(repo, approved(other))))

    stats = await repo.shop_stats("shop-1")

    assert stats == {
        "applications": 3,
        "refunds": 2,
        "refunds:QUALITY": 1,
        "refunds:OTHER": 1,
        "refund_fen": 8_500,
        "refund_fen:QUALITY": 6_000,
        "refund_fen:OTHER": 2_500,
    }
    assert await repo.shop_stats("another-shop") == {}


async def test_history_pages_by_offset_oldest_first(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    for _ in range(4):
        record = await commit(repo, contact_recorded(record))

    page = await repo.history(record.request_id, offset=1, limit=3)

    assert [e.event.version for e in page] == [2, 3, 4]
    assert await history_length(client, keys, record) == 5
    assert await repo.history(keys.new_request_id("nothing", NOW_MS)) == []


async def test_listings_page_newest_first_across_shards_without_repeat_or_gap(
    keys: Keys, repo: RedisRepository
) -> None:
    shop = unique("shop")
    made = []
    for i in range(23):  # every third pair created in the same millisecond: ties across shards
        created = NOW_MS + (i // 2) * 1_000
        decision = applied(keys, shop_id=shop, buyer_id=f"buyer-{i % 2}", now_ms=created)
        made.append(await commit(repo, decision))
    await commit(repo, cancelled(made[4]))
    newest_first = sorted(made, key=lambda r: (r.created_at_ms, r.request_id), reverse=True)

    seen, token, pages = [], "", 0
    while True:
        page = await repo.list_requests(shop_id=shop, page_size=5, page_token=token)
        seen += [r.request_id for r in page.records]
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert seen == [r.request_id for r in newest_first] and pages == 5
    cancelled_only = await repo.list_requests(shop_id=shop, states={State.USER_CANCELD})
    assert [r.request_id for r in cancelled_only.records] == [made[4].request_id]
    assert not cancelled_only.next_page_token
    buyer = await repo.list_requests(shop_id=shop, buyer_id="buyer-1", page_size=100)
    assert [r.request_id for r in buyer.records] == [
        r.request_id for r in newest_first if r.buyer_id == "buyer-1"
    ]
    everything = await repo.list_requests(page_size=100)
    assert len(everything.records) == 23


async def test_a_malformed_page_token_is_bad_input(repo: RedisRepository) -> None:
    with pytest.raises(InvalidInput) as refused:
        await repo.list_requests(shop_id="s", page_token="not-a-token")

    assert refused.value.field == "page_token"
