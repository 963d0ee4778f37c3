// Redis's instructions per message of the shared store's hot scripts (enqueue, take, ack),
// counted by valgrind's callgrind in a redis-server of its own: the same count for the same
// build whatever else the machine does, where CPU time (script-cost.mjs) drifts by ±15% between
// neighbouring runs on this machine. Each phase runs alone over the same messages: enqueue them
// all, take them all, ack them all, in batches; callgrind is zeroed before and dumped after each.
//   npm run build && node bench/scale-out/script-instructions.mjs [--batch 100] [--messages 3000] [--body 256] [--base <dist/index.js>] [--server <redis-server>]
// --server runs another redis-server binary (one built with symbols, for callgrind_annotate: see
// docs/benchmarks-scale-out.md); each phase's dump is kept and named at the end.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startCallgrindRedis } from './callgrind-redis.mjs';
import { recordFactory, storeBuilds } from './store-builds.mjs';

const { values: opt } = parseArgs({
  options: {
    batch: { type: 'string', default: '100' },
    messages: { type: 'string', default: '3000' },
    body: { type: 'string', default: '256' },
    base: { type: 'string' },
    server: { type: 'string', default: 'redis-server' },
  },
});
const B = Number(opt.batch);
const N = Number(opt.messages);
const builds = storeBuilds(opt.base);

/** With DEBUG set, where the run is, on stderr. */
const step = (what) => process.env.DEBUG && console.error(new Date().toISOString(), what);

const callgrind = await startCallgrindRedis(opt.server);
const { url } = callgrind;
// Valgrind takes a few seconds to start Redis: the client retries until it answers.
const probe = new Redis(url, { retryStrategy: () => 200, maxRetriesPerRequest: null });
probe.on('error', () => {}); // refused while valgrind starts it; ping below waits
step('ping');
await probe.ping();
step('ponged');

const record = recordFactory(Number(opt.body));

const results = {};
for (const [name, dist] of Object.entries(builds)) {
  const { RedisStore } = await import(`${dist}?${name}`);
  const store = new RedisStore({ url, prefix: `conveyor-ir-${name}:` });
  step(`open ${name}`);
  await store.open();
  step('opened');
  await store.createQueue('q');
  // A warm-up round, so that every script is loaded and Redis's structures exist.
  await store.enqueue('q', Array.from({ length: B }, record));
  const warm = await store.take('q', B, { holder: 'h', now: Date.now() });
  await store.ack(
    'q',
    warm.map((m) => m.id),
    'h',
  );
  const r = {};
  step('phase');
  callgrind.zero();
  for (let i = 0; i < N; i += B) await store.enqueue('q', Array.from({ length: B }, record));
  r.enqueue = callgrind.dump() / N;
  const taken = [];
  step('phase');
  callgrind.zero();
  for (let i = 0; i < N; i += B) taken.push(await store.take('q', B, { holder: 'h', now: Date.now() }));
  r.take = callgrind.dump() / N;
  step('phase');
  callgrind.zero();
  for (const got of taken)
    await store.ack(
      'q',
      got.map((m) => m.id),
      'h',
    );
  r.ack = callgrind.dump() / N;
  step('acked');
  results[name] = r;
  await store.deleteQueue('q');
  step('deleted');
  await store.close();
  step('closed');
}
probe.disconnect();
const stderr = await callgrind.stop();
if (Object.keys(results).length === 0) throw new Error(`no result; valgrind said: ${stderr}`);

console.log(
  `Redis instructions per message (callgrind, everything Redis ran), batches of ${B}, ${N} messages of ${opt.body} B:`,
);
console.log('| build | enqueue | take | ack | total |\n| --- | ---: | ---: | ---: | ---: |');
const k = (ir) => Math.round(ir).toLocaleString('en-US');
for (const [name, r] of Object.entries(results))
  console.log(
    `| ${name} | ${k(r.enqueue)} | ${k(r.take)} | ${k(r.ack)} | ${k(r.enqueue + r.take + r.ack)} |`,
  );
// Per build, the enqueue, take and ack dumps, in that order.
console.log(`callgrind dumps (callgrind_annotate <file>): ${callgrind.dumps.join(' ')}`);
