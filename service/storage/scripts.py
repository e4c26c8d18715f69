"""The Lua scripts: each runs in one hash slot (all its KEYS share one ``{as:NN}`` tag), so it
works unchanged on Redis Cluster. Loaded once with SCRIPT LOAD and run with EVALSHA through
redis-py's ``register_script`` (which reloads after a NOSCRIPT, e.g. after a server restart).

Redis 6.2 replicates a script's effects, so ``XADD *`` inside a script is fine.
Records keep one storage-only field, ``_timer_member``: the timer zset member registered for
the record, so the commit removes exactly that member without the caller computing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

TIMER_MEMBER_FIELD = "_timer_member"

# COMMIT — one command's whole write (DESIGN §2 step 4). Checks first, then writes: a refused
# commit writes nothing. A replay of a committed call is a no-op: it finds its idempotency key
# (returns the first result) or, without a key, fails the version check.
#
# KEYS  1 record   2 history  3 events   4 timers   5 leased   6 line   7 idempotency
#       8 shop listing   9 buyer listing   10 order listing   11 shop stats   12 shard listing
# ARGV  1 request_id     2 read_version    3 new_version
#       4 record: the new record's blob (codec.encode_record)
#       5 event:  JSON array [field, value, ...] (TransitionEvent.to_flat)
#       6 stream MAXLEN (~)
#       7 new timer member ("" = none)      8 its due ms
#       9 leased member this commit fires ("" = none): removed from the lease set
#       10 line op: "apply" | "modify" | ""  11 max attempts per line
#       12 "1" if the new state is terminal  13 "1" if it is a success state
#       14 listing score (created ms; used by "apply")
#       15 "1" to use idempotency   16 body hash   17 (unused)   18 idempotency TTL (s)
#       19 shop counters: JSON array [field, "increment", ...]
# Returns {"OK", event_id} | {"REPLAY", first event_id, first record blob, legacy result}
#       | {"VERSION", actual_version} | {"IDEMPOTENCY_MISMATCH", ""}
#       | {"LIMIT", reason, detail}
COMMIT = """
local rid = ARGV[1]
if ARGV[15] == '1' then
  local stored = redis.call('HMGET', KEYS[7], 'h', 'e', 'd', 'r')
  if stored[1] then
    if stored[1] == ARGV[16] then
      return {'REPLAY', stored[2] or '', stored[3] or '', stored[4] or ''}
    end
    return {'IDEMPOTENCY_MISMATCH', ''}
  end
end

local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[2]) then
  return {'VERSION', tostring(current)}
end

local line_op = ARGV[10]
local max_attempts = tonumber(ARGV[11])
if line_op == 'apply' then
  local line = redis.call('HMGET', KEYS[6], 'active', 'attempts', 'succeeded')
  if line[3] then return {'LIMIT', 'LINE_ALREADY_REFUNDED', line[3]} end
  if line[1] and line[1] ~= rid then return {'LIMIT', 'LINE_HAS_OPEN_REQUEST', line[1]} end
  if tonumber(line[2] or '0') >= max_attempts then
    return {'LIMIT', 'LINE_ATTEMPT_LIMIT', line[2]}
  end
elseif line_op == 'modify' then
  local attempts = redis.call('HGET', KEYS[6], 'attempts') or '0'
  if tonumber(attempts) >= max_attempts then return {'LIMIT', 'LINE_ATTEMPT_LIMIT', attempts} end
end

-- every check passed: write
local old_member = redis.call('HGET', KEYS[1], '_timer_member')
local new_member = ARGV[7]
local record = {'d', ARGV[4], 'version', ARGV[3]}
if new_member ~= '' then
  record[#record + 1] = '_timer_member'
  record[#record + 1] = new_member
end
redis.call('DEL', KEYS[1])  -- a record in the previous release's flat form loses its fields
redis.call('HSET', KEYS[1], unpack(record))

local event = cjson.decode(ARGV[5])
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', unpack(event))
local entry = {event_id = id}
for i = 1, #event, 2 do entry[event[i]] = event[i + 1] end
redis.call('RPUSH', KEYS[2], cjson.encode(entry))

if old_member then
  redis.call('ZREM', KEYS[4], old_member)
  redis.call('ZREM', KEYS[5], old_member)
end
if ARGV[9] ~= '' then redis.call('ZREM', KEYS[5], ARGV[9]) end
if new_member ~= '' then redis.call('ZADD', KEYS[4], ARGV[8], new_member) end

if line_op == 'apply' then
  redis.call('HSET', KEYS[6], 'active', rid)
  redis.call('HINCRBY', KEYS[6], 'attempts', 1)
  redis.call('ZADD', KEYS[8], ARGV[14], rid)
  redis.call('ZADD', KEYS[9], ARGV[14], rid)
  redis.call('ZADD', KEYS[10], ARGV[14], rid)
  redis.call('ZADD', KEYS[12], ARGV[14], rid)
elseif line_op == 'modify' then
  redis.call('HINCRBY', KEYS[6], 'attempts', 1)
end
if ARGV[12] == '1' and redis.call('HGET', KEYS[6], 'active') == rid then
  redis.call('HDEL', KEYS[6], 'active')
end
if ARGV[13] == '1' then redis.call('HSET', KEYS[6], 'succeeded', rid) end

local stats = cjson.decode(ARGV[19])
for i = 1, #stats, 2 do redis.call('HINCRBY', KEYS[11], stats[i], stats[i + 1]) end

if ARGV[15] == '1' then
  redis.call('HSET', KEYS[7], 'h', ARGV[16], 'd', ARGV[4], 'e', id)
  redis.call('EXPIRE', KEYS[7], ARGV[18])
end
return {'OK', id}
"""

# RECLAIM — leases that expired (a worker died or stalled) become due now, for any worker.
# KEYS 1 timers  2 leased      ARGV 1 now ms  2 batch      Returns how many moved.
RECLAIM = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], ARGV[1], member)
end
return #expired
"""

# CLAIM — lease the due timers of one shard, earliest first.
# KEYS 1 timers  2 leased      ARGV 1 now ms  2 batch  3 lease deadline ms
# Returns [member, due_ms, member, due_ms, ...] of the members now leased to the caller.
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
for i = 1, #due, 2 do
  redis.call('ZREM', KEYS[1], due[i])
  redis.call('ZADD', KEYS[2], ARGV[3], due[i])
end
return due
"""

# FIRE_NOW — make a request's pending timer due now (ops, tests).
# KEYS 1 record  2 timers  3 leased     ARGV 1 now ms
# Returns {status, member}: status DUE (moved to now), LEASED (a worker is firing it),
# RESTORED (the member was missing from both sets and is put back as due), NONE (no timer).
FIRE_NOW = """
local member = redis.call('HGET', KEYS[1], '_timer_member')
if not member then return {'NONE', ''} end
if redis.call('ZSCORE', KEYS[3], member) then return {'LEASED', member} end
local status = 'DUE'
if not redis.call('ZSCORE', KEYS[2], member) then status = 'RESTORED' end
redis.call('ZADD', KEYS[2], ARGV[1], member)
return {status, member}
"""

# TIMER_STATUS — read-only: a request's timer member and where it is.
# KEYS 1 record  2 timers  3 leased     Returns {member, due score, lease score} ('' if absent)
TIMER_STATUS = """
local member = redis.call('HGET', KEYS[1], '_timer_member')
if not member then return {'', '', ''} end
local due = redis.call('ZSCORE', KEYS[2], member) or ''
local lease = redis.call('ZSCORE', KEYS[3], member) or ''
return {member, due, lease}
"""

# RELEASE — give a leased member back as due at ARGV[2] (a worker that cannot fire it now).
# KEYS 1 timers  2 leased       ARGV 1 member  2 due ms      Returns 1 if it was leased
RELEASE = """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
"""

# ACK_SEEN — a subscriber finished an entry: mark (request, version) seen and XACK, atomically.
# KEYS 1 stream  2 seen mark   ARGV 1 group  2 entry id  3 mark TTL (s)
ACK_SEEN = """
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
"""


class Scripts:
    """The scripts registered on one client (standalone or cluster)."""

    def __init__(self, client: Redis | RedisCluster) -> None:
        self.client = client
        self.commit = client.register_script(COMMIT)
        self.reclaim = client.register_script(RECLAIM)
        self.claim = client.register_script(CLAIM)
        self.fire_now = client.register_script(FIRE_NOW)
        self.timer_status = client.register_script(TIMER_STATUS)
        self.release = client.register_script(RELEASE)
        self.ack_seen = client.register_script(ACK_SEEN)

    async def load(self, script: AsyncScript) -> None:
        """SCRIPT LOAD ``script`` (on every primary of a cluster)."""
        script.sha = await self.client.script_load(script.script)

    async def run_many(
        self, script: AsyncScript, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
    ) -> list[Any]:
        """Run ``script`` once per (keys, args) in one pipeline (fanned out per node on a
        cluster). Calls refused with NOSCRIPT (a restarted server) did not run: load the script
        and run just those again. Any other error is raised."""
        results: list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for i in todo:
                keys, args = calls[i]
                # execute_command: the cluster pipeline blocks its evalsha() method, not EVALSHA
                pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
            missing = []
            for i, reply in zip(todo, replies, strict=True):
                if isinstance(reply, NoScriptError) and attempt == 1:
                    missing.append(i)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    results[i] = reply
            if not missing:
                break
            await self.load(script)
            todo = missing
        return results
