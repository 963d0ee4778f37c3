// Engine benchmark: send → receive → ack throughput and per-batch latency, from the built dist.
//   npm run build && npm run bench:engine            (all scenarios, 3 runs each, medians)
//   node bench/engine.bench.js --only memory-pull --runs 1 --seconds 5   (e.g. under node --cpu-prof)
// Each batch: 100 sends of 256-byte persistent bodies issued concurrently, then the 100
// deliveries (pull: one receive({ max: 100 }); push: a consumer's handler), then one ack call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Broker, LmdbStore, MemoryStore } from '../packages/core/dist/index.js';
import { BATCH, BODY, percentile, pullBatch, pushBatcher } from './engine-load.js';

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
    const latencies = [];
    const start = performance.now();
    const deadline = start + seconds * 1000;
    const loop = async () => {
      for (let now = performance.now(); now < deadline;) {
        const t0 = now;
        await batch();
        now = performance.now();
        latencies.push(now - t0);
      }
    };
    await Promise.all(Array.from({ length: scenario.workers ?? 1 }, loop));
    const elapsed = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      rate: (latencies.length * BATCH) / elapsed,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
  } finally {
    await broker.close();
    cleanup();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(
  `node ${process.version}, ${RUNS} run(s) of ${SECONDS}s per scenario, batches of ${BATCH} × ${BODY.length} B, medians\n`,
);
for (const scenario of scenarios) await runOnce(scenario, 0.3); // warm-up (JIT, LMDB files)

const rows = [];
for (const scenario of scenarios) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runOnce(scenario, SECONDS));
  rows.push({
    scenario: scenario.name,
    'msg/s': Math.round(median(runs.map((r) => r.rate))).toLocaleString('en-US'),
    'runs msg/s': runs.map((r) => Math.round(r.rate / 1000) + 'k').join(' / '),
    'batch p50 ms': median(runs.map((r) => r.p50)).toFixed(3),
    'batch p99 ms': median(runs.map((r) => r.p99)).toFixed(3),
    'rss MiB': median(runs.map((r) => r.rssMiB)).toFixed(0),
  });
}
console.table(rows);
