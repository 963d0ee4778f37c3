import type { ScriptDef } from './queue-scripts.js';

/**
 * Store formats 1 and 2 kept each message's record in a hash of its own (`m:<id>`); formats 3 and
 * 4 keep them in the queue's `records` and `meta` hashes (prelude.ts). store-upgrade.ts moves them
 * over with the first two scripts, queue by queue, when the first node of format 4 opens the
 * store; the third brings a queue of format 3 to format 4.
 */
export function upgradeScripts(queueScript: (body: string) => ScriptDef) {
  return {
    // Every id of the queue whose record is still a hash of its own.
    legacyRecordIds: queueScript(`
if missing(q) then return {} end
local out = {}
local function add(ids)
  for _, id in ipairs(ids) do
    if id ~= '' and redis.call('EXISTS', q.b .. 'm:' .. id) == 1 then out[#out + 1] = id end
  end
end
add(redis.call('ZRANGE', q.ready, 0, -1))
add(redis.call('LRANGE', q.fresh, 0, -1))
add(redis.call('ZRANGE', q.delayed, 0, -1))
add(redis.call('HKEYS', q.infl))
add(redis.call('HKEYS', q.b .. 'moving'))
return out
`),

    // From ARGV[4]: id, packed record, meta value. A record whose own hash is gone meanwhile (another
    // node moved it over and the message has since been acked) is not written back.
    adoptRecords: queueScript(`
local n = 0
for i = 4, #ARGV, 3 do
  local id, key = ARGV[i], q.b .. 'm:' .. ARGV[i]
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', q.recs, id, ARGV[i + 1])
    redis.call('HSET', q.meta, id, ARGV[i + 2])
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
`),

    // Format 3's meta hash gets the pad field; its per-holder sets of held ids (a `holders` set of
    // holders, an `h:<holder>` set each) become counts in `holding`.
    fromFormat3: queueScript(`
if redis.call('EXISTS', q.meta) == 1 then redis.call('HSET', q.meta, '', PAD) end
local legacy = q.b .. 'holders'
if redis.call('EXISTS', legacy) == 0 then return 0 end
for _, holder in ipairs(redis.call('SMEMBERS', legacy)) do
  local hk = q.b .. 'h:' .. holder
  local n = redis.call('SCARD', hk)
  if n > 0 then redis.call('HINCRBY', q.holding, holder, n) end
  redis.call('DEL', hk)
end
redis.call('DEL', legacy)
return 1
`),
  } satisfies Record<string, ScriptDef>;
}
