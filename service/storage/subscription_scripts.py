"""The Lua scripts of durable subscriptions. Each runs in one hash slot: a shard's stream, its
retry and dead-letter streams and its lease key all carry the shard's ``{as:NN}`` tag.

Fields a subscription adds to an entry it copies (dead letter, replay) start with ``_sub_``;
readers drop them before decoding the event (``service.storage.subscriptions.event_fields``).
"""

from __future__ import annotations

META_PREFIX = "_sub_"
ORIGINAL_ID = "_sub_id"  # the event's id in its shard stream (what consumers know it by)
DELIVERIES = "_sub_deliveries"  # deliveries it had when it was set aside
DEAD_MS = "_sub_dead_ms"  # when it was set aside

# DEAD_LETTER — set an entry aside and acknowledge it, atomically (so it is never both
# pending and dead, nor neither). A replayed entry (from the retry stream) is also deleted
# there: nothing but this subscription reads that stream.
# KEYS 1 source stream  2 dead-letter stream
# ARGV 1 group  2 entry id  3 dead-letter cap  4 deliveries  5 now ms  6 "1": delete the source
# Returns {dead-letter id or false (the entry is gone: trimmed), dead letters dropped (cap)}.
DEAD_LETTER = """
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if ARGV[6] == '1' then redis.call('XDEL', KEYS[1], ARGV[2]) end
if #found == 0 then return {false, 0} end
local fields, out, original = found[1][2], {}, ARGV[2]
for i = 1, #fields, 2 do
  if fields[i] == '_sub_id' then
    original = fields[i + 1]
  elseif string.sub(fields[i], 1, 5) ~= '_sub_' then
    out[#out + 1] = fields[i]
    out[#out + 1] = fields[i + 1]
  end
end
for _, v in ipairs({'_sub_id', original, '_sub_deliveries', ARGV[4], '_sub_dead_ms', ARGV[5]}) do
  out[#out + 1] = v
end
local dropped = 0
local cap = tonumber(ARGV[3])
if redis.call('XLEN', KEYS[2]) >= cap then
  dropped = redis.call('XTRIM', KEYS[2], 'MAXLEN', cap - 1)
end
local id = redis.call('XADD', KEYS[2], '*', unpack(out))
return {id, dropped}
"""

# REPLAY — move dead letters to the subscription's retry stream (its group reads it), where
# they count their deliveries afresh.
# KEYS 1 dead-letter stream  2 retry stream      ARGV dead-letter ids
# Returns how many were moved (ids no longer there are skipped).
REPLAY = """
local moved = 0
for _, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found > 0 then
    local fields, out = found[1][2], {}
    for i = 1, #fields, 2 do
      if fields[i] ~= '_sub_deliveries' and fields[i] ~= '_sub_dead_ms' then
        out[#out + 1] = fields[i]
        out[#out + 1] = fields[i + 1]
      end
    end
    redis.call('XADD', KEYS[2], '*', unpack(out))
    redis.call('XDEL', KEYS[1], id)
    moved = moved + 1
  end
end
return moved
"""

# RENEW — extend a shard lease we hold.  KEYS 1 lease  ARGV 1 session  2 TTL ms
# Returns 1, or 0 when the lease is no longer ours (it expired and another session took it).
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# RELEASE — give a shard lease back, if it is still ours.  KEYS 1 lease  ARGV 1 session
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
