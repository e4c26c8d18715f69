"""Key names and ids (no server needed): every key of one order in one cluster slot, request
ids that carry their shard, timer members that parse back."""

from __future__ import annotations

import zlib

import pytest
from redis.crc import key_slot

from aftersale.exceptions import NotFound
from aftersale.model import Actor
from aftersale.vocabulary import Action, Role
from service.storage.commit import COMMIT, CommitKeys, commit_keys
from service.storage.keys import (
    Keys,
    MalformedRequestId,
    parse_timer_member,
    timer_member,
)
from tests.integration.storage_support import BUYER, MERCHANT, applied, idem

NOW_MS = 1_790_000_000_000


def test_an_order_lives_in_the_crc32_shard_and_its_request_ids_say_so() -> None:
    keys = Keys(shards=64)

    request_id = keys.new_request_id("order-42", NOW_MS)

    shard = zlib.crc32(b"order-42") % 64
    assert keys.shard_of_order("order-42") == shard
    assert request_id.startswith(f"AS{shard:02d}-") and len(request_id) == 25
    assert keys.shard_of_request(request_id) == shard
    assert keys.tag(shard) == f"{{as:{shard:02d}}}"


def test_request_ids_sort_by_creation_time_and_use_only_id_characters() -> None:
    keys = Keys(shards=1)

    ids = [keys.new_request_id("o", now_ms=ms) for ms in (1_000, 2_000, 1_790_000_000_000)]

    assert ids == sorted(ids)
    assert all(c.isalnum() or c in "_-" for c in "".join(ids))


def test_every_key_of_one_order_hashes_to_one_cluster_slot() -> None:
    keys = Keys(shards=64, prefix="aftersale")
    request_id = keys.new_request_id("order-7", NOW_MS)
    shard = keys.shard_of_request(request_id)

    names = [
        keys.record(request_id),
        keys.history(request_id),
        keys.events(shard),
        keys.timers(shard),
        keys.leased(shard),
        keys.line("order-7", "sku-1"),
        keys.idempotency("order-7", "orders", MERCHANT, "key-1"),
        keys.shop(shard, "shop-1"),
        keys.buyer(shard, "buyer-1"),
        keys.order("order-7"),
        keys.stats(shard, "shop-1"),
        keys.all_requests(shard),
        keys.sub_lease(shard, "payment"),
        keys.sub_retry(shard, "payment"),
        keys.sub_dead(shard, "payment"),
        keys.flagged(shard),
        keys.terminal(shard),
        keys.terminal_walk(shard),
    ]

    assert len({key_slot(name.encode()) for name in names}) == 1
    assert all(name.startswith("{aftersale:") for name in names)


def test_the_sweeps_name_prefixes_build_the_names_the_key_module_builds() -> None:
    keys = Keys(shards=64, prefix="aftersale")
    request_id = keys.new_request_id("order-7", NOW_MS)
    shard = keys.shard_of_request(request_id)

    req, hist, shop, buyer, order, line = keys.per_request_prefixes(shard)

    assert req + request_id == keys.record(request_id)
    assert hist + request_id == keys.history(request_id)
    assert shop + "shop-1" == keys.shop(shard, "shop-1")
    assert buyer + "buyer-1" == keys.buyer(shard, "buyer-1")
    assert order + "order-7" == keys.order("order-7")
    assert line + "order-7:sku-1" == keys.line("order-7", "sku-1")


def test_the_commit_names_its_keys_once_and_they_share_one_slot() -> None:
    keys = Keys(shards=64)
    record = applied(keys, "order-7").record

    commit = commit_keys(keys, record, idem("key-1"))

    assert COMMIT.startswith(f"local {', '.join(CommitKeys._fields)} = KEYS[1], KEYS[2],")
    assert len({key_slot(name.encode()) for name in commit}) == 1
    assert commit.idempotency_key == keys.idempotency("order-7", "orders", MERCHANT, "key-1")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "AS7-0123456789ABCDEFGHJK",
        "XX07-0123456789ABCDEFGHJK",
        "AS64-0123",
        "AS07-a b",
        "A" * 65,
    ],
)
def test_a_malformed_request_id_is_a_not_found_that_says_why(bad: str) -> None:
    with pytest.raises(MalformedRequestId) as refused:
        Keys(shards=64).shard_of_request(bad)

    assert isinstance(refused.value, NotFound) and isinstance(refused.value, ValueError)
    assert "malformed" in str(refused.value)


def test_more_than_a_hundred_shards_widen_the_shard_number() -> None:
    keys = Keys(shards=1024)

    request_id = keys.new_request_id("order-9", NOW_MS)

    assert request_id[2:6].isdigit() and request_id[6] == "-"
    assert keys.tag(5) == "{as:0005}"
    assert keys.shard_of_request(request_id) == keys.shard_of_order("order-9")


def test_a_timer_member_parses_back() -> None:
    member = timer_member("AS07-0123456789ABCDEFGHJK", 12, Action.RECEIPT_TIMEOUT)

    assert member == "AS07-0123456789ABCDEFGHJK|12|receipt_timeout"
    assert parse_timer_member(member) == (
        "AS07-0123456789ABCDEFGHJK",
        12,
        Action.RECEIPT_TIMEOUT,
        member,
    )
    with pytest.raises(ValueError):
        parse_timer_member("AS07-x|v1|receipt_timeout")


def test_a_prefix_that_could_break_the_hash_tag_is_refused() -> None:
    for prefix in ("", "a{b", "a}b", "a:b"):
        with pytest.raises(ValueError):
            Keys(prefix=prefix)


def test_a_request_id_is_made_at_the_time_it_is_given() -> None:
    keys = Keys(shards=64)

    first, second = (keys.new_request_id("order-1", NOW_MS) for _ in range(2))
    later = keys.new_request_id("order-1", NOW_MS + 1)

    assert first[:15] == second[:15] != later[:15]  # AS<shard>- and 10 characters of time
    assert first != second


def test_idempotency_keys_are_named_by_caller_order_actor_and_key_and_never_collide() -> None:
    keys = Keys(shards=64)
    scopes = [
        ("order-7", "orders", MERCHANT, "k"),
        ("order-8", "orders", MERCHANT, "k"),  # another order
        ("order-7", "payments", MERCHANT, "k"),  # another calling service
        ("order-7", "orders", BUYER, "k"),  # another actor
        ("order-7", "orders", Actor(Role.MERCHANT, "shop-2"), "k"),
        ("order-7", "orders", MERCHANT, "k2"),
        ("order-7", "a:order-7:MERCHANT:shop-1", Actor(Role.PAYMENT, "x"), "k"),  # a ':' caller
        ("order-7", "a", Actor(Role.PAYMENT, "order-7:MERCHANT:shop-1:x"), "k"),
    ]

    names = [keys.idempotency(*scope) for scope in scopes]

    assert len(set(names)) == len(scopes)
    shard = keys.shard_of_order("order-7")
    before, after = keys.idempotency_around_order(shard, "orders", MERCHANT, "k")
    assert before + "order-7" + after == names[0]
    assert names[0] == keys.tag(shard) + ":idempotency:orders:order-7:MERCHANT:shop-1:k"
    assert keys.legacy_idempotency(shard, "orders", "k") not in names
