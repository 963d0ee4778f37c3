// MQTT benchmark: the same load against Conveyor (child process, memory store), Aedes (child
// process) and the real Mosquitto at MQTT_URL, in one run; medians of --runs runs; ratios.
//   npm run build && npm run bench:mqtt
//   node bench/mqtt/run.js --runs 1 --only raw-fan-in --brokers conveyor --cpu-prof
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startChild } from './children.js';
import { mqttjsProcessesScenario, mqttjsScenario, rateScenario, rawScenario } from './scenarios.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    brokers: { type: 'string', default: 'conveyor,aedes,mosquitto,relay' },
    'cpu-prof': { type: 'boolean', default: false },
    'prof-dir': { type: 'string', default: 'bench/mqtt/profiles' },
  },
});
const RUNS = Number(args.runs);
const MOSQUITTO_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const MAX_MS = 20_000;

// Mosquitto defaults: max_inflight_messages 20, max_queued_messages 1000 per client; the mqtt.js
// scenarios keep at most WINDOW messages not yet received by the slowest subscriber, for all brokers.
const WINDOW = 500;
const scenarios = [
  { name: 'mqttjs-qos0-fan-in', kind: 'mqttjs', qos: 0, publishers: 4, subscribers: 1, perPublisher: 5000 },
  { name: 'mqttjs-qos0-fan-out', kind: 'mqttjs', qos: 0, publishers: 1, subscribers: 4, perPublisher: 5000 },
  { name: 'mqttjs-qos1-fan-in', kind: 'mqttjs', qos: 1, publishers: 4, subscribers: 1, perPublisher: 2500 },
  { name: 'mqttjs-qos1-fan-out', kind: 'mqttjs', qos: 1, publishers: 1, subscribers: 4, perPublisher: 2500 },
  // The same with each publisher in a process of its own (the bench process holds the subscribers).
  {
    name: 'mqttjs-procs-qos0-fan-in',
    kind: 'mqttjs-procs',
    qos: 0,
    publishers: 4,
    subscribers: 1,
    perPublisher: 20_000,
  },
  {
    name: 'mqttjs-procs-qos1-fan-in',
    kind: 'mqttjs-procs',
    qos: 1,
    publishers: 4,
    subscribers: 1,
    perPublisher: 10_000,
  },
  // Issue 18: publish→deliver latency at a fixed 20k msg/s (p50/p99 columns).
  { name: 'mqttjs-qos0-20k-latency', kind: 'rate', qos: 0, rate: 20_000, seconds: 5 },
  { name: 'mqttjs-qos1-20k-latency', kind: 'rate', qos: 1, rate: 20_000, seconds: 5 },
  { name: 'raw-qos0-fan-in', kind: 'raw', publishers: 2, subscribers: 1, perPublisher: 100_000 },
  { name: 'raw-qos0-fan-out', kind: 'raw', publishers: 1, subscribers: 4, perPublisher: 50_000 },
  // Issue 18's loads: 16 B payloads in batches of 1,000 pre-encoded PUBLISHes from one connection.
  {
    name: 'raw16-one-topic',
    kind: 'raw',
    publishers: 1,
    subscribers: 1,
    perPublisher: 300_000,
    batch: 1000,
    payloadBytes: 16,
  },
  {
    name: 'raw16-100-topics',
    kind: 'raw',
    publishers: 1,
    subscribers: 100,
    topics: 100,
    perPublisher: 300_000,
    batch: 1000,
    payloadBytes: 16,
  },
  {
    name: 'raw16-fan-out-100',
    kind: 'raw',
    publishers: 1,
    subscribers: 100,
    perPublisher: 5_000,
    batch: 1000,
    payloadBytes: 16,
  },
].filter((s) => args.only === undefined || args.only.split(',').some((o) => s.name.includes(o)));

async function startBrokers() {
  const wanted = args.brokers.split(',');
  const brokers = [];
  if (wanted.includes('conveyor')) {
    const execArgv = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['prof-dir']}`] : [];
    const c = await startChild('./conveyor-server.js', { execArgv });
    brokers.push({ name: 'conveyor', url: `mqtt://127.0.0.1:${c.port}`, stop: c.stop, pid: c.child.pid });
  }
  if (wanted.includes('aedes')) {
    const a = await startChild('./aedes-server.js');
    brokers.push({ name: 'aedes', url: `mqtt://127.0.0.1:${a.port}`, stop: a.stop, pid: a.child.pid });
  }
  if (wanted.includes('relay')) {
    const r = await startChild('./relay-server.js');
    brokers.push({ name: 'relay', url: `mqtt://127.0.0.1:${r.port}`, stop: r.stop, pid: r.child.pid });
  }
  if (wanted.includes('mosquitto'))
    brokers.push({ name: 'mosquitto', url: MOSQUITTO_URL, stop: async () => undefined, pid: mosquittoPid() });
  return brokers;
}

/** The local Mosquitto's pid, when it runs on this machine (for its CPU time); else undefined. */
function mosquittoPid() {
  try {
    return (
      Number(execFileSync('pidof', ['mosquitto'], { encoding: 'utf8' }).trim().split(/\s+/)[0]) || undefined
    );
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid) {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
  } catch {
    return NaN;
  }
}

/** One scenario against one broker, with the broker's CPU time per delivered message. */
async function measure(scenario, broker) {
  const before = cpuSeconds(broker.pid);
  const res = await runOne(scenario, broker.url, broker.name);
  if (res === undefined) return undefined;
  const cpu = cpuSeconds(broker.pid) - before;
  return { ...res, cpuUsPerMsg: (cpu * 1e6) / res.delivered };
}

function runOne(scenario, url, broker) {
  if (scenario.kind === 'rate') {
    if (broker === 'relay') return Promise.resolve(undefined);
    return rateScenario(url, { ...scenario, payloadBytes: 64 });
  }
  if (scenario.kind === 'mqttjs-procs') {
    if (broker === 'relay') return Promise.resolve(undefined);
    return mqttjsProcessesScenario(url, { ...scenario, window: WINDOW, payloadBytes: 64, maxMs: MAX_MS });
  }
  if (scenario.kind === 'mqttjs') {
    // The relay has no QoS 1 and no wildcards: it takes part in the raw loads only.
    if (broker === 'relay') return Promise.resolve(undefined);
    return mqttjsScenario(url, { ...scenario, window: WINDOW, payloadBytes: 64, maxMs: MAX_MS });
  }
  return rawScenario(url, { batch: 2000, payloadBytes: 64, ...scenario, maxMs: MAX_MS });
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
};
const fmt = (x, d = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : '-';

console.log(
  `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `${RUNS} run(s) per scenario and broker, medians; mqtt.js window ${WINDOW}; Mosquitto at ${MOSQUITTO_URL}\n`,
);
const brokers = await startBrokers();
const results = {}; // scenario → broker → runs
try {
  for (const scenario of scenarios) {
    results[scenario.name] = {};
    for (let r = 0; r < RUNS; r++)
      for (const broker of brokers) {
        const res = await measure(scenario, broker);
        if (res === undefined) continue;
        (results[scenario.name][broker.name] ??= []).push(res);
        console.error(
          `  ${scenario.name} ${broker.name} run ${r + 1}: ${fmt(res.msgPerSec)} msg/s, lost ${res.lost}`,
        );
      }
  }
} finally {
  await Promise.all(brokers.map((b) => b.stop()));
}

const names = brokers.map((b) => b.name);
const has = (n) => names.includes(n);
const header = [
  'scenario',
  ...names.flatMap((n) => [`${n} msg/s`]),
  ...(has('mosquitto') ? ['C/Mosq'] : []),
  ...(has('aedes') ? ['C/Aedes'] : []),
  ...(has('relay') ? ['C/relay'] : []),
  `lost (${names.join('/')}, all runs)`,
  `p50 ms (${names.join('/')})`,
  `p99 ms (${names.join('/')})`,
];
const runsOf = (byBroker, n) => byBroker[n] ?? [];
const rows = [];
const summary = {};
for (const [scenario, byBroker] of Object.entries(results)) {
  const m = Object.fromEntries(names.map((n) => [n, median(runsOf(byBroker, n).map((x) => x.msgPerSec))]));
  const lost = names.map((n) => (byBroker[n] ? byBroker[n].reduce((a, x) => a + x.lost, 0) : '-')).join('/');
  const p50 = names.map((n) => fmt(median(runsOf(byBroker, n).map((x) => x.p50)), 1)).join('/');
  const p99 = names.map((n) => fmt(median(runsOf(byBroker, n).map((x) => x.p99)), 1)).join('/');
  const row = [scenario, ...names.map((n) => fmt(m[n]))];
  if (has('mosquitto')) row.push(fmt(m.conveyor / m.mosquitto, 2));
  if (has('aedes')) row.push(fmt(m.conveyor / m.aedes, 2));
  if (has('relay')) row.push(fmt(m.conveyor / m.relay, 2));
  row.push(lost, p50, p99);
  rows.push(row);
  summary[scenario] = { medians: m, lost, p50, p99 };
}
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => ' --- ').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);

// Broker CPU time per delivered message: what each broker costs, whatever else the shared cores run.
const cpuHeader = [
  'scenario',
  ...names.map((n) => `${n} µs/msg`),
  ...(has('mosquitto') ? ['Mosq/C'] : []),
  ...(has('aedes') ? ['Aedes/C'] : []),
];
console.log(
  `\nBroker CPU per delivered message (user + system, from /proc; lower is better; ratios = efficiency of Conveyor):`,
);
console.log(`| ${cpuHeader.join(' | ')} |`);
console.log(`|${cpuHeader.map(() => ' --- ').join('|')}|`);
for (const [scenario, byBroker] of Object.entries(results)) {
  const m = Object.fromEntries(names.map((n) => [n, median(runsOf(byBroker, n).map((x) => x.cpuUsPerMsg))]));
  const row = [scenario, ...names.map((n) => fmt(m[n], 1))];
  if (has('mosquitto')) row.push(fmt(m.mosquitto / m.conveyor, 2));
  if (has('aedes')) row.push(fmt(m.aedes / m.conveyor, 2));
  console.log(`| ${row.join(' | ')} |`);
  summary[scenario].cpuUsPerMsg = m;
}
console.log(`\nJSON ${JSON.stringify(summary)}`);
process.exit(0);
