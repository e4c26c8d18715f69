"""Idempotency keys in Redis (SPEC §8): a request-scoped call finds its key on the request's
order in the same round trip that loads the record, on standalone and cluster Redis alike."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from aftersale.exceptions import IdempotentCallSuperseded
from aftersale.model import AfterSale
from service.storage.codec import encode_record, encode_record_object
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    BUYER,
    Client,
    applied,
    approved,
    commit,
    contact_recorded,
    idem,
    replay_of,
)


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


def _object_reordered(record: AfterSale) -> str:
    """An object blob whose order_id is not 2nd (no shortcut finds it)."""
    return json.dumps(dict(reversed(json.loads(encode_record_object(record)).items())))


@pytest.mark.parametrize(
    "form",
    [
        lambda r: encode_record(r).decode(),  # positional (this release's)
        lambda r: json.dumps(json.loads(encode_record(r))),  # positional, spaced: decoded
        lambda r: encode_record_object(r).decode(),  # the previous release's object form
        _object_reordered,
    ],
    ids=["positional", "positional-spaced", "object", "object-reordered"],
)
async def test_a_record_blob_of_either_form_names_its_orders_key(
    client: Client, repo: RedisRepository, keys: Keys, form: Callable[[AfterSale], str]
) -> None:
    record = await commit(repo, applied(keys))
    done = await commit(repo, approved(record), idempotency=idem("k"), body_hash="approve")
    await client.hset(keys.record(done.request_id), "d", form(done))

    loaded = await repo.load_with_idempotency(done.request_id, idem("k"))
    replayed = await repo.commit(
        approved(record), read_version=1, idempotency=idem("k"), body_hash="approve"
    )

    assert loaded[0] == done and replay_of(loaded[1]) == ("approve", done)
    assert replayed.replayed and replayed.record == done  # the script hands the blob back


async def test_a_result_holding_the_previous_releases_object_blob_still_replays(
    client: Client, repo: RedisRepository, keys: Keys
) -> None:
    """The release before references stored the record blob itself (``d``) as the result."""
    record = await commit(repo, applied(keys))
    decision = approved(record)
    name = keys.idempotency(record.order_id, *idem("k"))
    blob = encode_record_object(decision.record).decode()
    await client.hset(name, mapping={"h": "b", "d": blob, "e": "7-0"})

    found = await repo.load_with_idempotency(record.request_id, idem("k"))
    replayed = await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")

    assert replay_of(found[1]) == ("b", decision.record)
    assert replayed.replayed and replayed.record == decision.record
    assert await repo.load(record.request_id) == record  # nothing written


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
