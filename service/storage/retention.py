"""Retention of the shard streams that waits for subscribers (issue 10, item 2).

Each shard stream ``{as:NN}:events`` is trimmed by one Lua script per shard (``TRIM``), run
periodically by every serving process (``service.trimming``). Several replicas may run it at
once: each run is atomic, and one finds the stream as the other left it.

- **Soft retention** (``retention_ms``): an entry older than it (by its id, Redis' clock) is
  trimmed only once every consumer group of the stream has acknowledged it. A registered
  subscription is a consumer group, and so is any other group on the stream: all count. A
  group's *floor*, the oldest entry it still needs, is the smaller of its oldest pending entry
  that still exists and the entry after its last-delivered id; the stream is trimmed with
  ``XTRIM MINID`` to the smallest of the soft point and the floors.
- **Hard cap** (``maxlen`` entries per shard): protects Redis from a dead subscriber. What is
  beyond it is trimmed, oldest first, whether acknowledged or not; each group that had not
  acknowledged some of those entries (pending, or not yet delivered) has *lost* them. The
  script reports per group how many and their id range; the caller makes that loud (metric,
  error log) and records it in ``{as}:subscriptions:losses`` (``record_loss``), which the ops
  status shows.
- **Watermark**: the same script stores the id of the last entry it deleted in
  ``{as:NN}:events:trimmed``. Redis 6.2 tells no deleted ids, so this is how a reader knows
  that a cursor has a gap (``stream.CursorTrimmed``): a position below the watermark.

The hard cap trims at most ``batch`` entries per script run (the script holds Redis while it
reads them to count the losses); ``trim`` runs the script again for a shard that has more.

Ids are compared in Lua as numbers: exact below 2^53 ms and 2^53 sequence numbers, which ids
that Redis makes with ``*`` are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster

from service.storage.keys import Keys
from service.storage.scripts import Scripts

# Shared by the scripts: stream ids and the consumer groups of one stream.
_IDS_AND_GROUPS = """
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function id_less(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  return am < bm or (am == bm and as < bs)
end
local function id_after(id)  -- the smallest id greater than id
  local ms, seq = id_parts(id)
  return string.format('%.0f-%.0f', ms, seq + 1)
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The consumer groups of stream, whose oldest entry is oldest (nil: none): name, last
-- delivered id, pending count, the oldest pending id that still exists (nil: none) and the
-- lag (Redis 7; nil on 6.2 or when Redis cannot tell).
local function groups_of(stream, oldest)
  local out = {}
  for _, raw in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local g = {}
    for i = 1, #raw, 2 do g[raw[i]] = raw[i + 1] end
    local group = {name = g['name'], delivered = g['last-delivered-id'],
                   pending = tonumber(g['pending']), lag = tonumber(g['lag'])}
    if group.pending > 0 and oldest then
      -- ids of trimmed entries stay in the PEL (6.2): they pin nothing
      local first = redis.call('XPENDING', stream, group.name, oldest, '+', 1)
      if #first > 0 then group.first_pending = first[1][1] end
    end
    out[#out + 1] = group
  end
  return out
end
-- The oldest id a group still needs: its oldest pending entry, or the one after the last
-- delivered to it.
local function floor_of(group)
  local floor = id_after(group.delivered)
  if group.first_pending and id_less(group.first_pending, floor) then
    floor = group.first_pending
  end
  return floor
end
local function oldest_of(stream)
  local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  if #head == 0 then return nil end
  return head[1][1]
end
"""

# TRIM — one shard stream's soft retention and hard cap, and its watermark.
# KEYS 1 stream  2 watermark   ARGV 1 soft retention ms  2 hard cap (entries)  3 batch
# Returns {deleted, more (1: the cap needs another run), {{group, lost, first id, last id}...}}
TRIM = (
    _IDS_AND_GROUPS
    + """
local stream, mark = KEYS[1], KEYS[2]
if redis.call('EXISTS', stream) == 0 then return {0, 0, {}} end
local oldest = oldest_of(stream)
if not oldest then return {0, 0, {}} end
local groups = groups_of(stream, oldest)
local deleted, last, more, losses = 0, nil, 0, {}

local target = string.format('%.0f-0', math.max(0, now_ms() - tonumber(ARGV[1])))
for _, group in ipairs(groups) do
  local floor = floor_of(group)
  if id_less(floor, target) then target = floor end
end
if id_less(oldest, target) then
  last = redis.call('XREVRANGE', stream, '(' .. target, '-', 'COUNT', 1)[1][1]
  deleted = redis.call('XTRIM', stream, 'MINID', target)
end

local excess = redis.call('XLEN', stream) - tonumber(ARGV[2])
if excess > 0 then
  local n = math.min(excess, tonumber(ARGV[3]))
  if n < excess then more = 1 end
  local doomed = redis.call('XRANGE', stream, '-', '+', 'COUNT', n)
  local first_id, last_id = doomed[1][1], doomed[#doomed][1]
  for _, group in ipairs(groups) do
    local lost, low, high = 0, nil, nil
    for i = #doomed, 1, -1 do  -- not delivered to the group yet
      local id = doomed[i][1]
      if not id_less(group.delivered, id) then break end
      lost, low = lost + 1, id
      if not high then high = id end
    end
    if group.pending > 0 then  -- delivered, not acknowledged
      local unacked = redis.call('XPENDING', stream, group.name, first_id, last_id, n)
      if #unacked > 0 then
        lost = lost + #unacked
        if not low or id_less(unacked[1][1], low) then low = unacked[1][1] end
        if not high or id_less(high, unacked[#unacked][1]) then high = unacked[#unacked][1] end
      end
    end
    if lost > 0 then losses[#losses + 1] = {group.name, lost, low, high} end
  end
  deleted = deleted + redis.call('XTRIM', stream, 'MINID', id_after(last_id))
  last = last_id
end
if last then redis.call('SET', mark, last) end
return {deleted, more, losses}
"""
)

# GROUPS — what ops see of one shard stream's consumer groups.
# KEYS 1 stream   Returns {{name, pending, oldest unacknowledged age ms (-1: none),
# lag (-1: unknown)}...}
GROUPS = (
    _IDS_AND_GROUPS
    + """
local stream = KEYS[1]
if redis.call('EXISTS', stream) == 0 then return {} end
local oldest = oldest_of(stream)
local now = now_ms()
local out = {}
for _, group in ipairs(groups_of(stream, oldest)) do
  local unacked = group.first_pending
  local unread = redis.call('XRANGE', stream, '(' .. group.delivered, '+', 'COUNT', 1)
  if #unread > 0 and (not unacked or id_less(unread[1][1], unacked)) then
    unacked = unread[1][1]
  end
  local age = -1
  if unacked then age = math.max(0, now - id_parts(unacked)) end
  out[#out + 1] = {group.name, group.pending, age, group.lag or -1}
end
return out
"""
)

# LOSS — add a loss to a subscription's mark.
# KEYS 1 losses hash   ARGV 1 group  2 lost  3 at ms  4 shard  5 first id  6 last id
# Returns the group's count of lost events so far.
LOSS = """
local count = tonumber(ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, mark = pcall(cjson.decode, old)
  if ok and type(mark) == 'table' and tonumber(mark.count) then
    count = count + tonumber(mark.count)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({
  count = count, last_lost_at_ms = tonumber(ARGV[3]), shard = tonumber(ARGV[4]),
  first_id = ARGV[5], last_id = ARGV[6]}))
return count
"""


@dataclass(frozen=True, slots=True)
class Loss:
    """Entries of a shard that the hard cap trimmed before ``subscription`` acknowledged
    them: ``count`` of them, from ``first_id`` to ``last_id``."""

    subscription: str
    shard: int
    count: int
    first_id: str
    last_id: str


@dataclass(frozen=True, slots=True)
class Trimmed:
    """What trimming all shards did."""

    deleted: int
    losses: tuple[Loss, ...]


@dataclass(frozen=True, slots=True)
class LossMark:
    """A subscription's record of lost events (``{as}:subscriptions:losses``)."""

    count: int
    last_lost_at_ms: int
    shard: int
    first_id: str
    last_id: str


@dataclass(frozen=True, slots=True)
class GroupState:
    """One consumer group on one shard stream, as ops see it."""

    name: str
    pending: int
    oldest_unacked_age_ms: int  # -1: nothing unacknowledged that still exists
    lag: int  # -1: unknown (Redis 6.2 does not tell)


class StreamRetention:
    """Trims the shard streams (``TRIM``) and keeps the subscriptions' loss marks."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        *,
        retention_ms: int,
        maxlen: int,
        batch: int = 1_000,
    ) -> None:
        self.client = client
        self.keys = keys
        self.retention_ms = retention_ms
        self.maxlen = maxlen
        self.batch = batch
        self._scripts = Scripts(client)
        self._trim = client.register_script(TRIM)
        self._groups = client.register_script(GROUPS)

    async def trim(self) -> Trimmed:
        """Trim every shard stream once (a shard over the cap by more than ``batch``: again,
        until it is not)."""
        deleted, losses = 0, list[Loss]()
        todo = list(self.keys.all_shards())
        while todo:
            calls = [
                (
                    [self.keys.events(shard), self.keys.trimmed(shard)],
                    [self.retention_ms, self.maxlen, self.batch],
                )
                for shard in todo
            ]
            replies = await self._scripts.run_many(self._trim, calls)
            again = []
            for shard, (count, more, lost) in zip(todo, replies, strict=True):
                deleted += int(count)
                losses.extend(
                    Loss(str(name), shard, int(n), str(low), str(high))
                    for name, n, low, high in lost
                )
                if int(more):
                    again.append(shard)
            todo = again
        return Trimmed(deleted, tuple(losses))

    async def record_loss(self, loss: Loss, at_ms: int) -> int:
        """Add ``loss`` to its subscription's mark; the subscription's total lost so far."""
        return await record_loss(self.client, self.keys, loss, at_ms)

    async def loss_marks(self) -> dict[str, LossMark]:
        """Every subscription's loss mark, by name (a mark that does not decode is shown
        as one lost event of unknown range rather than hidden)."""
        raw: dict[Any, Any] = await self.client.hgetall(self.keys.subscription_losses())
        return {str(name): loss_mark(value) for name, value in raw.items()}

    async def groups(self) -> list[list[GroupState]]:
        """The consumer groups of each shard stream, by shard."""
        calls = [([self.keys.events(shard)], list[Any]()) for shard in self.keys.all_shards()]
        replies = await self._scripts.run_many(self._groups, calls)
        return [
            [GroupState(str(n), int(p), int(age), int(lag)) for n, p, age, lag in reply]
            for reply in replies
        ]


async def record_loss(client: Redis | RedisCluster, keys: Keys, loss: Loss, at_ms: int) -> int:
    """Add ``loss`` to its subscription's mark (one hash for every cause: the hard cap here,
    dead letters dropped at their cap in ``subscriptions``); the total lost so far."""
    args: list[str | int] = [
        loss.subscription, loss.count, at_ms, loss.shard, loss.first_id, loss.last_id
    ]  # fmt: skip
    script = client.register_script(LOSS)  # a local SHA-1 only: losses are rare
    return int(await script(keys=[keys.subscription_losses()], args=args))


def loss_mark(value: Any) -> LossMark:
    """A loss mark as stored (one lost event of unknown range if it does not decode)."""
    try:
        data = json.loads(value)
        return LossMark(
            int(data["count"]),
            int(data["last_lost_at_ms"]),
            int(data["shard"]),
            str(data["first_id"]),
            str(data["last_id"]),
        )
    except (ValueError, TypeError, KeyError):
        return LossMark(1, 0, -1, "", "")
