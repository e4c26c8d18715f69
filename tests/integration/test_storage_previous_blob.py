"""Records the previous release wrote (an object-JSON blob ``d`` beside ``version`` and the
timer's ``_timer_member``) keep working beside this release's (a positional blob, no timer
field): they load, commit (their registered timer goes, no orphan stays), are swept by the
retention sweep with their timer, and replay an idempotent call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aftersale.decide import Decision
from aftersale.model import AfterSale
from aftersale.vocabulary import Action, State
from service.storage.codec import encode_record, encode_record_object
from service.storage.keys import Keys, timer_member
from service.storage.lifecycle import TerminalSweep
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    BUYER,
    Client,
    applied,
    approved,
    commit,
    contact_recorded,
    idem,
    pending_timers,
    registered_member,
    step,
)

ARCHIVE = "5f0c1d2e-0000-4000-8000-000000000001"


def member_of(record: AfterSale) -> str:
    assert record.timer is not None
    return timer_member(record.request_id, record.version, record.timer.action)


async def as_the_previous_release(client: Client, keys: Keys, record: AfterSale) -> None:
    """Rewrite ``record``'s hash as the previous release kept it (its timer already in the
    timers zset under the same member)."""
    fields: dict[Any, str] = {  # Any: redis-py types hash keys as bytes | str
        "d": encode_record_object(record).decode(),
        "version": str(record.version),
    }
    if record.timer is not None:
        fields["_timer_member"] = member_of(record)
    name = keys.record(record.request_id)
    await client.delete(name)
    await client.hset(name, mapping=fields)


async def stored(client: Client, keys: Keys, record: AfterSale) -> dict[str, str]:
    return {
        str(k): str(v) for k, v in (await client.hgetall(keys.record(record.request_id))).items()
    }


@pytest.mark.parametrize("form", ["previous", "positional"])
async def test_a_record_of_either_form_loads(
    client: Client, keys: Keys, repo: RedisRepository, form: str
) -> None:
    record = await commit(repo, applied(keys))
    if form == "previous":
        await as_the_previous_release(client, keys, record)

    assert await repo.load(record.request_id) == record
    assert await repo.load_many([record.request_id]) == [record]
    assert (await repo.load_with_idempotency(record.request_id, idem("k")))[0] == record
    assert await registered_member(client, keys, record.request_id) == member_of(record)


@pytest.mark.parametrize("form", ["previous", "positional"])
@pytest.mark.parametrize(
    "next_step",
    [approved, contact_recorded],  # the timer goes / is replaced by the next version's
    ids=["timer-ends", "timer-replaced"],
)
async def test_a_commit_over_either_form_swaps_its_timer_and_leaves_no_orphan(
    client: Client,
    keys: Keys,
    repo: RedisRepository,
    form: str,
    next_step: Callable[[AfterSale], Decision],
) -> None:
    record = await commit(repo, applied(keys))
    if form == "previous":
        await as_the_previous_release(client, keys, record)
    assert [m for m, _ in await pending_timers(client, keys)] == [member_of(record)]
    decision = next_step(record)

    after = await commit(repo, decision)

    fields = await stored(client, keys, after)
    assert set(fields) == {"d", "version"} and fields["d"] == encode_record(after).decode()
    assert await repo.load(after.request_id) == after
    expected = [] if after.timer is None else [member_of(after)]
    assert [m for m, _ in await pending_timers(client, keys)] == expected


async def test_a_commit_that_fires_a_leased_timer_of_a_previous_record_leaves_no_lease(
    client: Client, keys: Keys, repo: RedisRepository
) -> None:
    record = await commit(repo, applied(keys))
    await as_the_previous_release(client, keys, record)
    shard = keys.shard_of_request(record.request_id)
    member = member_of(record)
    await client.zrem(keys.timers(shard), member)
    await client.zadd(keys.leased(shard), {member: 1})  # claimed by a timer worker
    fired = step(record, Action.MERCHANT_TIMEOUT, State.MERCHANT_REFUND_SUCCESS, timer=None)

    await repo.commit(fired, read_version=record.version, leased_timer_member=member)

    assert await client.zrange(keys.leased(shard), 0, -1) == []
    assert await pending_timers(client, keys) == []


@pytest.mark.parametrize("form", ["previous", "positional"])
async def test_the_sweep_deletes_an_archived_record_of_either_form_with_its_timer(
    client: Client, keys: Keys, repo: RedisRepository, form: str
) -> None:
    """A terminal record still naming a timer (none should; the sweep removes it anyway)."""
    record = await commit(repo, applied(keys))
    done = await commit(repo, step(record, Action.CANCEL, State.USER_CANCELD, BUYER))
    assert done.timer is not None  # kept by the step, as a stray timer would be
    if form == "previous":
        await as_the_previous_release(client, keys, done)
    shard = keys.shard_of_request(done.request_id)
    await client.zadd(keys.timers(shard), {member_of(done): done.timer.due_ms})
    await client.hset(keys.record(done.request_id), "a", f"{ARCHIVE}:{done.version}")
    sweep = TerminalSweep(client, keys, retention_ms=0)

    swept = await sweep.sweep(done.updated_at_ms + 1, archive=ARCHIVE)

    assert swept.swept == 1 and swept.unreadable == 0
    assert not await client.exists(keys.record(done.request_id))
    assert await pending_timers(client, keys) == []


@pytest.mark.parametrize("form", ["previous", "positional"])
async def test_an_idempotent_call_over_either_form_replays(
    client: Client, keys: Keys, repo: RedisRepository, form: str
) -> None:
    record = await commit(repo, applied(keys))
    decision = approved(record)
    await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")
    if form == "previous":
        await as_the_previous_release(client, keys, decision.record)

    again = await repo.commit(decision, read_version=1, idempotency=idem("k"), body_hash="b")
    found = await repo.load_with_idempotency(record.request_id, idem("k"))

    assert again.replayed and again.record == decision.record
    assert found[0] == decision.record and found[1] is not None
    assert found[1].record == decision.record


async def test_the_object_write_form_stores_what_the_previous_release_wrote(
    client: Client, keys: Keys
) -> None:
    """``redis.record_form = "object"`` (a rolling upgrade): every commit leaves the record
    exactly as the previous release would have (so its replicas read it), and this release
    reads it and writes it back positional once the setting goes."""
    compatible = RedisRepository(client, keys, record_form="object")
    record = await commit(compatible, applied(keys))
    replaced = await commit(compatible, contact_recorded(record))  # a new timer, a new member

    fields = await stored(client, keys, replaced)
    assert fields == {
        "d": encode_record_object(replaced).decode(),
        "version": str(replaced.version),
        "_timer_member": member_of(replaced),
    }
    assert [m for m, _ in await pending_timers(client, keys)] == [member_of(replaced)]

    positional = RedisRepository(client, keys)
    assert await positional.load(replaced.request_id) == replaced
    after = await commit(positional, approved(replaced))
    assert set(await stored(client, keys, after)) == {"d", "version"}
    expected = [] if after.timer is None else [member_of(after)]
    assert [m for m, _ in await pending_timers(client, keys)] == expected
