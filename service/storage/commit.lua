-- COMMIT: one command's whole write (DESIGN §2 step 4), run by service/storage/commit.py.
-- Its KEYS are named by a `local` line commit.py puts in front (CommitKeys, in order), and
-- blob_fields (codec.lua_blob_reader: a record blob's fields by name, either form) after it;
-- ARGV[1] is the JSON CommitHeader, ARGV[2] the record blob. Checks first, then writes.
local h = cjson.decode(ARGV[1])
local record = ARGV[2]
local rid = h.request_id

-- The buyer of the first request of a line indexed before lines kept their buyer: the
-- earliest request of the order (its listing) on the line's sku. Those records share the
-- order's slot; only such a line reads them.
local function first_buyer()
  local prefix = string.sub(record_key, 1, #record_key - #rid)
  for _, id in ipairs(redis.call('ZRANGE', order_listing_key, 0, -1)) do
    local f = redis.call('HMGET', prefix .. id, 'd', 'sku_id', 'buyer_id')
    if f[1] then f = blob_fields(f[1]) else f = {sku_id = f[2], buyer_id = f[3]} end
    if f.sku_id == h.sku_id then return f.buyer_id end
  end
  return nil
end

if h.use_idempotency then
  local stored = redis.call('HMGET', idempotency_key, 'h', 'e', 'd', 'v', 'i')
  if stored[1] then
    if stored[1] ~= h.body_hash then return {'IDEMPOTENCY_MISMATCH'} end
    if stored[3] then return {'REPLAY', stored[2], stored[3]} end  -- the earlier blob form
    -- A reference: the reply is the record of the request it names (an application's own,
    -- any other call's is this one: the body hash holds the request id) while that record
    -- is still at the version the call made; after that the call's record is kept nowhere.
    local named = rid
    if stored[5] then named = stored[5] end
    local at = redis.call('HMGET', string.sub(record_key, 1, #record_key - #rid) .. named,
                          'version', 'd')
    if at[1] == stored[4] and at[2] then return {'REPLAY', stored[2], at[2]} end
    return {'SUPERSEDED', stored[2], stored[4], named}
  end
end

-- The pending timer's member is not stored: it is the record's id, version and timer action,
-- so the header names the one of the record as read. A record the previous release wrote
-- still names its own (_timer_member): that one is removed then.
local held = redis.call('HMGET', record_key, 'version', '_timer_member')
local current = tonumber(held[1] or '0')
if current ~= h.read_version then
  return {'VERSION', tostring(current)}
end

if h.line_op == 'apply' then
  local line = redis.call('HMGET', line_key, 'active', 'attempts', 'succeeded', 'buyer')
  local owner = line[4]
  if not owner and (line[1] or line[2] or line[3]) then owner = first_buyer() end
  -- before any other line rule: another buyer learns nothing about this line's requests
  if owner and owner ~= h.buyer_id then return {'NOT_YOURS'} end
  if line[3] then return {'LIMIT', 'LINE_ALREADY_REFUNDED', line[3]} end
  if line[1] and line[1] ~= rid then return {'LIMIT', 'LINE_HAS_OPEN_REQUEST', line[1]} end
  if tonumber(line[2] or '0') >= h.max_attempts then
    return {'LIMIT', 'LINE_ATTEMPT_LIMIT', line[2]}
  end
elseif h.line_op == 'modify' then
  local attempts = redis.call('HGET', line_key, 'attempts') or '0'
  if tonumber(attempts) >= h.max_attempts then return {'LIMIT', 'LINE_ATTEMPT_LIMIT', attempts} end
end

-- Every check passed: write. The first write must be a denyoom command (XADD): Redis checks
-- maxmemory only for a script's first write, and only if that write is denyoom (DEL is not),
-- so out of memory the whole commit is refused here, before anything is written. No MAXLEN:
-- the periodic trim (retention.py) keeps the stream, waiting for its subscribers.
local id = redis.call('XADD', events_key, '*', unpack(h.event))

local old_member = held[2]
if not old_member and h.read_timer_member ~= '' then old_member = h.read_timer_member end
-- A record in an earlier release's form loses its other fields (flat fields, _timer_member).
redis.call('DEL', record_key)
if h.write_timer_member and h.timer_member ~= '' then  -- for replicas of the earlier release
  redis.call('HSET', record_key, 'd', record, 'version', h.new_version,
             '_timer_member', h.timer_member)
else
  redis.call('HSET', record_key, 'd', record, 'version', h.new_version)
end

-- The history row: the entry's proto JSON (h.event is v, version, event, JSON) with the
-- event id spliced in first, as text: no decoding, and an entry id needs no JSON escaping
-- (the JSON is never "{}": it always has a version).
local event = h.event[4]
redis.call('RPUSH', history_key, '{"eventId":"' .. id .. '",' .. string.sub(event, 2))

if old_member then
  redis.call('ZREM', timers_key, old_member)
  redis.call('ZREM', leased_key, old_member)
end
if h.leased_member ~= '' then redis.call('ZREM', leased_key, h.leased_member) end
if h.timer_member ~= '' then redis.call('ZADD', timers_key, h.timer_due_ms, h.timer_member) end

if h.line_op == 'apply' then
  redis.call('HSET', line_key, 'active', rid, 'buyer', h.buyer_id)
  -- The retention sweep gave the line an expiry at its after-sale deadline once it had no
  -- open request; an open request's line never expires (a modification counts on it).
  redis.call('PERSIST', line_key)
  redis.call('HINCRBY', line_key, 'attempts', 1)
  redis.call('ZADD', shop_listing_key, h.listing_score, rid)
  redis.call('ZADD', buyer_listing_key, h.listing_score, rid)
  redis.call('ZADD', order_listing_key, h.listing_score, rid)
  redis.call('ZADD', shard_listing_key, h.listing_score, rid)
elseif h.line_op == 'modify' then
  redis.call('HINCRBY', line_key, 'attempts', 1)
end
if h.terminal and redis.call('HGET', line_key, 'active') == rid then
  redis.call('HDEL', line_key, 'active')
end
-- The retention sweep's queue. No action leaves a terminal state (the machine's final
-- states), so nothing ever takes a request out of it but the sweep.
if h.terminal then redis.call('ZADD', terminal_key, h.terminal_ms, rid) end
if h.success then redis.call('HSET', line_key, 'succeeded', rid) end

for i = 1, #h.counters, 2 do
  redis.call('HINCRBY', shop_stats_key, h.counters[i], h.counters[i + 1])
end

if h.flagged_ms > 0 then
  redis.call('ZADD', flagged_key, h.flagged_ms, rid)
else
  redis.call('ZREM', flagged_key, rid)
end

if h.use_idempotency then
  -- A reference (the version this call made), not the record: a replay rebuilds the reply.
  if h.line_op == 'apply' then
    redis.call('HSET', idempotency_key, 'h', h.body_hash, 'v', h.new_version, 'e', id, 'i', rid)
  else
    redis.call('HSET', idempotency_key, 'h', h.body_hash, 'v', h.new_version, 'e', id)
  end
  redis.call('EXPIRE', idempotency_key, h.idempotency_ttl_s)
end
return {'OK', id}
