import { crossSlotMoveScripts } from './move-scripts.js';
import { upgradeScripts } from './upgrade-scripts.js';
import { preludeFor, RECORD_ARGS, shebang, type ScriptMode } from './prelude.js';

/**
 * Every multi-step change is one of these scripts, so it is atomic in Redis whichever node runs
 * it. Single-queue scripts declare the queue's ten keys (KEYS[1..10]) and take
 * ARGV = [calling node (see prelude.ts), queue base, queue name, ...own arguments from ARGV[4]].
 */
export interface ScriptDef {
  readonly numberOfKeys: number;
  readonly lua: string;
}

/** A script of `main` with the prelude it uses (see `preludeFor`). */
const withPrelude = (mode: ScriptMode, numberOfKeys: number, main: string): ScriptDef => ({
  numberOfKeys,
  lua: `${shebang(mode)}${preludeFor(mode, main)}${main}`,
});

const queueScript = (mode: ScriptMode, body: string): ScriptDef =>
  withPrelude(mode, 10, `local q = Q(1, ARGV[2], ARGV[3])\n${body}`);

/**
 * The end of a plain enqueue's MULTI (queue-appender.ts), after its HSET of the records and RPUSH
 * of their ids: ARGV[4] = how many, [5] = their body sizes' sum, [6] = '1' when the calling node
 * takes them itself (it wakes the others for what it leaves). Returns the queue's ready count.
 * Into a queue that is missing the MULTI wrote only those records and ids (a missing queue has no
 * others), and they go again.
 */
export const enqueuedScript = (mode: ScriptMode): ScriptDef =>
  queueScript(
    mode,
    `
if missing(q) then
  redis.call('DEL', q.recs, q.fresh)
  return qnf(q)
end
count(q, 'ready', tonumber(ARGV[4]))
count(q, 'bytes', tonumber(ARGV[5]))
if ARGV[6] ~= '1' then wake(q) end
return redis.call('HGET', q.c, 'ready') or '0'
`,
  );

/** The scripts for one Redis or for a Cluster (see `shebang`). */
export function queueScripts(mode: ScriptMode) {
  const script = (body: string): ScriptDef => queueScript(mode, body);
  return {
    ...crossSlotMoveScripts(script),
    ...upgradeScripts(script),
    createQueue: script(`
if missing(q) then redis.call('HSET', q.c, 'ready', 0, 'inFlight', 0, 'delayed', 0, 'bytes', 0) end
return 1
`),

    deleteQueue: script(`
if missing(q) then return 0 end
redis.call('DEL', q.c, q.ready, q.fresh, q.delayed, q.infl, q.leases, q.holding, q.dd, q.recs, q.meta,
  q.b .. 'moving', q.b .. 'movedIn', q.b .. 'landed', q.b .. 'takes')
redis.call('PEXPIRE', q.b .. 'seq', 60000) -- see reserveIds
return 1
`),

    // ARGV[4] = n, [5] = now: the queue's next n ids are this node's (id-blocks.ts). Returns the last.
    reserveIds: script(`
if missing(q) then return qnf(q) end
return int(reserveIds(q, tonumber(ARGV[4]), tonumber(ARGV[5])))
`),

    // Records with a delay or a delivery count (a plain batch goes by QueueAppender): ARGV[4] = now,
    // [5] = the first of their ids (reserved, see reserveIds), records from ARGV[6] (appendRecords).
    // Returns the queue's ready count after this append (flow control across nodes).
    enqueue: script(`
if missing(q) then return qnf(q) end
local starts = {}
for i = 6, #ARGV, ${RECORD_ARGS} do starts[#starts + 1] = i end
local ids, due = appendRecords(q, tonumber(ARGV[4]), ARGV, starts, freshIds(tonumber(ARGV[5]) - 1, #starts))
if #ids > 0 then wake(q, due) end
return redis.call('HGET', q.c, 'ready') or '0'
`),

    // ARGV[4] = max, [5] = holder, [6] = lease deadline or '', [7] = now, [8] = '1' to wake the
    // other nodes if ready messages are left (the caller's enqueue woke nobody: it took them),
    // [9] = this take's token: its ids are noted under it, for undoTake should the reply be lost.
    take: script(`
if missing(q) then return qnf(q) end
promote(q, tonumber(ARGV[7]))
local max = tonumber(ARGV[4])
if max <= 0 then return {} end
local ids = popReady(q, max)
local joined = table.concat(ids, ' ')
local rows = takeIds(q, ids, ARGV[5], ARGV[6], joined)
if #ids > 0 then redis.call('HSET', q.b .. 'takes', ARGV[5], ARGV[9] .. ' ' .. joined) end
if ARGV[8] == '1' and #ids == max and redis.call('HGET', q.c, 'ready') ~= '0' then wake(q) end
return rows
`),

    // ARGV[4] = holder, [5] = token. A take whose call failed may have run with its reply lost:
    // what it took (its note in takes, if the holder took nothing since) goes back to ready, as
    // a release would return it. Returns how many.
    undoTake: script(`
if missing(q) then return 0 end
local holder, note = ARGV[4], redis.call('HGET', q.b .. 'takes', ARGV[4])
if not note then return 0 end
local ids, token = {}, nil
for word in string.gmatch(note, '%S+') do
  if token == nil then token = word else ids[#ids + 1] = word end
end
if token ~= ARGV[5] then return 0 end
redis.call('HDEL', q.b .. 'takes', holder)
return #releaseIds(q, holder, '', ids)
`),

    // ARGV[4] = id, [5] = holder, [6] = lease deadline or '', [7] = now.
    takeById: script(`
if missing(q) then return qnf(q) end
promote(q, tonumber(ARGV[7]))
local id = ARGV[4]
if not unready(q, id) then return false end
return takeIds(q, { id }, ARGV[5], ARGV[6])
`),

    // The acks of one event-loop iteration: ARGV[4] = groups; each group: holder, n, n ids.
    // Returns, per group, how many of its ids were not acked (not held by its holder, or asked
    // again), then their places in the group (1-based): nearly always just 0, so the reply costs
    // nothing per id. Most groups are one id (a consumer's basic.ack), so the batch is settled
    // with one call per structure, not per group.
    ack: script(`
if missing(q) then return qnf(q) end
local groups, asked, at, na = {}, {}, 5, 0
for g = 1, tonumber(ARGV[4]) do
  local n = tonumber(ARGV[at + 1])
  groups[g] = { ARGV[at], na + 1, n }
  for i = at + 2, at + 1 + n do
    na = na + 1
    asked[na] = ARGV[i]
  end
  at = at + 2 + n
end
local values = hmget(q.infl, asked) -- their inflight values
-- Which asked ids each group's holder holds: out (per group the count of ids not acked, then
-- their places), mine and sizes (every acked id and its body size), perHolder, and how many were
-- acked. With taken, an id counts once however often it was asked; without, no table per id is
-- built (a hash insert costs more than the rest of an ack's Lua per message).
local match = string.match
local function settle(taken)
  local out, mine, sizes, perHolder, no, nm = {}, {}, {}, {}, 0, 0
  for _, g in ipairs(groups) do
    local holder, from, n = g[1], g[2], g[3]
    local head, before = no + 1, nm
    no = head
    for i = from, from + n - 1 do
      local id = asked[i]
      -- parseHeld inlined (a Lua call per id costs as much as the match)
      local v = values[i]
      local _, size, h = match(v or '', HELD)
      if not h then h = v end
      if h == holder and not (taken and taken[id]) then
        if taken then taken[id] = true end
        nm = nm + 1
        mine[nm], sizes[nm] = id, size
      else
        no = no + 1
        out[no] = i - from + 1
      end
    end
    out[head] = no - head
    perHolder[holder] = (perHolder[holder] or 0) + (nm - before)
  end
  return out, mine, sizes, perHolder, nm
end
local out, mine, sizes, perHolder, nm = settle(nil)
if nm == 0 then return out end
-- An id asked twice was read as held twice; HDEL removes it once, and tells.
if batch('HDEL', q.infl, mine) < nm then out, mine, sizes, perHolder, nm = settle({}) end
if redis.call('EXISTS', q.leases) == 1 then batch('ZREM', q.leases, mine) end -- most consumers hold without a lease
for holder, n in pairs(perHolder) do holdsFewer(q, holder, n) end
count(q, 'inFlight', -nm)
count(q, 'bytes', -dropMany(q, mine, sizes))
return out
`),

    // ARGV[4] = holder, [5] = readyAt or ''; ids from ARGV[6].
    release: script(`
if missing(q) then return qnf(q) end
local holder, ids = ARGV[4], {}
for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
local out = releaseIds(q, holder, ARGV[5], ids)
-- A holder that holds nothing now needs no note of its last take (see undoTake).
if not redis.call('HGET', q.holding, holder) then redis.call('HDEL', q.b .. 'takes', holder) end
return out
`),

    // ARGV[4] = holder, [5] = lease deadline; ids from ARGV[6].
    renew: script(`
if missing(q) then return qnf(q) end
local holder, out = ARGV[4], {}
for i = 6, #ARGV do
  if held(q, ARGV[i], holder) then
    redis.call('ZADD', q.leases, ARGV[5], ARGV[i])
    out[#out + 1] = ARGV[i]
  end
end
return out
`),

    // ARGV[4] = now.
    expireLeases: script(`
if missing(q) then return qnf(q) end
local due = redis.call('ZRANGEBYSCORE', q.leases, '-inf', ARGV[4])
return returnAll(q, due)
`),

    // ARGV[4] = holder. A queue that is gone holds nothing.
    releaseHolder: script(`
if missing(q) then return 0 end
local holder = ARGV[4]
redis.call('HDEL', q.b .. 'takes', holder)
if not redis.call('HGET', q.holding, holder) then return 0 end
return returnAll(q, heldBy(q, function(h) return h == holder end), holder)
`),

    // ARGV[4] = node id: everything held by that node's holders (a dead or closing node).
    releaseNode: script(`
if missing(q) then return 0 end
local p = ARGV[4] .. '/'
local function ours(h) return h ~= nil and string.sub(h, 1, #p) == p end
local any = false
for _, holder in ipairs(redis.call('HKEYS', q.holding)) do any = any or ours(holder) end
for _, holder in ipairs(redis.call('HKEYS', q.b .. 'takes')) do
  if ours(holder) then redis.call('HDEL', q.b .. 'takes', holder) end
end
local n = any and returnAll(q, heldBy(q, ours)) or 0
-- Returning nothing wakes nobody, but the node may have enqueued without waking anyone, to take
-- those itself (a plain batch with 'taking'), and gone before its take: listeners look again.
if n == 0 and redis.call('HGET', q.c, 'ready') ~= '0' then wake(q) end
return n
`),

    // ARGV[4] = max, [5] = '1' with in-flight, [6] = '1' with delayed, [7] = now.
    peek: script(`
if missing(q) then return qnf(q) end
promote(q, tonumber(ARGV[7]))
local max = tonumber(ARGV[4])
if max <= 0 then return {} end
local found = {}
for _, id in ipairs(redis.call('ZRANGE', q.ready, 0, max - 1)) do found[#found + 1] = { tonumber(id), id, 'ready' } end
for _, id in ipairs(redis.call('LRANGE', q.fresh, 0, max - 1)) do found[#found + 1] = { tonumber(id), id, 'ready' } end
if ARGV[5] == '1' then
  local flat = redis.call('HGETALL', q.infl)
  for i = 1, #flat, 2 do
    local id = flat[i]
    if id ~= '' then
      local _, c = parseHeld(flat[i + 1])
      found[#found + 1] = { tonumber(id), id, 'in-flight', c }
    end
  end
end
if ARGV[6] == '1' then
  for _, id in ipairs(redis.call('ZRANGE', q.delayed, 0, -1)) do found[#found + 1] = { tonumber(id), id, 'delayed' } end
end
table.sort(found, function(a, b) return a[1] < b[1] end)
local out = {}
for i = 1, math.min(max, #found) do
  local row = fetch(q, found[i][2])
  if found[i][4] then row[3] = found[i][4] end -- in flight: its count is in inflight
  row[#row + 1] = found[i][3]
  out[i] = row
end
return out
`),

    // ARGV[4] = now.
    counts: script(`
if missing(q) then return qnf(q) end
promote(q, tonumber(ARGV[4]))
return redis.call('HMGET', q.c, 'ready', 'inFlight', 'delayed', 'bytes')
`),

    purge: script(`
if missing(q) then return qnf(q) end
local n, bytes = 0, 0
for _, ids in ipairs({ allReady(q), redis.call('ZRANGE', q.delayed, 0, -1) }) do
  bytes = bytes + dropMany(q, ids)
  n = n + #ids
end
redis.call('DEL', q.ready, q.fresh, q.delayed)
redis.call('HSET', q.c, 'ready', 0, 'delayed', 0)
count(q, 'bytes', -bytes)
return n
`),

    // ARGV[4] = key, [5] = window (ms), [6] = now. Expired keys are pruned first.
    remember: script(`
if missing(q) then return qnf(q) end
local now = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', q.dd, '-inf', now)
if redis.call('ZSCORE', q.dd, ARGV[4]) then return 0 end
redis.call('ZADD', q.dd, now + tonumber(ARGV[5]), ARGV[4])
return 1
`),

    nextWakeAt: script(`
if missing(q) then return qnf(q) end
local d = redis.call('ZRANGE', q.delayed, 0, 0, 'WITHSCORES')
local l = redis.call('ZRANGE', q.leases, 0, 0, 'WITHSCORES')
if #d == 0 and #l == 0 then return false end
if #d == 0 then return l[2] end
if #l == 0 then return d[2] end
if tonumber(d[2]) <= tonumber(l[2]) then return d[2] end
return l[2]
`),

    /**
     * KEYS[1..10] source, KEYS[11..20] target (both in one slot).
     * ARGV[2] source base, [3] source name, [4] target base, [5] target name, [6] holder,
     * [7] number of ids n, [8] now, ids from ARGV[9], then n records.
     */
    move: withPrelude(
      mode,
      20,
      `local src, dst = Q(1, ARGV[2], ARGV[3]), Q(11, ARGV[4], ARGV[5])
if missing(src) then return qnf(src) end
if missing(dst) then return qnf(dst) end
local holder, n, now = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local out, starts, bytes = {}, {}, 0
for j = 1, n do
  local id = ARGV[8 + j]
  if held(src, id, holder) then
    unhold(src, id, holder)
    bytes = bytes + drop(src, id)
    out[#out + 1] = id
    starts[#starts + 1] = 9 + n + (j - 1) * ${RECORD_ARGS}
  end
end
local _, due = appendRecords(dst, now, ARGV, starts)
count(src, 'inFlight', -#out)
count(src, 'bytes', -bytes)
if #out > 0 then wake(dst, due) end
return out
`,
    ),
  } satisfies Record<string, ScriptDef>;
}

export type ScriptName = keyof ReturnType<typeof queueScripts>;
