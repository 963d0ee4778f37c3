// What a script call costs Redis before it does any work per message: instructions per call
// (callgrind, as in script-instructions.mjs) of small Lua scripts with the store's call shape
// (10 keys of one slot, 4 arguments); read each row against `return 1` with 10 keys:
//   npm run build && node bench/scale-out/call-instructions.mjs [--calls 500]
// The store's per-call fixed cost is what script-instructions.mjs shows at --batch 1 less its
// per-message slope; this splits it into the call itself, the prelude and single commands.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startCallgrindRedis } from './callgrind-redis.mjs';
import { preludeNames, preludeFor } from '../../packages/store-redis/dist/scripts/prelude.js';

const { values: opt } = parseArgs({ options: { calls: { type: 'string', default: '500' } } });
const N = Number(opt.calls);
const callgrind = await startCallgrindRedis();
const client = new Redis(callgrind.url, { retryStrategy: () => 200, maxRetriesPerRequest: null });
client.on('error', () => {}); // refused while valgrind starts Redis; ping waits
await client.ping();

const keys = Array.from({ length: 10 }, (_, i) => `bench{q:x}:${i}`);
const all = preludeFor('single', preludeNames('single').join(' '));
const q = 'local q = Q(1, ARGV[2], ARGV[3])\n';
const scripts = [
  ['EVALSHA of return 1, no keys', 'return 1', 0],
  ['EVALSHA of return 1, 10 keys', 'return 1', 10],
  ['10 keys, the whole prelude', `${all}return 1`, 10],
  ['10 keys, the whole prelude and Q()', `${all}${q}return 1`, 10],
  ['10 keys, one EXISTS', "redis.call('EXISTS', KEYS[1]) return 1", 10],
  [
    '10 keys, two HINCRBY',
    "redis.call('HINCRBY', KEYS[1], 'a', '1') redis.call('HINCRBY', KEYS[1], 'b', '2') return 1",
    10,
  ],
  [
    '10 keys, a GET and a SET',
    "local v = tonumber(redis.call('GET', KEYS[2]) or '0') redis.call('SET', KEYS[2], string.format('%d', v + 1)) return 1",
    10,
  ],
  ['10 keys, one INCRBY', "redis.call('INCRBY', KEYS[2], '1') return 1", 10],
];
console.log(`Redis instructions per call (callgrind), ${N} calls each:\n`);
console.log('| script | instructions per call |\n| --- | ---: |');
for (const [name, lua, nkeys] of scripts) {
  const sha = await client.script('LOAD', lua);
  const call = () => client.evalsha(sha, nkeys, ...keys.slice(0, nkeys), 'node', 'bench{q:x}:', 'x', '1');
  for (let i = 0; i < 20; i++) await call();
  callgrind.zero();
  for (let i = 0; i < N; i++) await call();
  console.log(`| ${name} | ${Math.round(callgrind.dump() / N).toLocaleString('en-US')} |`);
}
client.disconnect();
await callgrind.stop();
