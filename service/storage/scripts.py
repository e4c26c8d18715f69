"""The Lua scripts (the commit's with its payload in ``commit.py``): each runs in one hash
slot (all its KEYS share one ``{as:NN}`` tag), so it works unchanged on Redis Cluster. Loaded
once with SCRIPT LOAD and run with EVALSHA through redis-py's ``register_script`` (which
reloads after a NOSCRIPT, e.g. after a server restart).

Redis 6.2 replicates a script's effects, so ``XADD *`` inside a script is fine.
A record hash keeps no timer field: the record's timer zset member is its id, version and
timer action (``keys.timer_member``). A record written by the previous release still has
``_timer_member`` (that member), which the commit and the retention sweep use while it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from service.storage.codec import lua_blob_reader, lua_leading_id_pattern
from service.storage.commit import COMMIT

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

# LOAD_WITH_IDEMPOTENCY — a request's record and the first result of an idempotency key on
# the request's order, in one round trip, although only the record knows the order id that
# the key's name holds. That key shares the record's slot (every key of an order carries the
# shard's hash tag), so the script stays single-slot on a cluster; it cannot be in KEYS, whose
# names are known before the script runs.
# KEYS 1 record  2 the previous release's key of the call (per caller and shard)
# ARGV 1 the key's name before the order id  2 after it
# Returns {record hash [field, value, ...], {h, d, r, v, e, i} of the key, the same of the
# previous release's key when the key is unused, else {}}; a missing record: {{}, {}, {}}.
LOAD_WITH_IDEMPOTENCY = (
    lua_blob_reader("order_id")
    + """
local record = redis.call('HGETALL', KEYS[1])
if #record == 0 then return {record, {}, {}} end
local blob, order
for i = 1, #record, 2 do
  if record[i] == 'd' then blob = record[i + 1] end
  if record[i] == 'order_id' then order = record[i + 1] end  -- the previous release's form
end
if blob then  -- the fields before order_id are ids (no escapes): no decode for the common case
  order = string.match(blob, '"""
    + lua_leading_id_pattern("order_id")
    + """')
  -- the previous release's object form: msgspec writes request_id, then order_id
  if not order then order = string.match(blob, '^{"request_id":"[^"]*","order_id":"([^"]*)"') end
  if not order then
    local ok, decoded = pcall(blob_fields, blob)
    if ok and type(decoded) == 'table' then order = decoded.order_id end
  end
end
if type(order) ~= 'string' then  -- a record that does not decode: the caller names it
  local none = {false, false, false, false, false, false}
  return {record, none, none}
end
local stored = redis.call('HMGET', ARGV[1] .. order .. ARGV[2], 'h', 'd', 'r', 'v', 'e', 'i')
if stored[1] then return {record, stored, {}} end
return {record, stored, redis.call('HMGET', KEYS[2], 'h', 'd', 'r', 'v', 'e', 'i')}
"""
)


class Scripts:
    """The scripts registered on one client (standalone or cluster)."""

    def __init__(self, client: Redis | RedisCluster) -> None:
        self.client = client
        self.commit = client.register_script(COMMIT)
        self.load_with_idempotency = client.register_script(LOAD_WITH_IDEMPOTENCY)
        self.reclaim = client.register_script(RECLAIM)
        self.claim = client.register_script(CLAIM)

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
