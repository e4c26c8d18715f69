"""Durable timers (DESIGN §4, SPEC §6): one zset per shard, claimed with a lease.

Member ``<request_id>|<version>|<action>`` (``keys.timer_member``), score = due ms. Every
commit registers the record's pending timer under the record's new version and removes the
previous member from both sets, so a member is current exactly while its record is at that
version, and a member whose request moved on is already gone from both sets.

A worker round: ``reclaim_expired(now)`` hands expired leases back as due; ``claim_due``
moves due members to ``{as:NN}:timers:leased`` (score = lease deadline) and returns them
parsed (``TimerMember``); the worker fires each through the handler path
(``FireTimer(action, version)``) and the commit, given ``leased_timer_member``, removes the
lease. A member that turns out stale is ``drop``-ped. ``next_due_ms`` (the earliest due time
or lease deadline) bounds the sleep. Every call is one pipeline of per-shard scripts or reads
(fanned out per node on a cluster).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis, RedisCluster

from service.storage.keys import Keys, parse_timer_member
from service.storage.ports import TimerMember, TimerStore
from service.storage.scripts import Scripts

log = logging.getLogger(__name__)


class RedisTimerStore:
    """The Redis adapter of ``TimerStore``."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        *,
        lease_ms: int = 30_000,
        scripts: Scripts | None = None,
        reclaim_batch: int = 1_000,
    ) -> None:
        self.client = client
        self.keys = keys
        self.lease_ms = lease_ms  # claim_due's default lease
        self.scripts = scripts or Scripts(client)
        self.reclaim_batch = reclaim_batch

    async def reclaim_expired(self, now_ms: int) -> int:
        """Move leases that expired by ``now_ms`` back to the due set (score now)."""
        calls = [
            ([self.keys.timers(s), self.keys.leased(s)], [now_ms, self.reclaim_batch])
            for s in self.keys.all_shards()
        ]
        return sum(int(n) for n in await self.scripts.run_many(self.scripts.reclaim, calls))

    async def claim_due(
        self, now_ms: int, lease_ms: int | None = None, batch: int = 200
    ) -> list[TimerMember]:
        """Lease about ``batch`` members in all, due by ``now_ms``, until ``now + lease_ms``;
        earliest due first. Each member is claimed by one caller until its lease expires.
        The batch is spread over the shards (at least one each), so a round stays short next
        to the lease and a backlog is shared fairly among workers. A member this service
        cannot have written is dropped with a warning: it would never fire."""
        lease_until = now_ms + (self.lease_ms if lease_ms is None else lease_ms)
        shards = self.keys.all_shards()
        per_shard = max(1, -(-batch // len(shards)))
        calls = [
            ([self.keys.timers(s), self.keys.leased(s)], [now_ms, per_shard, lease_until])
            for s in shards
        ]
        claimed: list[tuple[float, str]] = []
        for reply in await self.scripts.run_many(self.scripts.claim, calls):
            claimed.extend((float(reply[i + 1]), str(reply[i])) for i in range(0, len(reply), 2))
        claimed.sort()
        timers, malformed = [], []
        for _, member in claimed:
            try:
                timer = parse_timer_member(member)
                self.keys.shard_of_request(timer.request_id)
            except ValueError:
                log.warning("dropped a malformed timer member member=%r", member)
                malformed.append(member)
                continue
            timers.append(timer)
        await self.drop_many(malformed)
        return timers

    async def next_due_ms(self) -> int | None:
        """The earliest due time or lease deadline over all shards; None when all are empty."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.zrange(self.keys.timers(shard), 0, 0, withscores=True)
            pipe.zrange(self.keys.leased(shard), 0, 0, withscores=True)
        heads: list[list[tuple[str, float]]] = await pipe.execute()
        scores = [int(rows[0][1]) for rows in heads if rows]
        return min(scores) if scores else None

    def _shard_of_member(self, member: str) -> int | None:
        try:
            return self.keys.shard_of_request(member.split("|", 1)[0])
        except ValueError:
            return None

    async def drop(self, member: str) -> None:
        """Remove ``member`` from the due and the leased set (stale, or not ours)."""
        await self.drop_many([member])

    async def drop_many(self, members: Sequence[str]) -> None:
        """``drop`` each of ``members``, in one pipeline (one ZREM per set they are in)."""
        if not members:
            return
        by_shard: dict[int, list[str]] = {}
        for member in members:
            shard = self._shard_of_member(member)
            for s in self.keys.all_shards() if shard is None else [shard]:
                by_shard.setdefault(s, []).append(member)
        pipe = self.client.pipeline(transaction=False)
        for s, dropped in by_shard.items():
            pipe.zrem(self.keys.timers(s), *dropped)
            pipe.zrem(self.keys.leased(s), *dropped)
        await pipe.execute()


__all__ = ["RedisTimerStore", "TimerMember", "TimerStore"]
