// AMQP benchmark: the same load against Conveyor (a server in a child process) and the real RabbitMQ,
// in one run; several runs, medians, ratios. Every client role runs in its own process.
//   npm run build && npm run bench:amqp
//   node bench/amqp/run.mjs --runs 3 --only a,d --profile   (--profile: Conveyor and the relay under --cpu-prof)
// Scenarios: a amqplib transient one-way · b amqplib persistent + confirms · c amqplib RPC over direct
// reply-to · k Celery 2,000 tasks end to end (python3-celery) · d raw pre-encoded publishes / counting consumer (also against e, a do-nothing Node relay).
import { execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { assertLoopback, median } from './lib.mjs';

const execFileAsync = promisify(execFile);

const here = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'a,b,c,n,k,d' },
    targets: { type: 'string', default: 'conveyor,rabbitmq,relay' },
    'a-count': { type: 'string', default: '50000' },
    'b-count': { type: 'string', default: '20000' },
    'c-count': { type: 'string', default: '1000' },
    'n-count': { type: 'string', default: '5000' },
    'd-count': { type: 'string', default: '300000' },
    'k-count': { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '120' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const RABBITMQ_URL = assertLoopback(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const RUNS = Number(opt.runs);
const SECONDS = opt.seconds;
const only = new Set(opt.only.split(','));
const targets = new Set(opt.targets.split(','));

function child(script, args, execArgv = [], env = process.env) {
  const proc = fork(join(here, script), args, {
    execArgv,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  const waiters = [];
  proc.on('message', (m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  proc.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const next = async (type) => {
    for (;;) {
      const i = messages.findIndex((m) => m.type === type);
      if (i >= 0) return messages.splice(i, 1)[0];
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(`${script} ${args[0] ?? ''} exited before '${type}'`);
      await new Promise((r) => waiters.push(r));
    }
  };
  const exited = new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
  return { proc, next, exited };
}

/** CPU milliseconds (user + system) used so far by the local RabbitMQ node (beam.smp), from /proc. */
function rabbitCpuMs() {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'beam.smp') continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
    } catch {
      // the process went away while we looked
    }
  }
  return NaN;
}

/** Starts a server for `target`; returns its URL, a CPU-time probe (ms) and a stop function. */
async function startServer(target, store) {
  if (target === 'rabbitmq')
    return { url: RABBITMQ_URL, cpuMs: async () => rabbitCpuMs(), stop: async () => undefined };
  const prof = opt.profile && target !== 'rabbitmq';
  const execArgv = prof ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'profiles')}`] : [];
  const c =
    target === 'relay' ? child('relay/relay.mjs', [], execArgv) : child('server.mjs', [store], execArgv);
  const { port } = await c.next('listening');
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    cpuMs: async () => {
      c.proc.send('cpu');
      const { usage } = await c.next('cpu');
      return (usage.user + usage.system) / 1000;
    },
    stop: async () => {
      c.proc.send('stop');
      await c.exited;
    },
  };
}

const queueName = (s) => `bench.${s}.${randomBytes(4).toString('hex')}`;
const rate = (n, fromMs, toMs) => n / ((toMs - fromMs) / 1000);

/** Consumer first (until ready), then the producer; the consumer's result ends the measurement. */
async function pipeline(consumerScript, consumerArgs, producerScript, producerArgs) {
  const consumer = child(consumerScript, consumerArgs);
  await consumer.next('ready');
  const producer = child(producerScript, producerArgs);
  const [got, sent] = await Promise.all([consumer.next('result'), producer.next('result')]);
  producer.proc.send('exit');
  await Promise.all([consumer.exited, producer.exited]);
  if (got.error || sent.error) throw new Error(`client failed: ${got.error ?? sent.error}`);
  return { got, sent };
}

async function rpc(url, key, env) {
  const q = queueName(key);
  const n = opt[`${key}-count`];
  const childEnv = { ...process.env, ...env };
  const responder = child('amqplib-roles.mjs', ['responder', url, q, n, SECONDS, '100'], [], childEnv);
  await responder.next('ready');
  const requester = child('amqplib-roles.mjs', ['requester', url, q, n, SECONDS], [], childEnv);
  const r = await requester.next('result');
  responder.proc.send('exit');
  await Promise.all([responder.exited, requester.exited]);
  if (r.error) throw new Error(`requester failed: ${r.error}`);
  // count: requests and replies both cross the server
  return { count: 2 * r.count, rate: rate(r.count, r.startAt, r.lastAt), p50: r.p50, p99: r.p99 };
}

/** amqplib consumer + a publisher role; the consumer's last delivery ends the measurement. */
async function amqplibOneWay(url, key, consumerExtra, publisherRole, publisherExtra) {
  const q = queueName(key);
  const n = opt[`${key}-count`];
  const { got, sent } = await pipeline(
    'amqplib-roles.mjs',
    ['consumer', url, q, n, SECONDS, '256', ...consumerExtra],
    'amqplib-roles.mjs',
    [publisherRole, url, q, n, SECONDS, ...publisherExtra],
  );
  const result = { count: got.count, rate: rate(got.count, sent.startAt, got.lastAt) };
  if (sent.confirmedAt) result.confirmRate = rate(sent.sent, sent.startAt, sent.confirmedAt);
  return result;
}

const scenarios = {
  a: {
    title: 'a amqplib transient one-way (256 B, prefetch 256, ack each)',
    targets: ['conveyor', 'rabbitmq'],
    store: 'memory',
    run: (url) => amqplibOneWay(url, 'a', [], 'publisher', []),
  },
  b: {
    title: 'b amqplib persistent + confirms (durable queue, window 256)',
    targets: ['conveyor', 'rabbitmq'],
    store: 'lmdb',
    run: (url) => amqplibOneWay(url, 'b', ['durable'], 'confirm-publisher', ['256']),
  },
  c: {
    title: 'c amqplib request/response via amq.rabbitmq.reply-to (sequential, amqplib defaults)',
    targets: ['conveyor', 'rabbitmq'],
    store: 'memory',
    run: (url) => rpc(url, 'c', {}),
  },
  n: {
    title: 'n as c, clients with TCP_NODELAY (amqplib noDelay: true)',
    targets: ['conveyor', 'rabbitmq'],
    store: 'memory',
    run: (url) => rpc(url, 'n', { BENCH_NODELAY: '1' }),
  },
  k: {
    title: 'k Celery 5: tasks with confirms, 2-process worker, rpc:// results',
    targets: ['conveyor', 'rabbitmq'],
    store: 'lmdb',
    run: (url) => celeryTasks(url),
  },
  d: {
    title: 'd raw: pre-encoded publishes in 2000-message writes, counting no-ack consumer',
    targets: ['conveyor', 'rabbitmq', 'relay'],
    store: 'memory',
    async run(url) {
      const q = queueName('d');
      const n = opt['d-count'];
      const { got, sent } = await pipeline('raw-consumer.mjs', [url, q, n, SECONDS], 'raw-publisher.mjs', [
        url,
        q,
        n,
        SECONDS,
      ]);
      return {
        count: got.count,
        rate: rate(got.count, sent.startAt, got.lastAt),
        ingestRate: rate(sent.sent, sent.startAt, sent.writtenAt),
      };
    },
  },
};

/** Debian's Python with python3-celery runs Celery itself: producer and a 2-process worker. */
async function celeryTasks(url) {
  const q = queueName('k');
  const vhostUrl = url.endsWith('/') ? `${url}/` : `${url}//`;
  const { stdout } = await execFileAsync(
    '/usr/bin/python3',
    [join(here, 'celery_tasks.py'), vhostUrl, q, opt['k-count']],
    { timeout: Number(SECONDS) * 1000 },
  );
  const r = JSON.parse(stdout);
  return { count: r.count, rate: r.rate, submitRate: r.count / r.submitSeconds };
}

const results = {}; // scenario → target → [result per run]
console.log(
  `AMQP bench: runs=${RUNS}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (let run = 1; run <= RUNS; run++) {
  for (const [key, s] of Object.entries(scenarios)) {
    if (!only.has(key)) continue;
    for (const target of s.targets) {
      if (!targets.has(target)) continue;
      const server = await startServer(target, s.store);
      try {
        const cpuBefore = await server.cpuMs();
        const r = await s.run(server.url);
        // Server CPU per message: steadier than msg/s on a shared machine.
        r.cpuUsPerMsg = (((await server.cpuMs()) - cpuBefore) * 1000) / r.count;
        ((results[key] ??= {})[target] ??= []).push(r);
        const extra = Object.entries(r)
          .filter(([k]) => k !== 'count')
          .map(([k, v]) => `${k}=${v.toFixed(k.startsWith('p') || k.startsWith('cpu') ? 2 : 0)}`)
          .join(' ');
        console.log(`run ${run} ${key} ${target.padEnd(8)} ${extra}`);
      } catch (err) {
        console.log(`run ${run} ${key} ${target.padEnd(8)} FAILED ${err.message}`);
      } finally {
        await server.stop();
      }
    }
  }
}

const med = (key, target, field) => median((results[key]?.[target] ?? []).map((r) => r[field]));
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '—');
console.log(
  `\nMedians of ${RUNS} runs; load average now ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
console.log('| scenario | target | msg/s | p50 ms | p99 ms | server CPU µs/msg | Conveyor / RabbitMQ |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const [key, s] of Object.entries(scenarios)) {
  if (!results[key]) continue;
  const fields = ['rate', 'confirmRate', 'ingestRate', 'submitRate'].filter((f) =>
    Number.isFinite(med(key, s.targets[0], f)),
  );
  for (const field of fields) {
    const label = field === 'rate' ? s.title : `${key} (${field})`;
    for (const target of s.targets) {
      if (!results[key][target]) continue;
      const ratio =
        target === 'rabbitmq' ? '' : fmt(med(key, target, field) / med(key, 'rabbitmq', field), 2);
      const lat = field === 'rate' && (key === 'c' || key === 'n');
      console.log(
        `| ${label} | ${target} | ${fmt(med(key, target, field))} | ${lat ? fmt(med(key, target, 'p50'), 3) : ''} | ${lat ? fmt(med(key, target, 'p99'), 3) : ''} | ${field === 'rate' ? fmt(med(key, target, 'cpuUsPerMsg'), 1) : ''} | ${ratio}× |`,
      );
    }
  }
}
if (results.d?.conveyor && results.d?.relay)
  console.log(
    `\nd: Conveyor / relay = ${fmt(med('d', 'conveyor', 'rate') / med('d', 'relay', 'rate'), 2)}× (target ≥ 0.5)`,
  );
for (const key of ['c', 'n'])
  if (results[key]?.conveyor && results[key]?.rabbitmq)
    console.log(
      `${key}: latency p50 Conveyor / RabbitMQ = ${fmt(med(key, 'conveyor', 'p50') / med(key, 'rabbitmq', 'p50'), 2)}, p99 = ${fmt(med(key, 'conveyor', 'p99') / med(key, 'rabbitmq', 'p99'), 2)} (target ≤ 1)`,
    );
if (opt.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(opt.json, JSON.stringify(results, null, 2));
}
