// Scale-out benchmark: the same AMQP client load against real `conveyor start` processes of the built CLI:
// the embedded stores on one node, the shared Redis store on one node and on three nodes, and three
// nodes over a 3-master Redis Cluster the bench starts itself (redis-cluster.sh) with one queue per master.
//   npm run build && npm run bench:scale-out
//   node bench/scale-out/run.mjs --runs 3 --seconds 5 --only lmdb,redis1,redis3,cluster3
//   node bench/scale-out/run.mjs --runs 3 --seconds 5 --window 512   (the deep load)
// Load: `--publishers` persistent-message publishers with confirms (at most `--window` unconfirmed each)
// into one durable queue for `--seconds`, and `--consumers` consumers acking each (prefetch `--prefetch`),
// every client in its own process. On three nodes publisher i talks to node i mod 3 and consumer j to
// node (j + 1) mod 3, so every node serves both and messages cross nodes. `apart3` is the control:
// three nodes over one Redis with a queue each, published and consumed on the same node, so no
// message crosses nodes and what it costs over `redis1` is three nodes sharing this machine.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assertLoopback, median, now, percentile } from '../amqp/lib.mjs';
import { startBroker } from './broker-process.mjs';
import { startClient } from './client-process.mjs';
import {
  deletePrefix,
  redisPid,
  redisWork,
  redisCpuMs,
  redisReachable,
  storeUrl,
  uniquePrefix,
} from './redis-prefix.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string', default: 'lmdb,memory,redis1,redis3' },
    publishers: { type: 'string', default: '3' },
    consumers: { type: 'string', default: '3' },
    window: { type: 'string', default: '64' },
    prefetch: { type: 'string', default: '100' },
    'drain-timeout': { type: 'string', default: '60' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    cli: {
      type: 'string',
      default: fileURLToPath(new URL('../../apps/broker/dist/cli.js', import.meta.url)),
    },
    'cluster-ports': { type: 'string', default: '23791,23792,23793' },
    placement: { type: 'string', default: 'spread' },
    profile: { type: 'string' },
    json: { type: 'string' },
  },
});
const RUNS = Number(opt.runs);
const SECONDS = Number(opt.seconds);
const PUBLISHERS = Number(opt.publishers);
const CONSUMERS = Number(opt.consumers);
const DRAIN_MS = Number(opt['drain-timeout']) * 1000;
/** After the consumers reach the confirmed count, wait this long for duplicates before stopping them. */
const SETTLE_MS = 500;
const REDIS_URL = assertLoopback(opt.redis);
if (!['spread', 'first'].includes(opt.placement))
  throw new Error(`--placement is 'spread' (clients over every node) or 'first' (all on node 1)`);

const SCENARIOS = {
  lmdb: { title: 'embedded LMDB (default), 1 node', nodes: 1, store: () => ({ kind: 'lmdb' }) },
  memory: { title: 'embedded memory (--memory), 1 node', nodes: 1, store: () => ({ kind: 'memory' }) },
  redis1: { title: 'Redis, 1 node', nodes: 1, redis: true },
  redis3: { title: 'Redis, 3 nodes', nodes: 3, redis: true },
  // Three nodes that share Redis and this machine but no message: a queue each, its publisher and
  // its consumer on the same node. What three nodes cost here over one, coordination aside.
  apart3: {
    title: 'Redis, 3 nodes, a queue each, published and consumed on its node',
    nodes: 3,
    redis: true,
    queues: 3,
    apart: true,
  },
  cluster3: {
    title: 'Redis Cluster (3 masters), 3 nodes, a queue per master',
    nodes: 3,
    redis: true,
    cluster: true,
    queues: 3,
  },
};
const chosen = opt.only.split(',').filter((k) => {
  if (!SCENARIOS[k]) throw new Error(`unknown scenario '${k}' (${Object.keys(SCENARIOS).join(', ')})`);
  return true;
});
if (!existsSync(opt.cli)) throw new Error(`${opt.cli} is missing: run \`npm run build\` first`);
if (chosen.some((k) => SCENARIOS[k].redis) && !(await redisReachable(REDIS_URL)))
  throw new Error(`Redis is not reachable at ${REDIS_URL} (set --redis or REDIS_URL)`);

// The Redis Cluster for `cluster3`: started once, flushed after each run, stopped at the end.
const CLUSTER_PORTS = opt['cluster-ports'].split(',').map(Number);
const CLUSTER_SCRIPT = fileURLToPath(new URL('redis-cluster.sh', import.meta.url));
let clusterDir;
if (chosen.includes('cluster3')) {
  clusterDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-cluster-'));
  execFileSync(CLUSTER_SCRIPT, ['start', clusterDir, ...CLUSTER_PORTS.map(String)], { stdio: 'inherit' });
}
const stopCluster = () => {
  if (clusterDir) execFileSync(CLUSTER_SCRIPT, ['stop', clusterDir], { stdio: 'inherit' });
  clusterDir = undefined;
};
/** The Redis servers of a scenario: one, or each master of the cluster. */
const shardsOf = (s) => (s.cluster ? CLUSTER_PORTS.map((p) => `redis://127.0.0.1:${p}`) : [REDIS_URL]);
/** Queue names, one per master when the scenario spreads queues: CLUSTER KEYSLOT of the queue's tag. */
function queueNames(s, prefix) {
  const base = `bench.scale-out.${randomBytes(4).toString('hex')}`;
  if (!s.cluster) return Array.from({ length: s.queues ?? 1 }, (_, i) => `${base}.${i}`);
  const cli = (...args) =>
    execFileSync('redis-cli', ['-p', String(CLUSTER_PORTS[0]), ...args], { encoding: 'utf8' });
  const ranges = [...cli('CLUSTER', 'SLOTS').matchAll(/^(\d+)\n(\d+)\n127\.0\.0\.1\n(\d+)/gm)].map((m) => ({
    from: Number(m[1]),
    to: Number(m[2]),
    port: Number(m[3]),
  }));
  const byMaster = new Map();
  for (let i = 0; byMaster.size < Math.min(s.queues, CLUSTER_PORTS.length) && i < 10_000; i++) {
    const name = `${base}.${i}`;
    const slot = Number(cli('CLUSTER', 'KEYSLOT', `${prefix}{q:%2F/${name}}:counts`).trim());
    const port = ranges.find((r) => slot >= r.from && slot <= r.to)?.port;
    if (port !== undefined && !byMaster.has(port)) byMaster.set(port, name);
  }
  return [...byMaster.values()];
}
/** Sum of each shard's INFO counters. */
function mergeWork(works) {
  const perCommand = {};
  for (const w of works)
    for (const [cmd, v] of Object.entries(w.perCommand)) {
      const into = (perCommand[cmd] ??= { calls: 0, usec: 0 });
      into.calls += v.calls;
      into.usec += v.usec;
    }
  return {
    commands: sum(works.map((w) => w.commands)),
    scripts: sum(works.map((w) => w.scripts)),
    reads: sum(works.map((w) => w.reads)),
    writes: sum(works.map((w) => w.writes)),
    perCommand,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const loads = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const POPCOUNT = Uint8Array.from(
  { length: 256 },
  (_, b) => [...b.toString(2)].filter((c) => c === '1').length,
);

/** Distinct (publisher, sequence) pairs across every consumer's bitmaps. */
function distinctConsumed(consumerResults) {
  const merged = new Map();
  for (const r of consumerResults)
    for (const [index, b64] of Object.entries(r.bitmaps)) {
      const bits = Buffer.from(b64, 'base64');
      const into = merged.get(index) ?? Buffer.alloc(0);
      const out =
        into.length >= bits.length ? into : Buffer.concat([into, Buffer.alloc(bits.length - into.length)]);
      for (let i = 0; i < bits.length; i++) out[i] |= bits[i];
      merged.set(index, out);
    }
  let n = 0;
  for (const bits of merged.values()) for (const byte of bits) n += POPCOUNT[byte];
  return n;
}

/** Polls the consumers until they have consumed `confirmed` messages (then SETTLE_MS more) or stall. */
async function drain(consumers, confirmed) {
  let total = -1;
  let changedAt = now();
  let reachedAt = 0;
  for (;;) {
    for (const c of consumers) c.send('count');
    const counts = await Promise.all(consumers.map((c) => c.next('count')));
    const t = sum(counts.map((c) => c.count));
    if (t !== total) [total, changedAt] = [t, now()];
    if (t >= confirmed && reachedAt === 0) reachedAt = now();
    if (reachedAt > 0 && now() - reachedAt >= SETTLE_MS) return;
    if (now() - changedAt >= DRAIN_MS) return; // stalled: the loss check below reports it
    await sleep(50);
  }
}

const cleanups = new Set(); // what to undo if the run is interrupted
process.on('SIGINT', async () => {
  console.log('\ninterrupted: stopping brokers and clients, deleting Redis keys');
  await Promise.allSettled([...cleanups].map((f) => f()));
  stopCluster();
  process.exit(130);
});

async function runScenario(key) {
  const s = SCENARIOS[key];
  const prefix = s.redis ? uniquePrefix() : undefined;
  const clusterUrl = `redis+cluster://${CLUSTER_PORTS.map((p) => `127.0.0.1:${p}`).join(',')}`;
  const store = s.cluster
    ? { kind: 'redis', url: `${clusterUrl}?prefix=${encodeURIComponent(prefix)}` }
    : s.redis
      ? { kind: 'redis', url: storeUrl(REDIS_URL, prefix) }
      : s.store();
  const shards = s.redis ? shardsOf(s) : [];
  const nodes = [];
  const clients = [];
  const cleanup = async () => {
    await Promise.all(clients.map((c) => c.kill()));
    await Promise.all(nodes.map((n) => n.stop()));
    if (s.cluster) for (const p of CLUSTER_PORTS) execFileSync('redis-cli', ['-p', String(p), 'FLUSHALL']);
    else if (prefix) await deletePrefix(REDIS_URL, prefix);
  };
  cleanups.add(cleanup);
  try {
    // One after another: each node's start syncs the shared topology.
    for (let i = 0; i < s.nodes; i++)
      nodes.push(await startBroker(opt.cli, store, { profileDir: opt.profile }));
    const queues = queueNames(s, prefix);
    const budget = String(SECONDS + DRAIN_MS / 1000 + 60);
    const node = (i) => nodes[opt.placement === 'first' ? 0 : i % nodes.length].amqpUrl;
    const consumers = Array.from({ length: CONSUMERS }, (_, j) =>
      startClient(['consumer', node(s.apart ? j : j + 1), queues[j % queues.length], opt.prefetch, budget]),
    );
    clients.push(...consumers);
    await Promise.all(consumers.map((c) => c.next('ready')));
    const publishers = Array.from({ length: PUBLISHERS }, (_, i) =>
      startClient([
        'publisher',
        node(i),
        queues[i % queues.length],
        String(i),
        String(SECONDS),
        opt.window,
        budget,
      ]),
    );
    clients.push(...publishers);
    await Promise.all(publishers.map((p) => p.next('ready')));

    const pids = await Promise.all(shards.map((url) => redisPid(url)));
    const nodeCpu = () => nodes.map((n) => n.cpuMs());
    // The kernel's share and the socket calls behind it: on loopback a write also pays for delivering it.
    const nodeSystem = () => sum(nodes.map((n) => n.systemMs()));
    const nodeSyscalls = () => nodes.map((n) => n.syscalls());
    const shardCpu = () => pids.map((pid) => redisCpuMs(pid));
    const work = async () =>
      s.redis
        ? mergeWork(await Promise.all(shards.map((url) => redisWork(url))))
        : { commands: NaN, scripts: NaN, reads: NaN, writes: NaN, perCommand: {} };
    const [broker0, redis0, work0] = [nodeCpu(), shardCpu(), await work()];
    const [system0, syscalls0] = [nodeSystem(), nodeSyscalls()];
    for (const p of publishers) p.send('go');
    const sent = await Promise.all(publishers.map((p) => p.next('result')));
    const confirmed = sum(sent.map((r) => r.confirmed));
    // Where the consumers stood when the last publisher finished: is the consume side keeping up?
    const loadEndAt = now();
    for (const c of consumers) c.send('count');
    const atLoadEnd = sum((await Promise.all(consumers.map((c) => c.next('count')))).map((c) => c.count));
    await drain(consumers, confirmed);
    const [broker1, redis1, work1] = [nodeCpu(), shardCpu(), await work()];
    const [system1, syscalls1] = [nodeSystem(), nodeSyscalls()];
    for (const c of consumers) c.send('finish');
    const got = await Promise.all(consumers.map((c) => c.next('result')));
    for (const p of publishers) p.send('exit');
    await Promise.all(clients.map((c) => c.exited));

    const distinct = distinctConsumed(got);
    const deliveries = sum(got.map((r) => r.count));
    const startAt = Math.min(...sent.map((r) => r.startAt));
    const latencies = sent.flatMap((r) => r.latencies);
    const warnings = nodes.flatMap((n) => n.output().split('\n')).filter((line) => line.trim() !== '');
    return {
      confirmed,
      nacked: sum(sent.map((r) => r.nacked)),
      consumed: distinct,
      lost: confirmed - distinct,
      duplicates: deliveries - distinct,
      rate: distinct / ((Math.max(...got.map((r) => r.lastAt)) - startAt) / 1000),
      loadRate: atLoadEnd / ((loadEndAt - startAt) / 1000),
      backlog: confirmed - atLoadEnd,
      confirmRate: confirmed / ((Math.max(...sent.map((r) => r.confirmedAt)) - startAt) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      brokerUsPerMsg: ((sum(broker1) - sum(broker0)) * 1000) / distinct,
      nodeCpuMs: broker1.map((c, i) => c - broker0[i]),
      brokerSystemUsPerMsg: ((system1 - system0) * 1000) / distinct,
      nodeReadsPerMsg: sum(syscalls1.map((c, i) => c.reads - syscalls0[i].reads)) / distinct,
      nodeWritesPerMsg: sum(syscalls1.map((c, i) => c.writes - syscalls0[i].writes)) / distinct,
      redisUsPerMsg: ((sum(redis1) - sum(redis0)) * 1000) / distinct,
      // Each shard's CPU per consumed message (of all queues): what one shard's core carries.
      shardUsPerMsg: redis1.map((c, i) => ((c - redis0[i]) * 1000) / distinct),
      busiestShardUs: Math.max(...redis1.map((c, i) => ((c - redis0[i]) * 1000) / distinct)),
      // Counts every client of this Redis: another user of it during the run inflates the figure.
      redisCommandsPerMsg: (work1.commands - work0.commands) / distinct,
      redisScriptsPerMsg: (work1.scripts - work0.scripts) / distinct,
      redisReadsPerMsg: (work1.reads - work0.reads) / distinct,
      redisWritesPerMsg: (work1.writes - work0.writes) / distinct,
      // Per command (those inside scripts included): calls and µs of Redis time per consumed message.
      redisCommands: Object.fromEntries(
        Object.entries(work1.perCommand).map(([cmd, after]) => {
          const before = work0.perCommand[cmd] ?? { calls: 0, usec: 0 };
          return [
            cmd,
            { calls: (after.calls - before.calls) / distinct, usec: (after.usec - before.usec) / distinct },
          ];
        }),
      ),
      redelivered: sum(got.map((r) => r.redelivered)),
      warnings,
    };
  } finally {
    await cleanup();
    cleanups.delete(cleanup);
  }
}

const results = Object.fromEntries(chosen.map((k) => [k, []]));
const loadStart = loads();
const startedAt = new Date().toISOString();
console.log(
  `scale-out bench: runs=${RUNS}, ${SECONDS} s of load, ${PUBLISHERS} confirm publishers (window ${opt.window}), ` +
    `${CONSUMERS} consumers (prefetch ${opt.prefetch}), 256 B persistent messages, one durable queue`,
);
console.log(`${startedAt}; load average ${loadStart}`);
let failures = 0;
const brokerSaid = new Set();
/** A pino JSON line's level and msg, else the line itself. */
function logText(line) {
  try {
    const { level, msg } = JSON.parse(line);
    return `[${level >= 50 ? 'error' : level >= 40 ? 'warn' : level}] ${msg}`;
  } catch {
    return line.trim().slice(0, 500);
  }
}
for (let run = 1; run <= RUNS; run++) {
  // Rotate the order so a slow spell on this shared machine does not always hit the same scenario.
  const order = chosen.map((_, i) => chosen[(i + run - 1) % chosen.length]);
  for (const key of order) {
    const s = SCENARIOS[key];
    try {
      const r = await runScenario(key);
      results[key].push(r);
      const loss = r.lost === 0 && r.nacked === 0 ? 'no loss' : `LOST ${r.lost} NACKED ${r.nacked}`;
      console.log(
        `run ${run} ${key.padEnd(6)} consumed ${r.rate.toFixed(0)} msg/s ` +
          `(${r.loadRate.toFixed(0)} while publishing, backlog ${r.backlog} at its end), confirmed ${r.confirmRate.toFixed(0)} msg/s, ` +
          `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, broker ${r.brokerUsPerMsg.toFixed(0)} µs/msg ` +
          `(${r.brokerSystemUsPerMsg.toFixed(0)} system, ${r.nodeReadsPerMsg.toFixed(2)} read and ${r.nodeWritesPerMsg.toFixed(2)} write calls/msg)` +
          `${s.redis ? `, redis ${r.redisUsPerMsg.toFixed(1)} µs/msg ${r.redisScriptsPerMsg.toFixed(1)} scripts/msg ${r.redisCommandsPerMsg.toFixed(1)} cmds/msg ${r.redisReadsPerMsg.toFixed(2)} reads/msg ${r.redisWritesPerMsg.toFixed(2)} writes/msg` : ''}; ` +
          `${r.confirmed} confirmed, ${r.consumed} consumed, ${loss}, ${r.duplicates} duplicate deliveries, ${r.redelivered} redelivered; load ${loads()}` +
          (s.nodes > 1 ? `; CPU ms per node ${r.nodeCpuMs.map((c) => c.toFixed(0)).join(' / ')}` : '') +
          (s.cluster
            ? `; Redis µs/msg per shard ${r.shardUsPerMsg.map((c) => c.toFixed(1)).join(' / ')}`
            : ''),
      );
      for (const line of r.warnings) {
        const text = logText(line);
        if (!brokerSaid.has(text)) console.log(`  broker said (shown once): ${text}`);
        brokerSaid.add(text);
      }
      if (r.lost !== 0 || r.nacked !== 0) failures++;
    } catch (err) {
      failures++;
      console.log(`run ${run} ${key.padEnd(6)} FAILED ${err.message}`);
    }
  }
}

const med = (key, field) => median(results[key].map((r) => r[field]));
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const base = chosen.includes('lmdb') ? med('lmdb', 'rate') : NaN;
console.log(`\nMedians of ${RUNS} runs; load average at start ${loadStart}, at end ${loads()}\n`);
console.log(
  '| scenario | nodes | consumed msg/s | consumed while publishing | confirmed msg/s | confirm p50 ms | p99 ms | broker CPU µs/msg | Redis CPU µs/msg | busiest shard µs/msg | Redis scripts/msg | vs LMDB | lost / dup |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const key of chosen) {
  if (results[key].length === 0) continue;
  const s = SCENARIOS[key];
  const lost = sum(results[key].map((r) => r.lost + r.nacked));
  const dup = sum(results[key].map((r) => r.duplicates));
  console.log(
    `| ${s.title} | ${s.nodes} | ${fmt(med(key, 'rate'))} | ${fmt(med(key, 'loadRate'))} | ${fmt(med(key, 'confirmRate'))} | ${fmt(med(key, 'p50'), 1)} | ` +
      `${fmt(med(key, 'p99'), 1)} | ${fmt(med(key, 'brokerUsPerMsg'))} | ${s.redis ? fmt(med(key, 'redisUsPerMsg'), 1) : ''} | ` +
      `${s.redis ? fmt(med(key, 'busiestShardUs'), 1) : ''} | ` +
      `${s.redis ? fmt(med(key, 'redisScriptsPerMsg'), 1) : ''} | ` +
      `${Number.isFinite(base) ? `${fmt(med(key, 'rate') / base, 2)}×` : ''} | ${lost} / ${dup} |`,
  );
}
if (results.redis1?.length && results.redis3?.length)
  console.log(
    `\nRedis 3 nodes / 1 node: ${fmt(med('redis3', 'rate') / med('redis1', 'rate'), 2)}× consumed msg/s`,
  );
console.log(
  `\nEvery node, Redis and every client share this machine's ${availableParallelism()} cores: three nodes ` +
    'cannot scale linearly here; the figures show what the extra hop and coordination cost, not what ' +
    'nodes on separate machines would gain.',
);
// Capacity from measured costs, for machines where every process has a core of its own: nodes
// share the load evenly (each spends broker µs/msg ÷ nodes), the busiest shard's core caps the rest.
if (Number.isFinite(base)) {
  const lmdbCapacity = 1e6 / med('lmdb', 'brokerUsPerMsg');
  console.log(`\nCapacity by measured CPU per message (1 core per process; 1e6 µs per core-second):\n`);
  console.log(
    `- embedded LMDB, 1 node: 1e6 / ${fmt(med('lmdb', 'brokerUsPerMsg'), 1)} µs = ${fmt(lmdbCapacity)} msg/s`,
  );
  for (const key of chosen.filter((k) => SCENARIOS[k].redis && results[k].length > 0)) {
    const s = SCENARIOS[key];
    const [node, shard] = [med(key, 'brokerUsPerMsg'), med(key, 'busiestShardUs')];
    const [byNodes, byShard] = [(s.nodes * 1e6) / node, 1e6 / shard];
    const capacity = Math.min(byNodes, byShard);
    console.log(
      `- ${key}: nodes ${s.nodes} × 1e6 / ${fmt(node, 1)} µs = ${fmt(byNodes)} msg/s; busiest shard 1e6 / ${fmt(shard, 1)} µs = ` +
        `${fmt(byShard)} msg/s; capacity ${fmt(capacity)} msg/s = ${fmt(capacity / lmdbCapacity, 2)}× one LMDB node`,
    );
  }
}
// Where Redis spends its time (INFO commandstats, the last run of each Redis scenario), per consumed message.
for (const key of chosen) {
  const last = results[key].at(-1);
  if (!SCENARIOS[key].redis || !last) continue;
  const rows = Object.entries(last.redisCommands)
    .filter(([, v]) => v.calls > 0.001)
    .sort((a, b) => b[1].usec - a[1].usec);
  console.log(`\n${key}: Redis commands per consumed message (INFO commandstats, last run)\n`);
  console.log('| command | calls/msg | µs/msg | µs/call |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [cmd, v] of rows)
    console.log(
      `| ${cmd} | ${v.calls.toFixed(2)} | ${v.usec.toFixed(2)} | ${(v.usec / v.calls).toFixed(2)} |`,
    );
}
if (opt.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(opt.json, JSON.stringify({ startedAt, loadStart, loadEnd: loads(), opt, results }, null, 2));
}
stopCluster();
process.exit(failures > 0 ? 1 : 0);
