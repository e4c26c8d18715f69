"""Retention of finished requests in Redis (issue 12, item 2): the terminal sweep.

The commit script queues every request that reaches a terminal state in its shard's
``{as:NN}:terminal`` (score: the ms it became terminal, the service's clock). No action leaves
a terminal state (they are the machine's final states), so nothing else ever takes a request
out of that queue. Once a request has been terminal for ``retention_ms``, ``SWEEP`` (one Lua
script per shard, single-slot: every name carries the shard's hash tag) deletes its record,
history and listing entries (shop, buyer, order, the shard's ``requests``) **only if the
record's ``a`` equals ``<archive id>:<version>``** for the archive the caller read this pass
(its identity, ``service.archive.identity``) and the record's version: the archiver sets
``a`` to the identity of the archive that committed a version and that version
(``service.archive.marks``), and every commit rewrites the record hash, which clears ``a``.
The check and the deletion are one script, so a request that moved after it was archived, was
never archived, or was archived in an archive since wiped or replaced (another identity), is
never dropped: it stays, counted as *waiting*, until the archive catches up.

The order-line index ``{as:NN}:line:<order>:<sku>`` outlives the request: the sweep gives it
an expiry at the latest after-sale deadline of the line's requests still known (the swept
one's and those of its line still in Redis), never shorter than one it already has, and none
at all while the line has an open request (whose ``apply`` also removed any expiry). Past the
deadline ``apply`` is refused anyway, so the one-open-request, attempt and already-refunded
rules keep holding. The expiry is relative, ``deadline − now`` by the service's clock, so the
line lives exactly as long as the rules need it by the clock that judges them. A line
indexed before lines kept their buyer gets its owner written first (the buyer of the line's
earliest request still listed), since the records that told it are going.

Terminal requests committed by the previous release are not queued. ``WALK`` indexes them:
it walks the shard's ``requests`` zset once, ``walk_batch`` members per call, from a position
kept in ``{as:NN}:terminal:walk`` (score and member; ``done`` once it reached the end), and
queues each terminal record it finds by its ``updated_at_ms`` (when it became terminal: a
terminal record never changes). Every terminal request committed after this release is
queued by the commit, so one walk suffices; deleting the walk keys (ops) walks again, e.g.
after a rolling deploy in which the previous release still committed for a while.

Work per call is bounded: ``batch`` queued requests (each reads its record and its order's
listing), ``walk_batch`` listed ones. Requests past retention that wait (not archived) stay at
the head of the queue; a pass skips over them (``offset``) to reach the ones behind.

The first write of ``SWEEP`` is a deletion, which Redis allows past ``maxmemory`` (a script's
first write decides), so a full Redis can still be swept; ``WALK`` adds, and runs apart from
it so that a refusal of it never stops a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster

from aftersale.groups import TERMINAL_STATES
from service.storage.codec import lua_blob_reader
from service.storage.keys import Keys
from service.storage.scripts import Scripts

# A record's fields the sweep needs, from its blob (either form: codec.lua_blob_reader) or
# the previous release's flat hash. Its timer's zset member: the one the previous release
# stored (_timer_member), else the record's id, version and timer action (keys.timer_member).
_RECORD_OF = (
    lua_blob_reader(
        "state",
        "order_id",
        "sku_id",
        "shop_id",
        "buyer_id",
        "after_sale_deadline_ms",
        "updated_at_ms",
        "timer",
    )
    + """
local prefixes = {}
local function record_of(id)
  local f = redis.call('HMGET', prefixes.req .. id, 'd', 'version', 'a', '_timer_member',
    'state', 'order_id', 'sku_id', 'shop_id', 'buyer_id', 'after_sale_deadline_ms',
    'updated_at_ms')
  if not (f[1] or f[2] or f[5]) then return nil end
  local r = {version = f[2], archived = f[3], timer = f[4]}
  local src = {state = f[5], order_id = f[6], sku_id = f[7], shop_id = f[8], buyer_id = f[9],
               after_sale_deadline_ms = f[10], updated_at_ms = f[11]}
  if f[1] then
    local ok, blob = pcall(blob_fields, f[1])
    if not ok or type(blob) ~= 'table' then r.unreadable = true; return r end
    src = blob
    local timer = blob.timer
    if not r.timer and r.version and type(timer) == 'table' and type(timer.action) == 'string' then
      r.timer = id .. '|' .. r.version .. '|' .. timer.action
    end
  end
  r.state, r.order, r.sku = src.state, src.order_id, src.sku_id
  r.shop, r.buyer = src.shop_id, src.buyer_id
  r.deadline, r.updated = tonumber(src.after_sale_deadline_ms), tonumber(src.updated_at_ms)
  for _, v in ipairs({r.state, r.order, r.sku, r.shop, r.buyer}) do
    if type(v) ~= 'string' then r.unreadable = true end
  end
  if not r.deadline or not r.updated then r.unreadable = true end
  return r
end
local function states(csv)
  local set = {}
  for s in string.gmatch(csv, '[^,]+') do set[s] = true end
  return set
end
"""
)

# SWEEP — one shard's terminal requests past retention, archived at their version.
# KEYS 1 terminal  2 requests  3 flagged  4 timers  5 leased
# ARGV 1 now ms  2 cutoff ms (terminal at or before it: due)  3 offset  4 batch
#      5 terminal states, comma-separated  6..11 name prefixes (Keys.per_request_prefixes)
#      12 the archive's identity (a record is archived when a == identity .. ':' .. version)
# Returns {swept, waiting, dropped, unreadable, examined, oldest terminal ms (-1: none)}
SWEEP = (
    _RECORD_OF
    + """
local terminal_key, requests_key, flagged_key = KEYS[1], KEYS[2], KEYS[3]
local timers_key, leased_key = KEYS[4], KEYS[5]
local now, cutoff = tonumber(ARGV[1]), ARGV[2]
local terminal = states(ARGV[5])
local archive = ARGV[12]
prefixes = {req = ARGV[6], hist = ARGV[7], shop = ARGV[8], buyer = ARGV[9], order = ARGV[10],
            line = ARGV[11]}

-- What the line needs once id goes (read before anything is written): its name, the buyer
-- to write if it has none, whether it keeps no expiry (an open request), the ms it may
-- live (its latest deadline by the service's clock; <= 0: the deadline has passed).
local function line_plan(id, r)
  local line = prefixes.line .. r.order .. ':' .. r.sku
  local held = redis.call('HMGET', line, 'active', 'buyer')
  if redis.call('EXISTS', line) == 0 then return nil end
  local latest, owner = r.deadline, nil
  for _, other in ipairs(redis.call('ZRANGE', prefixes.order .. r.order, 0, -1)) do
    local o = r
    if other ~= id then o = record_of(other) end
    if o and not o.unreadable and o.sku == r.sku then
      if not owner then owner = o.buyer end  -- the listing is by creation: the earliest
      if o.deadline > latest then latest = o.deadline end
    end
  end
  local plan = {line = line, open = held[1] and held[1] ~= id, ttl = latest - now}
  if not held[2] then plan.owner = owner or r.buyer end
  return plan
end

local function sweep(id, r)
  local plan = line_plan(id, r)
  redis.call('DEL', prefixes.req .. id, prefixes.hist .. id)  -- first write: a deletion
  redis.call('ZREM', prefixes.shop .. r.shop, id)
  redis.call('ZREM', prefixes.buyer .. r.buyer, id)
  redis.call('ZREM', prefixes.order .. r.order, id)
  redis.call('ZREM', requests_key, id)
  redis.call('ZREM', flagged_key, id)
  if r.timer then
    redis.call('ZREM', timers_key, r.timer)
    redis.call('ZREM', leased_key, r.timer)
  end
  redis.call('ZREM', terminal_key, id)
  if not plan then return end
  if plan.owner then redis.call('HSET', plan.line, 'buyer', plan.owner) end
  if plan.open then return end  -- an open request's line never expires
  if plan.ttl <= 0 then
    redis.call('DEL', plan.line)  -- past the deadline: apply is refused anyway
    return
  end
  local left = redis.call('PTTL', plan.line)
  if left < 0 or left < plan.ttl then  -- never shorter than an expiry it has
    redis.call('PEXPIRE', plan.line, string.format('%.0f', plan.ttl))
  end
end

local swept, waiting, dropped, unreadable = 0, 0, 0, 0
local due = redis.call('ZRANGEBYSCORE', terminal_key, '-inf', cutoff, 'LIMIT', ARGV[3], ARGV[4])
for _, id in ipairs(due) do
  local r = record_of(id)
  if not r or (not r.unreadable and not terminal[r.state]) then
    redis.call('ZREM', terminal_key, id)  -- no record, or not terminal: nothing to sweep
    dropped = dropped + 1
  elseif r.unreadable then
    unreadable = unreadable + 1  -- kept: the archive and ops read it, not this script
  elseif r.archived and r.version and r.archived == archive .. ':' .. r.version then
    sweep(id, r)
    swept = swept + 1
  else
    waiting = waiting + 1  -- this archive does not hold this version (yet)
  end
end
local head = redis.call('ZRANGE', terminal_key, 0, 0, 'WITHSCORES')
local oldest = -1
if #head > 0 then oldest = head[2] end
return {swept, waiting, dropped, unreadable, #due, oldest}
"""
)

# WALK — queue the terminal requests the previous release committed (not queued by it).
# KEYS 1 terminal  2 requests  3 walk position
# ARGV 1 now ms  2 walk batch  3 terminal states  4 the record names' prefix
# Returns {queued, done (1: the walk reached the end)}
WALK = (
    _RECORD_OF
    + """
local terminal_key, requests_key, walk_key = KEYS[1], KEYS[2], KEYS[3]
local n, terminal = tonumber(ARGV[2]), states(ARGV[3])
prefixes = {req = ARGV[4]}
local at = redis.call('HMGET', walk_key, 'score', 'member', 'done')
if at[3] then return {0, 1} end
local start = 0
if at[2] then  -- after the last member walked; if it is gone, from the first of its score
  local rank = redis.call('ZRANK', requests_key, at[2])
  if rank then start = rank + 1 else
    start = redis.call('ZCOUNT', requests_key, '-inf', '(' .. at[1])
  end
end
local page = redis.call('ZRANGE', requests_key, start, start + n - 1, 'WITHSCORES')
local queued = 0
for i = 1, #page, 2 do
  local id = page[i]
  if not redis.call('ZSCORE', terminal_key, id) then
    local r = record_of(id)
    if r and not r.unreadable and terminal[r.state] then
      redis.call('ZADD', terminal_key, string.format('%.0f', r.updated), id)
      queued = queued + 1
    end
  end
end
if #page < 2 * n then
  redis.call('HSET', walk_key, 'done', ARGV[1])
  return {queued, 1}
end
redis.call('HSET', walk_key, 'score', page[#page], 'member', page[#page - 1])
return {queued, 0}
"""
)

_TERMINAL = ",".join(sorted(s.value for s in TERMINAL_STATES))


@dataclass(frozen=True, slots=True)
class Swept:
    """What one pass over every shard did."""

    swept: int  # requests deleted (archived at their version, past retention)
    waiting: int  # past retention but kept: the archive given does not hold their version
    dropped: int  # queue entries without a record or not terminal (removed from the queue)
    unreadable: int  # past retention, kept: their record does not decode
    oldest_terminal_ms: int | None  # the oldest terminal request still in Redis (None: none)
    queued_by_walk: int  # the previous release's terminal requests queued in this pass
    walk_done: bool  # every shard's walk has reached its end


class TerminalSweep:
    """Deletes finished, archived requests from Redis after ``retention_ms`` (``SWEEP``)
    and queues the previous release's terminal requests (``WALK``)."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        *,
        retention_ms: int,
        batch: int = 100,
        walk_batch: int = 500,
    ) -> None:
        if retention_ms < 0 or batch < 1 or walk_batch < 1:
            raise ValueError("retention_ms >= 0, batch >= 1 and walk_batch >= 1")
        self.keys = keys
        self.retention_ms = retention_ms
        self.batch = batch
        self.walk_batch = walk_batch
        self._scripts = Scripts(client)
        self._sweep = client.register_script(SWEEP)
        self._walk = client.register_script(WALK)
        self._walked: set[int] = set()  # shards whose walk is done (no need to ask again)

    async def sweep(self, now_ms: int, *, archive: str) -> Swept:
        """Sweep every shard once, batch after batch until its due requests are all seen,
        deleting what is marked archived in ``archive`` (the identity of the archive, read
        from it for this pass) at its version."""
        if not archive:
            raise ValueError(f"archive: an archive's identity, not {archive!r}")
        swept = waiting = dropped = unreadable = 0
        oldest: int | None = None
        cutoff = now_ms - self.retention_ms
        offsets = dict.fromkeys(self.keys.all_shards(), 0)
        while offsets:
            shards = list(offsets)
            calls = [self._sweep_call(s, now_ms, cutoff, offsets[s], archive) for s in shards]
            replies = await self._scripts.run_many(self._sweep, calls)
            for shard, reply in zip(shards, replies, strict=True):
                n_swept, n_waiting, n_dropped, n_unreadable, examined, head = map(int, reply)
                swept, waiting = swept + n_swept, waiting + n_waiting
                dropped, unreadable = dropped + n_dropped, unreadable + n_unreadable
                if examined < self.batch:
                    del offsets[shard]
                    if head >= 0 and (oldest is None or head < oldest):
                        oldest = head
                else:  # the kept ones stay ahead of the rest: skip them next time
                    offsets[shard] += n_waiting + n_unreadable
        queued = await self._walk_once(now_ms)
        done = len(self._walked) == self.keys.shards
        return Swept(swept, waiting, dropped, unreadable, oldest, queued, done)

    def _sweep_call(
        self, shard: int, now_ms: int, cutoff_ms: int, offset: int, archive: str
    ) -> tuple[list[str], list[Any]]:
        keys = self.keys
        names = [
            keys.terminal(shard),
            keys.all_requests(shard),
            keys.flagged(shard),
            keys.timers(shard),
            keys.leased(shard),
        ]
        args: list[Any] = [now_ms, cutoff_ms, offset, self.batch, _TERMINAL]
        return names, [*args, *keys.per_request_prefixes(shard), archive]

    async def _walk_once(self, now_ms: int) -> int:
        """One step of each unfinished shard's walk; how many requests it queued."""
        shards = [s for s in self.keys.all_shards() if s not in self._walked]
        if not shards:
            return 0
        calls = [
            (
                [self.keys.terminal(s), self.keys.all_requests(s), self.keys.terminal_walk(s)],
                [now_ms, self.walk_batch, _TERMINAL, self.keys.per_request_prefixes(s)[0]],
            )
            for s in shards
        ]
        replies = await self._scripts.run_many(self._walk, calls)
        queued = 0
        for shard, (n, done) in zip(shards, replies, strict=True):
            queued += int(n)
            if int(done):
                self._walked.add(shard)
        return queued
