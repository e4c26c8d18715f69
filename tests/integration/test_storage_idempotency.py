"""Idempotency keys in Redis (SPEC §8): a request-scoped call finds its key on the request's
order in the same round trip that loads the record, on standalone and cluster Redis alike."""

from __future__ import annotations

import json

import pytest

from aftersale.exceptions import IdempotentCallSuperseded
from service.storage.codec import encode_record
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    BUYER,
    CLIENTS,
    Client,
    applied,
    approved,
    commit,
    contact_recorded,
    idem,
    pick_client,
    replay_of,
)


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest) -> Client:
    return pick_client(request)


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=16)


@pytest.fixture
def repo(client: Client, keys: Keys) -> RedisRepository:
    return RedisRepository(client, keys, idempotency_ttl_s=600)


async def test_a_request_is_loaded_with_its_orders_key_of_the_same_caller_and_actor(
    repo: RedisRepository, keys: Keys
) -> None:
    record = await commit(repo, applied(keys))
    done = await commit(repo, approved(record), idempotency=idem("k"), body_hash="approve")

    mine = await repo.load_with_idempotency(record.request_id, idem("k"))
    other_caller = await repo.load_with_idempotency(record.request_id, idem("k", "payments"))
    other_actor = await repo.load_with_idempotency(record.request_id, idem("k", actor=BUYER))

    assert mine[0] == done and replay_of(mine[1]) == ("approve", done)
    assert other_caller == other_actor == (done, None)


async def test_a_record_blob_in_any_field_order_still_names_its_orders_key(
    client: Client, repo: RedisRepository, keys: Keys
) -> None:
    record = await commit(repo, applied(keys))
    done = await commit(repo, approved(record), idempotency=idem("k"), body_hash="approve")
    reordered = dict(reversed(json.loads(encode_record(done)).items()))  # order_id not 2nd
    await client.hset(keys.record(done.request_id), "d", json.dumps(reordered))

    loaded = await repo.load_with_idempotency(done.request_id, idem("k"))

    assert loaded[0] == done and replay_of(loaded[1]) == ("approve", done)


async def test_a_missing_request_has_no_record_and_no_result(
    repo: RedisRepository, keys: Keys
) -> None:
    request_id = keys.new_request_id("order-1", 1_790_000_000_000)

    assert await repo.load_with_idempotency(request_id, idem("k")) == (None, None)


async def test_a_commit_that_finds_its_key_replays_the_record_while_it_is_at_that_version(
    client: Client, repo: RedisRepository, keys: Keys
) -> None:
    record = await commit(repo, applied(keys))
    decision = approved(record)
    first = await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")

    again = await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")

    assert again.replayed and again.event_id == first.event_id
    assert again.record == decision.record
    stored = await client.hgetall(keys.idempotency(record.order_id, *idem("k")))
    assert stored == {"h": "b", "v": "2", "e": first.event_id}  # a reference, no record


async def test_a_commit_that_finds_its_key_after_the_request_moved_on_is_superseded(
    repo: RedisRepository, keys: Keys
) -> None:
    record = await commit(repo, applied(keys))
    decision = approved(record)
    first = await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")
    moved = await commit(repo, contact_recorded(decision.record))

    with pytest.raises(IdempotentCallSuperseded) as superseded:
        await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")

    error = superseded.value
    assert (error.request_id, error.version, error.event_id) == (
        record.request_id,
        2,
        first.event_id,
    )
    assert await repo.load(record.request_id) == moved  # nothing written


async def test_an_application_that_finds_its_key_replays_the_request_it_made(
    repo: RedisRepository, keys: Keys
) -> None:
    first = applied(keys)
    result = await repo.commit(first, read_version=0, idempotency=idem("k"), body_hash="b")
    retried = applied(keys, first.record.order_id)  # the retry is given a fresh request id
    assert retried.record.request_id != first.record.request_id

    again = await repo.commit(retried, read_version=0, idempotency=idem("k"), body_hash="b")

    assert again.replayed and again.event_id == result.event_id
    assert again.record == first.record
    assert await repo.load(retried.record.request_id) is None
