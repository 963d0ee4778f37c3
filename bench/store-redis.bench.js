// Shared-store benchmark: send → receive → ack throughput over Redis (1 and 3 nodes) against the
// embedded stores, with the load of bench/engine.bench.js. From the built dist:
//   npx tsc -b packages/store-redis && node bench/store-redis.bench.js [--only redis-pull-3n] [--runs 3] [--seconds 2]
// Each batch: 100 sends of 256-byte persistent bodies issued concurrently, then the 100 deliveries
// (pull: receive({ max: 100 }); push: a consumer's handler), then one ack call.
// "3 nodes" = three Brokers in this process, each with its own RedisStore (own connection, own
// node id) on one prefix, each running the batch loop on the same queue: a delivery may come from
// another node's sends, so pull loops poll (no cross-node wake-up) and push runs on one node only.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Broker, LmdbStore, MemoryStore } from '../packages/core/dist/index.js';
import { measure, printMedians, pullBatch, pushBatcher } from './engine-load.js';
import { RedisStore } from '../packages/store-redis/dist/index.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '2' },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const scenarios = [
  { name: 'memory-pull', store: 'memory', mode: 'pull' },
  { name: 'lmdb-pull', store: 'lmdb', mode: 'pull' },
  { name: 'redis-pull-1n', store: 'redis', mode: 'pull', nodes: 1 },
  { name: 'redis-pull-3n', store: 'redis', mode: 'pull', nodes: 3 },
  { name: 'memory-push', store: 'memory', mode: 'push' },
  { name: 'lmdb-push', store: 'lmdb', mode: 'push' },
  { name: 'redis-push-1n', store: 'redis', mode: 'push', nodes: 1 },
].filter((s) => args.only === undefined || args.only.split(',').includes(s.name));

async function openNodes(scenario) {
  if (scenario.store === 'memory')
    return { brokers: [await Broker.open({ store: new MemoryStore() })], cleanup: async () => undefined };
  if (scenario.store === 'lmdb') {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
    const broker = await Broker.open({ store: new LmdbStore({ path: dir }) });
    return { brokers: [broker], cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const prefix = `conveyor-bench:${randomUUID().slice(0, 8)}:`;
  const brokers = [];
  for (let i = 0; i < scenario.nodes; i++)
    brokers.push(await Broker.open({ store: new RedisStore({ url: REDIS_URL, prefix }) }));
  return { brokers, cleanup: () => deletePrefix(prefix) };
}

async function deletePrefix(prefix) {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

async function runOnce(scenario, seconds) {
  const { brokers, cleanup } = await openNodes(scenario);
  try {
    for (const b of brokers) await b.vhost().declareQueue('bench', { durable: true });
    const batches = brokers.map((b) =>
      scenario.mode === 'pull' ? () => pullBatch(b.vhost()) : pushBatcher(b.vhost()),
    );
    return await measure(batches, seconds);
  } finally {
    for (const b of brokers) await b.close();
    await cleanup();
  }
}

await printMedians(scenarios, runOnce, RUNS, SECONDS);
