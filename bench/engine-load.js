// The engine benchmarks' load, shared by engine.bench.js and store-redis.bench.js: batches of
// sends, then as many deliveries (pulled or pushed), then one ack call; the timing loop and the table.

import { performance } from 'node:perf_hooks';

export const BATCH = 100;
export const BODY = Buffer.alloc(256, 0x61);

export function sendBatch(vhost) {
  const sends = new Array(BATCH);
  for (let i = 0; i < BATCH; i++)
    sends[i] = vhost.send('bench', { body: BODY, properties: { persistent: true } });
  return Promise.all(sends);
}

export async function pullBatch(vhost) {
  await sendBatch(vhost);
  let deliveries = await vhost.receive('bench', { max: BATCH });
  // With several loops (or nodes) on one queue another may have taken some of ours: wait for as many others.
  while (deliveries.length < BATCH)
    deliveries = deliveries.concat(
      await vhost.receive('bench', { max: BATCH - deliveries.length, waitMs: 5000 }),
    );
  await vhost.ack(deliveries);
}

export function pushBatcher(vhost) {
  let pending = [];
  let wake;
  vhost.consume('bench', (delivery) => {
    pending.push(delivery);
    if (pending.length === BATCH) wake();
  });
  return async () => {
    const arrived = new Promise((resolve) => (wake = resolve));
    await sendBatch(vhost);
    await arrived;
    const deliveries = pending;
    pending = [];
    await vhost.ack(deliveries);
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs each batch function in its own loop for `seconds`; throughput and per-batch latency. */
export async function measure(batches, seconds) {
  const latencies = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async (batch) => {
    for (let now = performance.now(); now < deadline;) {
      const t0 = now;
      await batch();
      now = performance.now();
      latencies.push(now - t0);
    }
  };
  await Promise.all(batches.map(loop));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: (latencies.length * BATCH) / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Warms up, runs every scenario `runs` times and prints medians (with RSS when the runs report it). */
export async function printMedians(scenarios, runOnce, runs, seconds) {
  console.log(
    `node ${process.version}, ${runs} run(s) of ${seconds}s per scenario, batches of ${BATCH} × ${BODY.length} B, medians\n`,
  );
  for (const scenario of scenarios) await runOnce(scenario, 0.3); // warm-up (JIT, LMDB files)
  const rows = [];
  for (const scenario of scenarios) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await runOnce(scenario, seconds));
    const row = {
      scenario: scenario.name,
      'msg/s': Math.round(median(results.map((r) => r.rate))).toLocaleString('en-US'),
      'runs msg/s': results.map((r) => Math.round(r.rate / 1000) + 'k').join(' / '),
      'batch p50 ms': median(results.map((r) => r.p50)).toFixed(3),
      'batch p99 ms': median(results.map((r) => r.p99)).toFixed(3),
    };
    if (results[0].rssMiB !== undefined) row['rss MiB'] = median(results.map((r) => r.rssMiB)).toFixed(0);
    rows.push(row);
  }
  console.table(rows);
}
