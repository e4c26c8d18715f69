"""The ops status reads (service.storage.status_reads) on Redis and Redis Cluster: memory,
the timer sets with the oldest overdue timers, the flagged index and the retained events."""

from __future__ import annotations

from aftersale.policy import HOUR_MS
from aftersale.vocabulary import Action
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.status_reads import RedisStatusReads
from tests.integration.storage_support import NOW_MS, Client, applied, commit


async def test_the_status_reads_see_memory_timers_and_streams(client: Client) -> None:
    keys = Keys(shards=16)
    repo = RedisRepository(client, keys)
    early = await commit(repo, applied(keys, timer_due_ms=NOW_MS - 2 * HOUR_MS))
    late = await commit(repo, applied(keys, timer_due_ms=NOW_MS - HOUR_MS))
    await commit(repo, applied(keys, timer_due_ms=NOW_MS + HOUR_MS))
    reads = RedisStatusReads(client, keys)

    memory = await reads.memory()
    timers = await reads.timers(NOW_MS, limit=1)
    due = await reads.due_count(NOW_MS)
    flagged = await reads.flagged(limit=5)
    retained = await reads.retained_events()

    assert memory.used_bytes > 0 and memory.policy
    assert (timers.due, timers.pending, timers.leased, due) == (2, 3, 0, 2)
    assert [(t.request_id, t.action, t.due_ms) for t in timers.oldest_overdue] == [
        (early.request_id, Action.MERCHANT_TIMEOUT, NOW_MS - 2 * HOUR_MS)
    ]
    assert late.request_id not in {t.request_id for t in timers.oldest_overdue}
    assert (flagged.count, flagged.oldest) == (0, ())
    assert retained == 3
