"""Stream retention on a real Redis (standalone and cluster): the soft retention waits for
every consumer group, the hard cap reports what a group loses, several trimmers at once are
safe, and a cursor older than what is retained is refused (``CursorTrimmed``), at open and
while following, but never at the trim edge."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest

from aftersale.model import AfterSale
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.retention import Loss, StreamRetention
from service.storage.stream import (
    NOW,
    START,
    CursorTrimmed,
    StreamCursor,
    Transition,
    TransitionReader,
)
from tests.integration.storage_support import (
    Client,
    applied,
    commit,
    contact_recorded,
)

HOUR_MS = 3_600_000


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=4)


def retention(client: Client, keys: Keys, **options: int) -> StreamRetention:
    settings = {"retention_ms": 0, "maxlen": 1_000} | options
    return StreamRetention(client, keys, **settings)


async def fill(client: Client, stream: str, count: int) -> list[str]:
    """``count`` entries added to ``stream``; their ids."""
    return [str(await client.xadd(stream, {"n": str(i)})) for i in range(count)]


async def deliver(client: Client, stream: str, group: str, count: int) -> list[str]:
    """The next ``count`` entries delivered to ``group`` (not acknowledged)."""
    reply: Any = await client.xreadgroup(group, "consumer-1", {stream: ">"}, count=count)
    entries = reply[stream][0] if isinstance(reply, dict) else reply[0][1]
    return [str(entry_id) for entry_id, _ in entries]


async def ids_in(client: Client, stream: str) -> list[str]:
    entries: Any = await client.xrange(stream)
    return [str(entry_id) for entry_id, _ in entries]


async def past(ms: int) -> None:
    """Let Redis' clock pass ``ms``: entry ids are its time."""
    await asyncio.sleep(ms / 1000)


# -- the soft retention waits for every group ------------------------------------------------


async def test_the_soft_retention_keeps_what_a_group_has_not_acknowledged(
    client: Client, keys: Keys
) -> None:
    stream = keys.events(0)
    await client.xgroup_create(stream, "payment", id="0", mkstream=True)
    ids = await fill(client, stream, 10)
    delivered = await deliver(client, stream, "payment", 6)
    await client.xack(stream, "payment", *delivered[:3])
    await past(5)

    first = await retention(client, keys).trim()

    assert first.deleted == 3 and first.losses == ()
    assert await ids_in(client, stream) == ids[3:]  # pending 3..5 and unread 6..9 kept
    assert await client.get(keys.trimmed(0)) == ids[2]

    await client.xack(stream, "payment", *delivered[3:])
    await retention(client, keys).trim()
    assert await ids_in(client, stream) == ids[6:]  # still unread: kept

    await client.xack(stream, "payment", *await deliver(client, stream, "payment", 10))
    await retention(client, keys).trim()
    assert await ids_in(client, stream) == []
    assert await client.get(keys.trimmed(0)) == ids[-1]


async def test_every_group_counts_and_young_entries_stay(client: Client, keys: Keys) -> None:
    stream = keys.events(1)
    await client.xgroup_create(stream, "payment", id="0", mkstream=True)
    await client.xgroup_create(stream, "scoring", id="0")
    ids = await fill(client, stream, 4)
    await client.xack(stream, "payment", *await deliver(client, stream, "payment", 4))
    await past(5)

    await retention(client, keys).trim()
    assert await ids_in(client, stream) == ids  # scoring has read nothing

    await client.xack(stream, "scoring", *await deliver(client, stream, "scoring", 4))
    await retention(client, keys, retention_ms=HOUR_MS).trim()
    assert await ids_in(client, stream) == ids  # acknowledged, but younger than an hour
    assert await client.get(keys.trimmed(1)) is None


# -- the hard cap reports losses ---------------------------------------------------------------


async def test_the_hard_cap_reports_what_each_group_had_not_acknowledged(
    client: Client, keys: Keys
) -> None:
    stream = keys.events(2)
    await client.xgroup_create(stream, "payment", id="0", mkstream=True)  # down: reads 2
    await client.xgroup_create(stream, "scoring", id="0")  # up: acknowledged all
    await client.xgroup_create(stream, "notify", id="0")  # acknowledged the first 5
    ids = await fill(client, stream, 12)
    await deliver(client, stream, "payment", 2)
    await client.xack(stream, "scoring", *await deliver(client, stream, "scoring", 12))
    await client.xack(stream, "notify", *await deliver(client, stream, "notify", 5))

    trimmed = await retention(client, keys, retention_ms=HOUR_MS, maxlen=4, batch=3).trim()

    assert trimmed.deleted == 8
    assert await ids_in(client, stream) == ids[8:]
    assert await client.get(keys.trimmed(2)) == ids[7]
    lost: dict[str, list[Loss]] = {}
    for loss in trimmed.losses:
        lost.setdefault(loss.subscription, []).append(loss)
    assert set(lost) == {"payment", "notify"}
    assert sum(loss.count for loss in lost["payment"]) == 8
    assert sum(loss.count for loss in lost["notify"]) == 3
    assert (lost["payment"][0].first_id, lost["payment"][-1].last_id) == (ids[0], ids[7])
    assert (lost["notify"][0].first_id, lost["notify"][-1].last_id) == (ids[5], ids[7])
    assert {loss.shard for loss in trimmed.losses} == {2}


async def test_loss_marks_add_up_and_survive_in_redis(client: Client, keys: Keys) -> None:
    trimming = retention(client, keys)
    await trimming.record_loss(Loss("payment", 3, 5, "1-0", "5-0"), at_ms=1_000)
    assert await trimming.record_loss(Loss("payment", 1, 2, "9-0", "10-0"), at_ms=2_000) == 7

    marks = await retention(client, keys).loss_marks()  # another replica reads the same

    assert list(marks) == ["payment"]
    mark = marks["payment"]
    assert (mark.count, mark.last_lost_at_ms, mark.shard) == (7, 2_000, 1)
    assert (mark.first_id, mark.last_id) == ("9-0", "10-0")


async def test_several_trimmers_at_once_delete_each_entry_once_and_count_each_loss_once(
    client: Client, keys: Keys
) -> None:
    stream = keys.events(3)
    await client.xgroup_create(stream, "payment", id="0", mkstream=True)  # never reads
    trimmers = [retention(client, keys, maxlen=50, batch=7) for _ in range(4)]
    added: list[str] = []
    deleted = 0
    losses: list[Loss] = []

    async def trim_all() -> None:
        nonlocal deleted
        for outcome in await asyncio.gather(*(t.trim() for t in trimmers)):
            deleted += outcome.deleted
            losses.extend(outcome.losses)

    for _ in range(10):
        added += await fill(client, stream, 40)
        await trim_all()

    kept = await ids_in(client, stream)
    assert kept == added[-50:]
    assert deleted == len(added) - 50
    assert sum(loss.count for loss in losses) == deleted  # each entry reported once
    assert await client.get(keys.trimmed(3)) == added[-51]


# -- cursors with a gap ------------------------------------------------------------------------


def reader(client: Client, keys: Keys, count: int = 100) -> TransitionReader:
    return TransitionReader(client, keys, block_ms=200, count=count, poll_interval_s=0.02)


async def read_all(
    client: Client, keys: Keys, cursor: str | StreamCursor = START
) -> list[Transition]:
    async with aclosing(reader(client, keys).read(cursor, follow=False)) as transitions:
        return [t async for t in transitions]


async def one_request(client: Client, keys: Keys, versions: int) -> list[Transition]:
    """One request with ``versions`` events (all in its shard); the transitions read."""
    repo = RedisRepository(client, keys)
    record: AfterSale = await commit(repo, applied(keys))
    while record.version < versions:
        record = await commit(repo, contact_recorded(record))
    return await read_all(client, keys)


async def test_a_cursor_below_the_trim_is_refused_with_the_oldest_valid_cursor(
    client: Client, keys: Keys
) -> None:
    read = await one_request(client, keys, 10)
    shard = keys.shard_of_request(read[0].event.request_id)
    await retention(client, keys, retention_ms=HOUR_MS, maxlen=5).trim()  # events 1..5 go

    with pytest.raises(CursorTrimmed) as refused:
        await read_all(client, keys, read[2].position)  # after event 3: 4 and 5 are gone

    assert refused.value.shards == (shard,)
    oldest = refused.value.oldest
    assert oldest.last[shard] == read[4].event_id  # the last trimmed
    resumed = await read_all(client, keys, oldest)
    assert [t.event.version for t in resumed] == [6, 7, 8, 9, 10]
    # at the edge (after the last trimmed event) and after it: no gap, no error
    edge = await read_all(client, keys, read[4].position)
    assert [t.event.version for t in edge] == [6, 7, 8, 9, 10]
    assert [t.event.version for t in await read_all(client, keys, read[5].position)] == [
        7,
        8,
        9,
        10,
    ]
    # from the oldest retained never fails
    assert [t.event.version for t in await read_all(client, keys, START)] == [6, 7, 8, 9, 10]


async def test_a_cursor_from_before_anything_was_trimmed_in_a_shard_has_no_gap(
    client: Client, keys: Keys
) -> None:
    before = await reader(client, keys).resolve(NOW)  # every shard empty
    read = await one_request(client, keys, 3)

    assert [t.event.version for t in await read_all(client, keys, before)] == [1, 2, 3]

    await retention(client, keys, retention_ms=HOUR_MS, maxlen=1).trim()
    with pytest.raises(CursorTrimmed):  # events 1, 2 were trimmed unread
        await read_all(client, keys, before)
    # NOW after a trim that emptied nothing: the newest id; after one that emptied a shard:
    # its watermark, so a later resume has no gap either
    shard = keys.shard_of_request(read[0].event.request_id)
    await retention(client, keys, retention_ms=0, maxlen=1).trim()
    await past(5)
    await retention(client, keys, retention_ms=0, maxlen=1).trim()
    assert await client.xlen(keys.events(shard)) == 0
    now = await reader(client, keys).resolve(NOW)
    assert now.last[shard] == read[-1].event_id
    assert await read_all(client, keys, now) == []


async def test_a_following_reader_that_the_trimmer_passes_ends_with_cursor_trimmed(
    client: Client, keys: Keys
) -> None:
    read = await one_request(client, keys, 8)
    following = reader(client, keys, count=2)
    got: list[int] = []

    with pytest.raises(CursorTrimmed) as refused:
        async with aclosing(following.read(START)) as transitions:
            async for transition in transitions:
                got.append(transition.event.version)
                if len(got) == 2:  # it lags: the trimmer passes it
                    await retention(client, keys, retention_ms=HOUR_MS, maxlen=3).trim()

    assert got == [1, 2]  # nothing after the gap was yielded
    shard = keys.shard_of_request(read[0].event.request_id)
    assert refused.value.oldest.last[shard] == read[4].event_id
