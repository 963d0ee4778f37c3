// Engine benchmark: send → receive → ack throughput and per-batch latency, from the built dist.
//   npm run build && npm run bench:engine            (all scenarios, 3 runs each, medians)
//   node bench/engine.bench.js --only memory-pull --runs 1 --seconds 5   (e.g. under node --cpu-prof)
// Each batch: 100 sends of 256-byte persistent bodies issued concurrently, then the 100
// deliveries (pull: one receive({ max: 100 }); push: a consumer's handler), then one ack call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Broker, LmdbStore, MemoryStore } from '../packages/core/dist/index.js';
import { measure, printMedians, pullBatch, pushBatcher } from './engine-load.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '2' },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);

const scenarios = [
  { name: 'memory-pull', store: 'memory', mode: 'pull' },
  { name: 'memory-push', store: 'memory', mode: 'push' },
  { name: 'durable-pull', store: 'lmdb', mode: 'pull' },
  { name: 'durable-push', store: 'lmdb', mode: 'push' },
  // 32 pull loops at once: their sends share each LMDB commit (group commit).
  { name: 'durable-pull-x32', store: 'lmdb', mode: 'pull', workers: 32 },
].filter((s) => args.only === undefined || args.only.split(',').includes(s.name));

async function openBroker(kind) {
  if (kind === 'memory')
    return { broker: await Broker.open({ store: new MemoryStore() }), cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
  const broker = await Broker.open({ store: new LmdbStore({ path: dir }) });
  return { broker, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function runOnce(scenario, seconds) {
  const { broker, cleanup } = await openBroker(scenario.store);
  try {
    const vhost = broker.vhost();
    await vhost.declareQueue('bench', { durable: true });
    const batch = scenario.mode === 'pull' ? () => pullBatch(vhost) : pushBatcher(vhost);
    const batches = Array.from({ length: scenario.workers ?? 1 }, () => batch);
    return { ...(await measure(batches, seconds)), rssMiB: process.memoryUsage().rss / 2 ** 20 };
  } finally {
    await broker.close();
    cleanup();
  }
}

await printMedians(scenarios, runOnce, RUNS, SECONDS);
