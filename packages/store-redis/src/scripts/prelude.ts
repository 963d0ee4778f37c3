/**
 * Lua shared by every queue script. A queue is a table of its declared keys (seven KEYS from
 * `k`, see `keyLayout`) plus its base for per-message and per-holder keys, which are derived
 * inside the script and share the queue's hash tag. ARGV[1] is always the store's global prefix.
 *
 * Per queue: `counts` hash (ready, inFlight, delayed, bytes; also the queue's existence marker),
 * `ready` zset (score = id, so a returned message regains its position), `delayed` zset
 * (score = readyAt), `inflight` hash (id → holder, and the field '' that keeps it a hashtable), `leases` zset (score = deadline),
 * `holders` set, `h:<holder>` set of held ids, `dedupe` zset (score = expiry), `m:<id>` hash per
 * message (v the packed record, see record-codec.ts; s body size, c deliveryCount, r readyAt;
 * records written before the packed format have e k p b t x r c d s instead), `seq` string (the queue's last id),
 * `moving` and `movedIn` hashes (cross-slot moves, see move-scripts.ts).
 *
 * A script touches only its queue's keys (one slot in Redis Cluster): store-wide registers (queue
 * list, which node holds where) are kept by the store outside the scripts.
 */

/** One Redis (any version) or a Redis Cluster (7 or later). */
export type ScriptMode = 'single' | 'cluster';

/**
 * How a script tells other nodes its queue changed. Classic PUBLISH reaches every subscriber on a
 * single Redis; in a Cluster it would be broadcast to every shard, so there the wake-up goes by
 * SPUBLISH on a channel in the queue's own slot.
 */
const WAKE: Record<ScriptMode, string> = {
  single: `redis.call('PUBLISH', G .. 'wake:' .. q.name, '1')`,
  cluster: `redis.call('SPUBLISH', q.b .. 'wake', '1')`,
};

/**
 * In a Cluster every script carries a shebang: Redis 7 then refuses, rather than silently runs, a
 * script that touches a key outside the slot of its declared keys (the cluster tests prove that
 * none does). Redis before 7 knows no shebang, so single-Redis scripts go without.
 */
export const prelude = (mode: ScriptMode): string => `${mode === 'cluster' ? '#!lua\n' : ''}
local G = ARGV[1]
local function Q(k, base, name)
  return { c = KEYS[k], ready = KEYS[k + 1], delayed = KEYS[k + 2], infl = KEYS[k + 3],
           leases = KEYS[k + 4], holders = KEYS[k + 5], dd = KEYS[k + 6], b = base, name = name }
end
local function missing(q) return redis.call('EXISTS', q.c) == 0 end
local function qnf(q) return redis.error_reply('QNF ' .. q.name) end
-- Tells subscribers on other nodes that the queue changed (see RedisStore.subscribe).
local function wake(q) ${WAKE[mode]} end
-- Numbers go to redis.call as strings made here: Redis 7.0 would print each one as a double.
local function int(n) return string.format('%d', n) end
local function count(q, field, n) if n ~= 0 then redis.call('HINCRBY', q.c, field, int(n)) end end
-- cmd key items... in chunks: unpack has a stack limit (chunks stay even for pair lists).
local function batch(cmd, key, items)
  for i = 1, #items, 4000 do
    redis.call(cmd, key, unpack(items, i, math.min(i + 3999, #items)))
  end
end
local function promote(q, now)
  local n = 0
  while true do
    local due = redis.call('ZRANGEBYSCORE', q.delayed, '-inf', now, 'LIMIT', '0', '512')
    if #due == 0 then break end
    for _, id in ipairs(due) do
      redis.call('ZREM', q.delayed, id)
      redis.call('ZADD', q.ready, id, id)
    end
    n = n + #due
  end
  count(q, 'delayed', -n)
  count(q, 'ready', n)
end
-- A record is read as { id, packed value, delivery count, readyAt } plus its body size; one
-- written by format 1 (no 'v') as { id, its nine fields } (see record-codec.ts).
local LEGACY = { 'e', 'k', 'p', 'b', 't', 'x', 'r', 'c', 'd', 's' }
local function readRecord(q, id)
  local mk = q.b .. 'm:' .. id
  local f = redis.call('HMGET', mk, 'v', 'c', 'r', 's')
  if f[1] then return { id, f[1], f[2], f[3] }, f[4] end
  local row = redis.call('HMGET', mk, unpack(LEGACY))
  local size = table.remove(row)
  table.insert(row, 1, id)
  return row, size
end
local function fetch(q, id) return (readRecord(q, id)) end
-- Where a row from readRecord holds the delivery count.
local function countAt(row) return #row == 4 and 3 or 9 end
-- The inflight hash also holds field '' (no id is empty) with a value longer than Redis's
-- hash-max-listpack-value (64): that keeps it in the hashtable encoding. As a listpack (up to 128
-- fields) every lookup scans it, and each message is looked up three times while in flight.
local PAD = string.rep('-', 72)
-- An inflight value is '<delivery count> <body size> <holder>': while a message is held, its
-- count and size live there, so neither a take nor an ack touches the record for them. Format 1
-- wrote the holder alone (its records hold the raised count and the size). Returns holder, count,
-- size.
local function parseHeld(v)
  if not v then return nil end
  local c, s, h = string.match(v, '^(%d+) (%d+) (.*)$')
  if c then return h, c, s end
  return v
end
-- Hands ready-popped ids to holder with their delivery counts and body sizes (strings). One batched
-- call per structure.
local function deliverMany(q, ids, holder, lease, counts, sizes)
  if #ids == 0 then return end
  local owned, leased = { '', PAD }, {}
  for i, id in ipairs(ids) do
    owned[#owned + 1] = id
    owned[#owned + 1] = counts[i] .. ' ' .. sizes[i] .. ' ' .. holder
    if lease ~= '' then
      leased[#leased + 1] = lease
      leased[#leased + 1] = id
    end
  end
  batch('HSET', q.infl, owned)
  batch('SADD', q.b .. 'h:' .. holder, ids)
  if #leased > 0 then batch('ZADD', q.leases, leased) end
  redis.call('SADD', q.holders, holder)
  count(q, 'ready', -#ids)
  count(q, 'inFlight', #ids)
end
-- A count plus one, as a string; string.format costs more than the rest of a take's Lua per message.
local NEXT = { ['0'] = '1', ['1'] = '2', ['2'] = '3', ['3'] = '4', ['4'] = '5', ['5'] = '6' }
local function raised(c) return NEXT[c] or int((tonumber(c) or 0) + 1) end
-- Delivers ids, just removed from ready, to holder with their counts raised; returns their rows.
local function takeIds(q, ids, holder, lease)
  local rows, counts, sizes = {}, {}, {}
  for i, id in ipairs(ids) do
    local row, size = readRecord(q, id)
    local at = countAt(row)
    local c = raised(row[at])
    row[at] = c
    rows[i] = row
    counts[i] = c
    sizes[i] = size or '0'
  end
  deliverMany(q, ids, holder, lease, counts, sizes)
  return rows
end
-- true and the message's count (nil for format 1) when holder holds id; false otherwise.
local function holdOf(q, id, holder)
  local h, c = parseHeld(redis.call('HGET', q.infl, id))
  if h ~= holder then return false end
  return true, c
end
local function held(q, id, holder) return (holdOf(q, id, holder)) end
-- A message leaving its holder without an ack takes its delivery count back into its record.
local function keepCount(q, id, c) if c then redis.call('HSET', q.b .. 'm:' .. id, 'c', c) end end
local function unhold(q, id, holder)
  redis.call('HDEL', q.infl, id)
  redis.call('ZREM', q.leases, id)
  local hk = q.b .. 'h:' .. holder
  redis.call('SREM', hk, id)
  if redis.call('SCARD', hk) == 0 then redis.call('SREM', q.holders, holder) end
end
-- Deletes a message's record; returns its body size.
local function drop(q, id)
  local mk = q.b .. 'm:' .. id
  local s = tonumber(redis.call('HGET', mk, 's') or '0')
  redis.call('DEL', mk)
  return s
end
-- Deletes the records of ids (one DEL per 4000); returns their body sizes' sum. sizes[id] is a
-- size already known (from inflight); the others are read from the records.
local function dropMany(q, ids, sizes)
  local bytes, keys = 0, {}
  for i, id in ipairs(ids) do
    local mk = q.b .. 'm:' .. id
    bytes = bytes + tonumber(sizes[id] or redis.call('HGET', mk, 's') or '0')
    keys[i] = mk
  end
  for i = 1, #keys, 4000 do redis.call('DEL', unpack(keys, i, math.min(i + 3999, #keys))) end
  return bytes
end
-- Held messages back to ready at their id position, their counts kept; returns how many. holder:
-- theirs when known, else each one's from inflight.
local function returnAll(q, ids, holder)
  for i = 1, #ids, 4000 do
    local part = { unpack(ids, i, math.min(i + 3999, #ids)) }
    local values = redis.call('HMGET', q.infl, unpack(part))
    for j, id in ipairs(part) do
      local h, c = parseHeld(values[j])
      unhold(q, id, holder or h or '')
      keepCount(q, id, c)
      redis.call('ZADD', q.ready, id, id)
    end
  end
  count(q, 'inFlight', -#ids)
  count(q, 'ready', #ids)
  if #ids > 0 then wake(q) end
  return #ids
end
-- The first of n fresh ids of the queue (minus one). Ids grow within a queue (its ready order)
-- and need no store-wide counter, which would put every enqueue on one shard. The queue's last
-- id (seq) outlives a delete by a minute and the clock (ms x 1024, exact in a double until the
-- year 2248) covers the rest, so a recreated queue's ids stay above its predecessor's.
local function nextIds(q, n, now)
  local sk = q.b .. 'seq'
  local first = math.max(tonumber(redis.call('GET', sk) or '0') + 1, now * 1024)
  redis.call('SET', sk, string.format('%d', first + n - 1))
  return first - 1
end
-- Appends the records that start at the ARGV indexes in starts (packed value, body size, readyAt
-- or '', delivery count), with fresh ids; returns the ids.
local function appendRecords(q, now, a, starts)
  local n = #starts
  if n == 0 then return {} end
  local first = nextIds(q, n, now)
  local ids, ready, bytes, delayed = {}, {}, 0, 0
  for k, i in ipairs(starts) do
    local id = string.format('%d', first + k)
    ids[k] = id
    local mk, size, r = q.b .. 'm:' .. id, a[i + 1], a[i + 2]
    if r ~= '' then
      redis.call('HSET', mk, 'v', a[i], 's', size, 'c', a[i + 3], 'r', r)
    else
      redis.call('HSET', mk, 'v', a[i], 's', size, 'c', a[i + 3])
    end
    if r ~= '' and tonumber(r) > now then
      redis.call('ZADD', q.delayed, r, id)
      delayed = delayed + 1
    else
      ready[#ready + 1] = id
      ready[#ready + 1] = id
    end
    bytes = bytes + tonumber(size)
  end
  batch('ZADD', q.ready, ready)
  count(q, 'ready', #ready / 2)
  count(q, 'delayed', delayed)
  count(q, 'bytes', bytes)
  return ids
end
`;

/** Fields of one record in a script's ARGV (see `appendRecords`). */
export const RECORD_ARGS = 4;
