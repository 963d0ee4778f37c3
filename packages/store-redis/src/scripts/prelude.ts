import { SIZE_AT, SIZE_DIGITS } from '../record-codec.js';

/**
 * Lua shared by every queue script. A queue is a table of its declared keys (ten KEYS from `k`,
 * see `keyLayout`) plus its base for the keys derived inside the script (seq, moving, movedIn,
 * landed, takes), which share the queue's hash tag. ARGV[1] is always who asks: the calling
 * node's id, which its wake-ups carry (a node ignores its own: its engine already knows), or ''
 * to wake every node.
 *
 * Per queue: `counts` hash (ready, inFlight, delayed, bytes; also the queue's existence marker),
 * `ready` zset and `fresh` list (see below), `delayed` zset (score = readyAt), `inflight` hash
 * (id → '<count> <size> <holder>', and the field '' that keeps it a hashtable), `leases` zset
 * (score = deadline), `holding` hash (holder → how many it holds: a holder that holds
 * nothing has no field, so a cancel or a sweep scans inflight only for one that does), `dedupe`
 * zset (score = expiry), `records` hash (id → the packed record, see record-codec.ts), `meta`
 * hash (id → '<body size> <delivery count>[ <readyAt>]', only for a message with a count or a
 * readyAt), `seq` string (the queue's last id), `moving`, `movedIn` and `landed` hashes (cross-slot
 * moves, see move-scripts.ts), `takes` hash (holder → its last take's token and ids, see undoTake).
 *
 * Records live in two hashes per queue, not a hash per message: a batch of messages is then one
 * HSET, HMGET or HDEL per structure, with no key string built, no key created or deleted and no
 * command run per message (store format 3; older stores are converted on open, store-format.ts).
 *
 * Ready messages are in two places: `fresh` (list, in the order the messages arrived) holds the
 * ids appended and not yet handed out, so an enqueue is an RPUSH and a take an LRANGE + LTRIM (a
 * zset costs about 1 µs a member to add and again to remove, most of it the skiplist and the
 * score's parsing); `ready` (zset, score = id) holds those that came back (released, lease
 * expired, promoted from delayed, a move undone), so each regains its place. A take merges the
 * two heads by id. A node's enqueues take ids from a block it reserved (reserveIds, id-blocks.ts)
 * and a move into a queue the queue's next ids, so ids grow per node and per move, not across
 * them: a message that comes back is merged by id with ids other nodes hold lower or higher.
 *
 * A script touches only its queue's keys (one slot in Redis Cluster): store-wide registers (queue
 * list, which node holds where) are kept by the store outside the scripts.
 */

/**
 * The value of field '' in the hashes keyed by message id, longer than Redis's
 * hash-max-listpack-value (see PAD in the Lua below); written by plain commands too.
 */
export const PAD = '-'.repeat(72);

/** One Redis (any version) or a Redis Cluster (7 or later). */
export type ScriptMode = 'single' | 'cluster';

/**
 * How a script tells other nodes its queue changed, on the queue's channel `<base>wake`, with the
 * calling node as payload, and after a space the earliest time a message it delayed falls due
 * (RedisStore reads it): no other node has a timer for that one. Classic PUBLISH reaches every
 * subscriber on a single Redis; in a Cluster it would be broadcast to every shard, so there the
 * wake-up goes by SPUBLISH, which stays on the shard of the queue's slot.
 */
const PUBLISH: Record<ScriptMode, string> = { single: 'PUBLISH', cluster: 'SPUBLISH' };

/**
 * In a Cluster every script carries a shebang: Redis 7 then refuses, rather than silently runs, a
 * script that touches a key outside the slot of its declared keys (the cluster tests prove that
 * none does). Redis before 7 knows no shebang, so single-Redis scripts go without.
 */
export const shebang = (mode: ScriptMode): string => (mode === 'cluster' ? '#!lua\n' : '');

/**
 * The prelude a script body needs: the definitions it uses, directly or through another one, in
 * the prelude's order. Lua 5.1 runs a script's whole chunk at every call, so each `local function`
 * it holds is a closure (with its upvalues) built, and later collected, per call: the whole
 * prelude cost an EVALSHA ~37,000 of Redis's instructions (callgrind, Redis 7.0), a fifth of a
 * call's fixed cost. Names are found as words outside comments, strings included: a definition may be
 * kept that is not needed, never left out where it is (Lua cannot name a local any other way).
 */
export function preludeFor(mode: ScriptMode, body: string): string {
  const defs = definitions(mode);
  const needed = new Set(words(body));
  for (let grew = true; grew;) {
    grew = false;
    for (const def of defs)
      if (!def.kept && def.names.some((n) => needed.has(n))) {
        def.kept = true;
        grew = true;
        for (const w of def.uses) needed.add(w);
      }
  }
  return defs
    .filter((d) => d.kept)
    .map((d) => d.text)
    .join('');
}

/** The names the prelude defines, in its order. */
export const preludeNames = (mode: ScriptMode): string[] => definitions(mode).flatMap((d) => d.names);

/** The words of Lua code outside its comments (no string in these scripts holds `--`). */

const words = (lua: string): string[] => lua.replace(/--[^\n]*/g, '').match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];

/** One top-level definition of the prelude: the names it defines, the words it uses, its text. */
interface Definition {
  readonly names: string[];
  readonly uses: string[];
  readonly text: string;
  kept: boolean;
}

/** The prelude cut before each top-level `local`, the comment lines above one going with it. */
function definitions(mode: ScriptMode): Definition[] {
  const chunks: string[] = [];
  let current = '';
  let comments = '';
  for (const line of fullPrelude(mode).split(/(?<=\n)/)) {
    if (line.startsWith('--')) comments += line;
    else if (line.startsWith('local ')) {
      chunks.push(current);
      current = comments + line;
      comments = '';
    } else {
      current += comments + line;
      comments = '';
    }
  }
  chunks.push(current + comments);
  return chunks
    .filter((text) => text.trim() !== '')
    .map((text) => {
      const head = /^local (?:function (\w+)|([\w, ]+?) =)/m.exec(text);
      if (!head) throw new Error(`prelude: a chunk defines nothing: ${text.slice(0, 80)}`);
      const names = head[1] ? [head[1]] : head[2]!.split(',').map((n) => n.trim());
      return { names, uses: words(text), text, kept: false };
    });
}

/** Every definition a queue script may use. */
const fullPrelude = (mode: ScriptMode): string => `
local function Q(k, base, name)
  return { c = KEYS[k], ready = KEYS[k + 1], delayed = KEYS[k + 2], infl = KEYS[k + 3],
           leases = KEYS[k + 4], holding = KEYS[k + 5], dd = KEYS[k + 6], fresh = KEYS[k + 7],
           recs = KEYS[k + 8], meta = KEYS[k + 9], b = base, name = name }
end
local function missing(q) return redis.call('EXISTS', q.c) == 0 end
local function qnf(q) return redis.error_reply('QNF ' .. q.name) end
-- Tells subscribers on other nodes that the queue changed (see RedisStore.subscribe).
local function wake(q, due)
  redis.call('${PUBLISH[mode]}', q.b .. 'wake', due and ARGV[1] .. ' ' .. due or ARGV[1])
end
-- The hashes keyed by message id (inflight, records, meta) also hold field '' (no id is empty)
-- with a value longer than Redis's hash-max-listpack-value (64): that keeps each in the hashtable
-- encoding. As a listpack (a hash of up to 128 short values: every meta, a queue of small
-- messages) each lookup scans it; with a shallow queue that scan was Redis's top function
-- (lpFind, 10% of its CPU under the scale-out bench).
local PAD = string.rep('-', ${PAD.length})
-- Numbers go to redis.call as strings made here: Redis 7.0 would print each one as a double.
local function int(n) return string.format('%d', n) end
local function count(q, field, n) if n ~= 0 then redis.call('HINCRBY', q.c, field, int(n)) end end
-- cmd key items... in chunks: unpack has a stack limit (chunks stay even for pair lists).
-- Returns the sum of the replies (for HDEL: how many fields went).
local function batch(cmd, key, items)
  local sum = 0
  for i = 1, #items, 4000 do
    sum = sum + redis.call(cmd, key, unpack(items, i, math.min(i + 3999, #items)))
  end
  return sum
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
-- Removes and returns the first max ready ids (at most), in id order: the heads of ready (came
-- back) and fresh (never handed out) merged. Most takes find ready empty and only cut fresh.
local function popReady(q, max)
  local back = redis.call('ZRANGE', q.ready, '0', int(max - 1))
  local new = redis.call('LRANGE', q.fresh, '0', int(max - 1))
  local ids, b, f = {}, 1, 1
  if #back == 0 then
    ids, f = new, #new + 1
  else
    while #ids < max and (b <= #back or f <= #new) do
      if f > #new or (b <= #back and tonumber(back[b]) < tonumber(new[f])) then
        ids[#ids + 1] = back[b]
        b = b + 1
      else
        ids[#ids + 1] = new[f]
        f = f + 1
      end
    end
    if b > 1 then redis.call('ZREMRANGEBYRANK', q.ready, '0', int(b - 2)) end
  end
  if f > 1 then redis.call('LTRIM', q.fresh, int(f - 1), '-1') end
  return ids
end
-- Takes id out of ready or fresh; false when it is in neither. LREM scans fresh from its head,
-- where a peeked message usually is.
local function unready(q, id)
  return redis.call('ZREM', q.ready, id) == 1 or redis.call('LREM', q.fresh, '1', id) == 1
end
-- Every ready id (ready and fresh), unordered.
local function allReady(q)
  local ids = redis.call('ZRANGE', q.ready, '0', '-1')
  for _, id in ipairs(redis.call('LRANGE', q.fresh, '0', '-1')) do ids[#ids + 1] = id end
  return ids
end
-- A message's meta value: body size, delivery count and, when it has one, readyAt. Returns them
-- as strings (readyAt nil when absent; all nil for no value).
local function parseMeta(m)
  if not m then return nil end
  local s, c, r = string.match(m, '^(%d+) (%d+) ?(.*)$')
  if r == '' then r = nil end
  return s, c, r
end
local function metaOf(s, c, r)
  if r then return s .. ' ' .. c .. ' ' .. r end
  return s .. ' ' .. c
end
-- HMGET of any number of fields, none included (unpack has a stack limit).
local function hmget(key, fields)
  if #fields == 0 then return {} end
  if #fields <= 4000 then return redis.call('HMGET', key, unpack(fields)) end
  local out = {}
  for i = 1, #fields, 4000 do
    for _, v in ipairs(redis.call('HMGET', key, unpack(fields, i, math.min(i + 3999, #fields)))) do
      out[#out + 1] = v
    end
  end
  return out
end
-- A record as { id, packed value, delivery count, readyAt }.
local function fetch(q, id)
  local _, c, r = parseMeta(redis.call('HGET', q.meta, id))
  return { id, redis.call('HGET', q.recs, id), c or '0', r or false }
end
-- Whether any message of the queue has a meta value (beside the pad field, which every write of
-- meta puts there too): most never do, see appendRecords.
local function hasMeta(q) return redis.call('HLEN', q.meta) > 1 end
-- Where a version-2 packed record holds its body size: bytes SIZE_FROM to SIZE_TO (record-codec.ts).
local SIZE_FROM, SIZE_TO = ${SIZE_AT + 1}, ${SIZE_AT + SIZE_DIGITS}
-- The body size, as a string, of a packed record, for a message without a meta value: version 2
-- holds it in place; version 1 (three parts of u32 length and bytes after the 18 bytes of head,
-- then the body) is parsed.
local function bodySize(v)
  if not v then return '0' end
  local version = string.byte(v, 1)
  if version == 2 then return string.sub(v, SIZE_FROM, SIZE_TO) end
  if version ~= 1 then error('unknown packed record version ' .. version) end
  local at = 19
  for _ = 1, 3 do
    local a, b, c, d = string.byte(v, at, at + 3)
    at = at + 4 + a + b * 256 + c * 65536 + d * 16777216
  end
  return int(#v - at + 1)
end
-- An inflight value is '<delivery count> <body size> <holder>': while a message is held, its
-- count and size live there, so neither a take nor an ack touches its meta. Format 1 wrote the
-- holder alone (its meta holds the raised count). HELD matches its parts (parseHeld; ack's
-- settle matches it in place).
local HELD = '^(%d+) (%d+) (.*)$'
-- An inflight value's holder, count and size (a format-1 value: the holder alone).
local function parseHeld(v)
  if not v then return nil end
  local c, s, h = string.match(v, HELD)
  if c then return h, c, s end
  return v
end
-- Hands ready-popped ids to holder: values[i] is ids[i]'s inflight value (see parseHeld). One
-- batched call per structure. Lists are filled by index, not by #t + 1 (a length probe per item).
local function deliverMany(q, ids, values, holder, lease)
  local n = #ids
  if n == 0 then return end
  local owned, leased = { '', PAD }, {}
  for i = 1, n do
    owned[2 * i + 1], owned[2 * i + 2] = ids[i], values[i]
    if lease ~= '' then leased[2 * i - 1], leased[2 * i] = lease, ids[i] end
  end
  batch('HSET', q.infl, owned)
  if lease ~= '' then batch('ZADD', q.leases, leased) end
  redis.call('HINCRBY', q.holding, holder, int(n))
  count(q, 'ready', -n)
  count(q, 'inFlight', n)
end
-- A count plus one, as a string; string.format costs more than the rest of a take's Lua per message.
local NEXT = { ['0'] = '1', ['1'] = '2', ['2'] = '3', ['3'] = '4', ['4'] = '5', ['5'] = '6' }
local function raised(c) return NEXT[c] or int((tonumber(c) or 0) + 1) end
-- Delivers ids, just removed from ready, to holder with their counts raised, and returns them.
-- When each is a first delivery without readyAt (nearly every take): '*' and the ids joined by
-- spaces, then the packed values, one item each. Otherwise a head then the packed value per
-- message, the head 'id', 'id count' or 'id count readyAt'. A reply item costs Redis more than
-- the Lua that decides this, and the node's client more again (ioredis 6 decodes each item).
-- joined: the ids joined by spaces, when the caller has them already (take notes them).
local function takeIds(q, ids, holder, lease, joined)
  local n = #ids
  if n == 0 then return {} end
  local heads, holds, plain = {}, {}, true
  local values = hmget(q.recs, ids)
  local metas = hasMeta(q) and hmget(q.meta, ids) or {}
  local tail = ' ' .. holder
  -- Per message, no call that a message without meta (nearly all) does not need: in Lua 5.1
  -- each call, ipairs' iterator among them, costs more than the lines around it.
  for i = 1, n do
    local id, m, v = ids[i], metas[i], values[i]
    local s, c, r
    if m then s, c, r = parseMeta(m) end
    if s then
      c = raised(c)
    else
      c = '1'
      -- bodySize's version-2 case in place: the call cost a take ~450 instructions a message
      if v and string.byte(v, 1) == 2 then s = string.sub(v, SIZE_FROM, SIZE_TO) else s = bodySize(v) end
    end
    local head = id
    if r then head, plain = id .. ' ' .. c .. ' ' .. r, false elseif c ~= '1' then head, plain = id .. ' ' .. c, false end
    heads[i] = head
    holds[i] = c .. ' ' .. s .. tail
  end
  deliverMany(q, ids, holds, holder, lease)
  if plain then
    table.insert(values, 1, '*' .. (joined or table.concat(ids, ' ')))
    return values
  end
  local rows = {}
  for i = 1, n do rows[2 * i - 1], rows[2 * i] = heads[i], values[i] end
  return rows
end
-- true and the message's count (nil for format 1) when holder holds id; false otherwise.
local function holdOf(q, id, holder)
  local h, c = parseHeld(redis.call('HGET', q.infl, id))
  if h ~= holder then return false end
  return true, c
end
local function held(q, id, holder) return (holdOf(q, id, holder)) end
-- A message leaving its holder without an ack takes its delivery count (c, when known) back into
-- its meta, and readyAt r when given.
local function keepMeta(q, id, c, r)
  if not c and not r then return end
  local s, c0, r0 = parseMeta(redis.call('HGET', q.meta, id))
  if not s then s = int(tonumber(bodySize(redis.call('HGET', q.recs, id)))) end -- without its padding
  redis.call('HSET', q.meta, '', PAD, id, metaOf(s, c or c0 or '0', r or r0))
end
-- holder now holds n fewer messages.
local function holdsFewer(q, holder, n)
  if n > 0 and redis.call('HINCRBY', q.holding, holder, int(-n)) <= 0 then
    redis.call('HDEL', q.holding, holder)
  end
end
local function unhold(q, id, holder)
  redis.call('HDEL', q.infl, id)
  redis.call('ZREM', q.leases, id)
  holdsFewer(q, holder, 1)
end
-- Returns those of ids that holder holds to ready at their id position (readyAt '': else to
-- delayed until readyAt), their counts kept; returns them.
local function releaseIds(q, holder, readyAt, ids)
  local out = {}
  for _, id in ipairs(ids) do
    local mine, c = holdOf(q, id, holder)
    if mine then
      unhold(q, id, holder)
      if readyAt == '' then
        keepMeta(q, id, c)
        redis.call('ZADD', q.ready, id, id)
      else
        keepMeta(q, id, c, readyAt)
        redis.call('ZADD', q.delayed, readyAt, id)
      end
      out[#out + 1] = id
    end
  end
  count(q, 'inFlight', -#out)
  count(q, readyAt == '' and 'ready' or 'delayed', #out)
  if #out > 0 then wake(q, readyAt ~= '' and readyAt or nil) end
  return out
end
-- The ids in flight whose holder passes keep(holder): one scan of inflight (a cancel or a sweep,
-- never a message's way; the per-holder sets that spared it cost every message two commands).
local function heldBy(q, keep)
  local ids, flat = {}, redis.call('HGETALL', q.infl)
  for i = 1, #flat, 2 do
    if flat[i] ~= '' and keep((parseHeld(flat[i + 1]))) then ids[#ids + 1] = flat[i] end
  end
  return ids
end
-- Deletes the records of ids; returns their body sizes' sum. sizes[i], when given, is ids[i]'s
-- size already known (from inflight); the others are read from meta, or from the record where
-- there is none.
local function dropMany(q, ids, sizes)
  if #ids == 0 then return 0 end
  local bytes, unknown, metas = 0, {}, hasMeta(q)
  for i = 1, #ids do
    local s = sizes and sizes[i]
    if s then bytes = bytes + tonumber(s) else unknown[#unknown + 1] = ids[i] end
  end
  if #unknown > 0 then
    local m = metas and hmget(q.meta, unknown) or {}
    local v = hmget(q.recs, unknown)
    for i = 1, #unknown do bytes = bytes + tonumber(parseMeta(m[i]) or bodySize(v[i])) end
  end
  batch('HDEL', q.recs, ids)
  if metas then batch('HDEL', q.meta, ids) end
  return bytes
end
-- Deletes one message's record; returns its body size.
local function drop(q, id) return dropMany(q, { id }) end
-- Held messages back to ready at their id position, their counts kept; returns how many. holder:
-- theirs when known, else each one's from inflight.
local function returnAll(q, ids, holder)
  local values = hmget(q.infl, ids)
  for i, id in ipairs(ids) do
    local h, c = parseHeld(values[i])
    unhold(q, id, holder or h or '')
    keepMeta(q, id, c)
    redis.call('ZADD', q.ready, id, id)
  end
  count(q, 'inFlight', -#ids)
  count(q, 'ready', #ids)
  if #ids > 0 then wake(q) end
  return #ids
end
-- The id strings first + 1 .. first + n. A string.format per id was a sixth of a plain
-- enqueue's Lua; here one formats the id's hundreds, once per hundred ids, and a table gives the
-- last two digits. Integer steps only, so every id is exact.
local function freshIds(first, n)
  local ids, format = {}, string.format
  if n < 16 then -- below 16 ids building the table costs more than it saves (callgrind)
    for k = 1, n do ids[k] = format('%d', first + k) end
    return ids
  end
  local two = {
    [0] = '00', '01', '02', '03', '04', '05', '06', '07', '08', '09',
    '10', '11', '12', '13', '14', '15', '16', '17', '18', '19',
    '20', '21', '22', '23', '24', '25', '26', '27', '28', '29',
    '30', '31', '32', '33', '34', '35', '36', '37', '38', '39',
    '40', '41', '42', '43', '44', '45', '46', '47', '48', '49',
    '50', '51', '52', '53', '54', '55', '56', '57', '58', '59',
    '60', '61', '62', '63', '64', '65', '66', '67', '68', '69',
    '70', '71', '72', '73', '74', '75', '76', '77', '78', '79',
    '80', '81', '82', '83', '84', '85', '86', '87', '88', '89',
    '90', '91', '92', '93', '94', '95', '96', '97', '98', '99',
  }
  local lo = math.fmod(first + 1, 100)
  local hi = (first + 1 - lo) / 100
  local head = format('%d', hi)
  for k = 1, n do
    if hi == 0 then ids[k] = format('%d', lo) else ids[k] = head .. two[lo] end
    lo = lo + 1
    if lo == 100 then
      lo, hi = 0, hi + 1
      head = format('%d', hi)
    end
  end
  return ids
end
-- Reserves the queue's next n ids, consecutive; returns the last. Ids grow within a queue and
-- need no store-wide counter, which would put every enqueue on one shard. The queue's last id
-- (seq) outlives a delete by a minute; after that a queue's first ids start at the clock (ms x
-- 1024, exact in a double until the year 2248), so a recreated queue's ids stay above its
-- predecessor's unless that one took more than 1,024 ids a millisecond over its life. One INCRBY
-- (a GET and a SET cost an enqueue 8,600 instructions more); it returns n only where seq was absent.
local function reserveIds(q, n, now)
  local sk = q.b .. 'seq'
  local last = redis.call('INCRBY', sk, string.format('%d', n))
  if last == n then
    last = now * 1024 + n - 1
    redis.call('SET', sk, string.format('%d', last))
  end
  return last
end
-- n fresh ids of the queue, consecutive, as strings (see reserveIds).
local function nextIds(q, n, now) return freshIds(reserveIds(q, n, now) - n, n) end
-- Appends the records that start at the ARGV indexes in starts (packed value, body size, readyAt
-- or '', delivery count), with ids (or the queue's next ones); returns the ids and the earliest
-- readyAt of those delayed (nil for none), which the wake-up carries. Only a record with
-- a delivery count or a readyAt gets a meta value: a message without one has count 0 and the body
-- size its packed value gives (store format 4), so most are taken and acked without touching meta.
local function appendRecords(q, now, a, starts, given)
  local n = #starts
  if n == 0 then return {} end
  local ids, ready, recs, metas, bytes, delayed = given or nextIds(q, n, now), {}, { '', PAD }, { '', PAD }, 0, 0
  local due
  for k, i in ipairs(starts) do
    local id = ids[k]
    local size, r = a[i + 1], a[i + 2]
    recs[2 * k + 1], recs[2 * k + 2] = id, a[i]
    if r ~= '' or a[i + 3] ~= '0' then
      metas[#metas + 1] = id
      metas[#metas + 1] = metaOf(size, a[i + 3], r ~= '' and r or nil)
    end
    if r ~= '' and tonumber(r) > now then
      redis.call('ZADD', q.delayed, r, id)
      delayed = delayed + 1
      if not due or tonumber(r) < tonumber(due) then due = r end
    else
      ready[#ready + 1] = id
    end
    bytes = bytes + tonumber(size)
  end
  batch('HSET', q.recs, recs)
  if #metas > 2 then batch('HSET', q.meta, metas) end
  -- Appending keeps fresh in arrival order.
  batch('RPUSH', q.fresh, ready)
  count(q, 'ready', #ready)
  count(q, 'delayed', delayed)
  count(q, 'bytes', bytes)
  return ids, due
end
`;

/** Fields of one record in a script's ARGV (see `appendRecords`). */
export const RECORD_ARGS = 4;
