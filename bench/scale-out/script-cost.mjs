// Redis CPU per message of the shared store's three hot scripts (enqueue, take, ack), measured
// by Redis's own CPU counters (INFO cpu) around each call, batch by batch, from the built store,
// and the node's side of the same calls (this process's CPU while the store call runs: packing,
// the client's command encoding and reply parsing, unpacking):
//   npm run build && node bench/scale-out/script-cost.mjs [--batch 25] [--messages 60000] [--backlog 3000] [--body 256]
// With --base <path to another build's packages/store-redis/dist/index.js>, that build and this
// one run side by side on their own prefixes, batch for batch in turns, so both see the same
// machine: this machine's speed drifts by ±15% within minutes, which swamps a few percent.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { assertLoopback } from '../amqp/lib.mjs';
import { recordFactory, storeBuilds } from './store-builds.mjs';

const { values: opt } = parseArgs({
  options: {
    batch: { type: 'string', default: '25' },
    messages: { type: 'string', default: '60000' },
    backlog: { type: 'string', default: '0' },
    body: { type: 'string', default: '256' },
    lease: { type: 'boolean', default: false },
    base: { type: 'string' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const B = Number(opt.batch);
const N = Number(opt.messages);
const url = assertLoopback(opt.redis);
const builds = storeBuilds(opt.base);

const info = new Redis(url);
const cpuUs = async () => {
  const s = await info.info('cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(s)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
};
const record = recordFactory(Number(opt.body));

const runs = {};
for (const [name, dist] of Object.entries(builds)) {
  const { RedisStore } = await import(`${dist}?${name}`);
  const store = new RedisStore({
    url,
    prefix: `conveyor-script-cost-${name}-${randomBytes(3).toString('hex')}:`,
  });
  await store.open();
  await store.createQueue('q');
  for (let i = 0; i < Number(opt.backlog); i += 100)
    await store.enqueue('q', Array.from({ length: 100 }, record));
  runs[name] = { store, enqueue: 0, take: 0, ack: 0, node: { enqueue: 0, take: 0, ack: 0 } };
}
// What one INFO costs Redis, taken off every measured step.
const t0 = await cpuUs();
for (let i = 0; i < 100; i++) await cpuUs();
const infoUs = ((await cpuUs()) - t0) / 101;

/** This process's CPU time in µs. */
const nodeUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const names = Object.keys(runs);
for (let done = 0; done < N; done += B) {
  for (const name of (done / B) % 2 === 0 ? names : [...names].reverse()) {
    const r = runs[name];
    const records = Array.from({ length: B }, record);
    let before = await cpuUs();
    let cpu = nodeUs();
    await r.store.enqueue('q', records);
    r.node.enqueue += nodeUs() - cpu;
    let after = await cpuUs();
    r.enqueue += after - before - infoUs;
    const now = Date.now();
    cpu = nodeUs();
    const got = await r.store.take('q', B, {
      holder: 'h',
      now,
      ...(opt.lease ? { leaseUntil: now + 60_000 } : {}),
    });
    r.node.take += nodeUs() - cpu;
    before = await cpuUs();
    r.take += before - after - infoUs;
    const ids = got.map((m) => m.id);
    cpu = nodeUs();
    await r.store.ack('q', ids, 'h');
    r.node.ack += nodeUs() - cpu;
    after = await cpuUs();
    r.ack += after - before - infoUs;
  }
}
console.log(
  `Redis CPU µs per message, batches of ${B}, ${N} messages of ${opt.body} B, backlog ${opt.backlog}${opt.lease ? ', leased' : ''}:`,
);
console.log('| build | enqueue | take | ack | total |\n| --- | ---: | ---: | ---: | ---: |');
const f = (us) => (us / N).toFixed(2);
const row = (name, c) =>
  console.log(
    `| ${name} | ${f(c.enqueue)} | ${f(c.take)} | ${f(c.ack)} | ${f(c.enqueue + c.take + c.ack)} |`,
  );
for (const [name, r] of Object.entries(runs)) row(name, r);
console.log('\nNode CPU µs per message (this process, during the store calls):');
console.log('| build | enqueue | take | ack | total |\n| --- | ---: | ---: | ---: | ---: |');
for (const [name, r] of Object.entries(runs)) row(name, r.node);
for (const r of Object.values(runs)) {
  await r.store.deleteQueue('q');
  await r.store.close();
}
info.disconnect();
