"""The Redis reads behind the ops status (``service.status``): memory, the timer sets, the
flagged requests, the retained streams and the subscriptions (consumer groups) on them. Each
is one pipeline over the shards (fanned out per node on a cluster); nothing scans the key
space."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster

from aftersale.vocabulary import Action
from service.storage.keys import Keys, parse_timer_member
from service.storage.retention import LossMark, StreamRetention


@dataclass(frozen=True, slots=True)
class Memory:
    """INFO memory (summed over a cluster's primaries)."""

    used_bytes: int
    max_bytes: int  # 0: no limit
    policy: str


@dataclass(frozen=True, slots=True)
class OverdueTimer:
    request_id: str
    version: int
    action: Action
    due_ms: int


@dataclass(frozen=True, slots=True)
class TimerBacklog:
    due: int  # due now, not claimed
    leased: int  # claimed, not committed
    pending: int  # scheduled (due or not), not claimed
    oldest_overdue: tuple[OverdueTimer, ...]


@dataclass(frozen=True, slots=True)
class FlaggedRequest:
    request_id: str
    flagged_at_ms: int


@dataclass(frozen=True, slots=True)
class Flagged:
    count: int
    oldest: tuple[FlaggedRequest, ...]


@dataclass(frozen=True, slots=True)
class SubscriptionBacklog:
    """A subscription (a consumer group, by name, on the shard streams) as ops see it."""

    name: str
    pending: int  # delivered, not acknowledged, summed over the shards
    unread: int | None  # not delivered yet (Redis 7 tells; None on 6.2)
    oldest_unacked_age_ms: int | None  # the oldest entry it has not acknowledged; None: none
    lost: LossMark | None  # events the hard cap trimmed before it acknowledged them


class RedisStatusReads:
    """Read-only views of the shards for ops."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        retention: StreamRetention | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        # only its reads (groups, loss marks) are used here
        self.retention = retention or StreamRetention(client, keys, retention_ms=0, maxlen=1)

    async def memory(self) -> Memory:
        if isinstance(self.client, RedisCluster):
            replies: Any = await self.client.info("memory", target_nodes=RedisCluster.PRIMARIES)
            infos = list(replies.values())
        else:
            infos = [await self.client.info("memory")]
        policies = sorted({str(info.get("maxmemory_policy", "")) for info in infos})
        return Memory(
            used_bytes=sum(int(info.get("used_memory", 0)) for info in infos),
            max_bytes=sum(int(info.get("maxmemory", 0)) for info in infos),
            policy=",".join(policies),
        )

    async def timers(self, now_ms: int, limit: int) -> TimerBacklog:
        """Counts of the timer sets, and the ``limit`` (>= 1) longest overdue timers."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            timers = self.keys.timers(shard)
            pipe.zcount(timers, "-inf", now_ms)
            pipe.zcard(timers)
            pipe.zcard(self.keys.leased(shard))
            pipe.zrangebyscore(timers, "-inf", now_ms, start=0, num=limit, withscores=True)
        replies = await pipe.execute()
        due = pending = leased = 0
        heads: list[tuple[float, str]] = []
        for count, size, claimed, head in zip(*[iter(replies)] * 4, strict=True):
            due, pending, leased = due + int(count), pending + int(size), leased + int(claimed)
            heads.extend((float(score), str(member)) for member, score in head)
        oldest = []
        for score, member in heapq.nsmallest(limit, heads):
            try:
                timer = parse_timer_member(member)
            except ValueError:
                continue  # the worker drops it with a warning when it claims it
            oldest.append(OverdueTimer(timer.request_id, timer.version, timer.action, int(score)))
        return TimerBacklog(due, leased, pending, tuple(oldest))

    async def due_count(self, now_ms: int) -> int:
        """Timers due by ``now_ms`` and not claimed, over all shards."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.zcount(self.keys.timers(shard), "-inf", now_ms)
        return sum(int(n) for n in await pipe.execute())

    async def flagged(self, limit: int) -> Flagged:
        """How many requests are flagged for ops, and the ``limit`` (>= 1) flagged longest."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.zcard(self.keys.flagged(shard))
            pipe.zrange(self.keys.flagged(shard), 0, limit - 1, withscores=True)
        replies = await pipe.execute()
        count = sum(int(n) for n in replies[0::2])
        rows = [(float(score), str(rid)) for head in replies[1::2] for rid, score in head]
        oldest = tuple(FlaggedRequest(rid, int(ms)) for ms, rid in heapq.nsmallest(limit, rows))
        return Flagged(count, oldest)

    async def retained_events(self) -> int:
        """Transition events kept in the shard streams (XLEN summed)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.xlen(self.keys.events(shard))
        return sum(int(n) for n in await pipe.execute())

    async def subscriptions(self) -> list[SubscriptionBacklog]:
        """Every consumer group on the shard streams, and every subscription that lost
        events (even if its group is gone), by name."""
        groups = await self.retention.groups()
        marks = await self.retention.loss_marks()
        names = sorted({g.name for shard in groups for g in shard} | set(marks))
        out = []
        for name in names:
            mine = [g for shard in groups for g in shard if g.name == name]
            ages = [g.oldest_unacked_age_ms for g in mine if g.oldest_unacked_age_ms >= 0]
            lags = [g.lag for g in mine]
            unread = sum(lags) if mine and min(lags) >= 0 else None
            out.append(
                SubscriptionBacklog(
                    name=name,
                    pending=sum(g.pending for g in mine),
                    unread=unread,
                    oldest_unacked_age_ms=max(ages) if ages else None,
                    lost=marks.get(name),
                )
            )
        return out
