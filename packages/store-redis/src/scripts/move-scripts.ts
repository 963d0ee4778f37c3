import { RECORD_ARGS } from './prelude.js';
import type { ScriptDef } from './queue-scripts.js';

/**
 * A move between queues in different Cluster slots (dead-lettering, redrive) cannot be one
 * script, so it is four, each in one queue's slot, and crash-safe at every step:
 *
 * 1. `moveOut` (source): the held messages leave their holder and become intents in the
 *    source's `moving` hash (id → target, holder, lease, new record). Lease expiry and a sweep no
 *    longer return them; the queue's in-flight count stays raised.
 * 2. `moveIn` (target): appends the records, each marked in the target's `movedIn` hash by source
 *    queue and id, so a replay appends nothing twice.
 * 3. `moveDone` (source): drops the source records and turns each intent into a `landed` note
 *    (id → target, holder), so that a crash before step 4 still says which marks to forget.
 * 4. `moveForget` (target): drops the marks. The notes go with the source's next `moveDone`, or
 *    with the recovery below.
 *
 * If the moving node dies, whichever node sweeps it finds its intents (`movesOf`) and replays
 * steps 2–4, then forgets the marks its landed notes name (`movesOf` too). A missing target undoes
 * step 1 (`moveAbort`): back to the holder, or to ready when its node is gone.
 */
export function crossSlotMoveScripts(queueScript: (body: string) => ScriptDef) {
  return {
    // ARGV[4] = holder, [5] = target name, [6] = n; ids from ARGV[7], then n records.
    moveOut: queueScript(`
if missing(q) then return qnf(q) end
local holder, target, n = ARGV[4], ARGV[5], tonumber(ARGV[6])
local out = {}
for j = 1, n do
  local id = ARGV[6 + j]
  local mine, c = holdOf(q, id, holder)
  if mine then
    local lease = redis.call('ZSCORE', q.leases, id) or ''
    unhold(q, id, holder)
    keepMeta(q, id, c) -- for moveAbort's way back
    local intent = { target, holder, lease }
    local at = 7 + n + (j - 1) * ${RECORD_ARGS}
    for i = at, at + ${RECORD_ARGS - 1} do intent[#intent + 1] = ARGV[i] end
    redis.call('HSET', q.b .. 'moving', id, cmsgpack.pack(intent))
    out[#out + 1] = id
  end
end
return out
`),

    // ARGV[4] = source name, [5] = now, [6] = n; then n times: source id, record.
    // Returns how many were appended now (the others were, by an earlier try).
    moveIn: queueScript(`
if missing(q) then return qnf(q) end
local src, now, n = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local marks, starts, fresh = q.b .. 'movedIn', {}, {}
for j = 1, n do
  local at = 7 + (j - 1) * ${RECORD_ARGS + 1}
  local mark = src .. '\\0' .. ARGV[at]
  if redis.call('HEXISTS', marks, mark) == 0 then
    starts[#starts + 1] = at + 1
    fresh[#fresh + 1] = mark
  end
end
local ids, due = appendRecords(q, now, ARGV, starts)
for i, mark in ipairs(fresh) do redis.call('HSET', marks, mark, ids[i]) end
if #ids > 0 then wake(q, due) end
return #ids
`),

    // ARGV[4] = k; k moved ids from ARGV[5]: their records go, their intents become landed notes.
    // From ARGV[5 + k]: ids whose notes go (their marks are forgotten).
    moveDone: queueScript(`
local k, n, bytes = tonumber(ARGV[4]), 0, 0
local moving, landed = q.b .. 'moving', q.b .. 'landed'
for i = 5, 4 + k do
  local packed = redis.call('HGET', moving, ARGV[i])
  if packed then
    local intent = cmsgpack.unpack(packed)
    redis.call('HDEL', moving, ARGV[i])
    redis.call('HSET', landed, ARGV[i], cmsgpack.pack({ intent[1], intent[2] }))
    bytes = bytes + drop(q, ARGV[i])
    n = n + 1
  end
end
for i = 5 + k, #ARGV do redis.call('HDEL', landed, ARGV[i]) end
count(q, 'inFlight', -n)
count(q, 'bytes', -bytes)
return n
`),

    // ARGV[4] = source name; source ids from ARGV[5].
    moveForget: queueScript(`
for i = 5, #ARGV do redis.call('HDEL', q.b .. 'movedIn', ARGV[4] .. '\\0' .. ARGV[i]) end
return 1
`),

    // ARGV[4] = '1' to give them back to their holder (lease restored), '' for ready; ids from ARGV[5].
    moveAbort: queueScript(`
local back, n = ARGV[4] == '1', 0
for i = 5, #ARGV do
  local id = ARGV[i]
  local packed = redis.call('HGET', q.b .. 'moving', id)
  if packed then
    redis.call('HDEL', q.b .. 'moving', id)
    local intent = cmsgpack.unpack(packed)
    if back then
      local s, c = parseMeta(redis.call('HGET', q.meta, id))
      s = s or bodySize(redis.call('HGET', q.recs, id))
      deliverMany(q, { id }, { (c or '0') .. ' ' .. s .. ' ' .. intent[2] }, intent[2], intent[3])
      count(q, 'ready', 1) -- deliverMany counts a take from ready; this one was in flight
      count(q, 'inFlight', -1)
    else
      redis.call('ZADD', q.ready, id, id)
      count(q, 'inFlight', -1)
      count(q, 'ready', 1)
    end
    n = n + 1
  end
end
if n > 0 and not back then wake(q) end
return n
`),

    // ARGV[4] = holder prefix ('<node>/'), [5] = 'moving' or 'landed': that node's intents, each
    // { id, target, holder, lease, record... }, or its landed notes, each { id, target, holder }.
    movesOf: queueScript(`
local p, out = ARGV[4], {}
local flat = redis.call('HGETALL', q.b .. (ARGV[5] == 'landed' and 'landed' or 'moving'))
for i = 1, #flat, 2 do
  local entry = cmsgpack.unpack(flat[i + 1])
  if string.sub(entry[2], 1, #p) == p then
    table.insert(entry, 1, flat[i])
    out[#out + 1] = entry
  end
end
return out
`),
  } satisfies Record<string, ScriptDef>;
}
