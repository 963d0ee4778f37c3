// Seeded MQTT fuzz run over TCP against a server child process:
//   npm run build && npm run fuzz:mqtt -- --cases 100000 --seed 12648430
// Each connection sends either random bytes (no CONNECT) or a correct CONNECT (3.1.1 or 5.0)
// followed by valid packets mutated at random. Prints the outcome histogram (CONNACK and DISCONNECT
// reason codes, who closed the socket), checks that a fresh mqtt.js client still works, and
// compares the child's heap after forced GC with its value after a warm-up.
import { fork } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { VALID, mutate, randomBytes, rng } from './fuzz-cases.mjs';

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '12648430' },
    parallel: { type: 'string', default: '32' },
    'per-socket': { type: 'string', default: '4' },
    'max-seconds': { type: 'string', default: '900' },
  },
});
const CASES = Number(args.cases);
const SEED = Number(args.seed) >>> 0;
const PARALLEL = Number(args.parallel);
const PER_SOCKET = Number(args['per-socket']);
const DEADLINE = Date.now() + Number(args['max-seconds']) * 1000;
const WARMUP_SOCKETS = 1000;
const hex = (n) => `0x${n.toString(16).padStart(2, '0')}`;

const r = rng(SEED);
const pick = (xs) => xs[Math.floor(r() * xs.length)];

const encoded = { 4: [], 5: [] };
for (const p of VALID) {
  const { v5, ...packet } = p;
  encoded[5].push(mqttPacket.generate(packet, { protocolVersion: 5 }));
  if (!v5) encoded[4].push(mqttPacket.generate(packet, { protocolVersion: 4 }));
}

let socketSeq = 0;
/** One connection's bytes: random (no CONNECT), or a correct CONNECT then mutated/valid packets. */
function nextCase() {
  const n = socketSeq++;
  if (r() < 0.2) {
    const parts = [];
    for (let k = 0; k < PER_SOCKET; k++) parts.push(randomBytes(r));
    return { version: 5, connect: undefined, bytes: Buffer.concat(parts), kind: 'random' };
  }
  const version = r() < 0.5 ? 4 : 5;
  const connect = mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: `fz${n}`,
      clean: true,
      keepalive: 5,
    },
    { protocolVersion: version },
  );
  const parts = [];
  for (let k = 0; k < PER_SOCKET; k++) {
    const valid = pick(encoded[version]);
    parts.push(r() < 0.85 ? mutate(valid, r) : valid);
  }
  return { version, connect, bytes: Buffer.concat(parts), kind: `v${version === 4 ? '3.1.1' : '5.0'}` };
}

const histogram = new Map();
const count = (key) => histogram.set(key, (histogram.get(key) ?? 0) + 1);

/**
 * One connection: the CONNECT, and once its CONNACK came the case's bytes (random cases: at once);
 * then it waits 40 ms for the server to answer or close the socket (1 s at most for the CONNACK).
 */
function runSocket(port, c) {
  return new Promise((resolve) => {
    let byServer = true;
    let timer;
    const giveUpAfter = (ms) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        byServer = false;
        socket.destroy();
      }, ms);
    };
    const parser = mqttPacket.parser({ protocolVersion: c.version });
    const replies = [];
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') {
        count(`${c.kind} CONNACK ${hex(p.reasonCode ?? p.returnCode ?? 0)}`);
        socket.write(c.bytes);
        giveUpAfter(40);
      } else if (p.cmd === 'disconnect') count(`${c.kind} DISCONNECT ${hex(p.reasonCode ?? 0)}`);
    });
    parser.on('error', (err) => {
      count(`${c.kind} reply not parseable`);
      if (process.env.FUZZ_DEBUG)
        console.error(
          `${c.kind}: reply not parseable (${err.message}): sent ${c.bytes.toString('hex')}, got ${Buffer.concat(replies).toString('hex')}`,
        );
    });
    const socket = netConnect({ port, host: '127.0.0.1' }, () => {
      socket.write(c.connect ?? c.bytes);
      giveUpAfter(c.connect ? 1000 : 40);
    });
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      if (process.env.FUZZ_DEBUG) replies.push(d);
      parser.parse(d);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      count(`${c.kind} socket ${byServer ? 'closed by server' : 'still open (client closed it)'}`);
      resolve();
    });
  });
}

const child = fork(new URL('./fuzz-server.mjs', import.meta.url), [], {
  execArgv: ['--expose-gc', '--trace-warnings'],
  stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
});
// The server reports errors it could not hand to a client (background errors) on stderr as
// "[conveyor] ...": every one is a finding.
const serverErrors = new Map();
let stderrTail = '';
child.stderr.setEncoding('utf8');
child.stderr.on('data', (text) => {
  const lines = (stderrTail + text).split('\n');
  stderrTail = lines.pop();
  for (const line of lines) {
    if (process.env.FUZZ_DEBUG) process.stderr.write(line + '\n');
    if (line.startsWith('[conveyor]')) serverErrors.set(line, (serverErrors.get(line) ?? 0) + 1);
    else if (line.includes('Warning'))
      serverErrors.set(
        line.replace(/^\(node:\d+\) /, ''),
        (serverErrors.get(line.replace(/^\(node:\d+\) /, '')) ?? 0) + 1,
      );
  }
});
const ask = (m) =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send(m);
  });
const { port } = await new Promise((resolve) => child.once('message', resolve));
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

const sockets = Math.ceil(CASES / PER_SOCKET);
const started = Date.now();
let baseline;
let done = 0;
while (done < sockets && Date.now() < DEADLINE) {
  const batch = [];
  for (let i = 0; i < PARALLEL && done + i < sockets; i++) batch.push(nextCase());
  await Promise.all(batch.map((c) => runSocket(port, c)));
  done += batch.length;
  if (baseline === undefined && done >= Math.min(WARMUP_SOCKETS, sockets)) {
    await sleep(300);
    baseline = await ask('heap');
    if (process.env.FUZZ_SNAPSHOTS)
      await ask({ snapshot: `${process.env.FUZZ_SNAPSHOTS}/warm.heapsnapshot` });
  }
}
const seconds = (Date.now() - started) / 1000;

// A fresh client still works; then the retained messages the fuzz left are cleared, so the heap
// comparison sees connection state only.
const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
  protocolVersion: 5,
  reconnectPeriod: 0,
  connectTimeout: 5000,
});
const retainedTopics = new Set();
client.on('message', (topic, payload, packet) => {
  if (packet.retain && payload.length > 0) retainedTopics.add(topic);
});
await client.subscribeAsync('#', { qos: 0 });
await sleep(500);
const echo = new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('fresh client: no echo within 5 s')), 5000);
  client.on('message', (topic, payload) => {
    if (topic === 'alive/check' && payload.toString() === 'still here') {
      clearTimeout(t);
      resolve(true);
    }
  });
});
await client.publishAsync('alive/check', 'still here', { qos: 1 });
const alive = await echo;
for (const topic of retainedTopics)
  await client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
await client.endAsync();
await sleep(500);
const after = await ask('heap');
if (process.env.FUZZ_DEBUG) console.error('queues holding messages at the end:', await ask('queues'));
if (process.env.FUZZ_SNAPSHOTS) await ask({ snapshot: `${process.env.FUZZ_SNAPSHOTS}/end.heapsnapshot` });
await new Promise((resolve) => {
  child.once('exit', resolve);
  child.send('stop');
});

const mb = (b) => (b / 1024 / 1024).toFixed(2);
console.log(
  `seed ${SEED}, ${done * PER_SOCKET} cases (${done} connections × ${PER_SOCKET} packets), ${seconds.toFixed(1)} s`,
);
console.log('\noutcome histogram (per connection: CONNACK / DISCONNECT reason codes seen, who closed):');
for (const [key, n] of [...histogram].sort((a, b) => a[0].localeCompare(b[0])))
  console.log(`  ${String(n).padStart(7)}  ${key}`);
console.log(
  `\nfresh mqtt.js client after the run: ${alive ? 'subscribed, published QoS 1, got its message' : 'FAILED'}`,
);
console.log(`retained topics left by the fuzz (cleared before the final heap): ${retainedTopics.size}`);
console.log(
  `server heap after forced GC: warm-up ${mb(baseline.heapUsed)} MiB, end ${mb(after.heapUsed)} MiB ` +
    `(${after.heapUsed >= baseline.heapUsed ? '+' : ''}${mb(after.heapUsed - baseline.heapUsed)} MiB); open connections at end: ${after.connections}`,
);
console.log(`server errors and warnings on stderr: ${serverErrors.size === 0 ? 'none' : ''}`);
for (const [line, n] of serverErrors) console.log(`  ${String(n).padStart(7)}  ${line}`);
// Node warnings are reported (the core's TTL timer overflow is a known finding, see
// docs/benchmarks-mqtt.md); background errors fail the run.
const backgroundErrors = [...serverErrors.keys()].filter((line) => line.startsWith('[conveyor]')).length;
const ok =
  alive &&
  backgroundErrors === 0 &&
  after.connections <= 0 &&
  after.heapUsed - baseline.heapUsed < 4 * 1024 * 1024;
console.log(ok ? 'OK' : 'FAILED');
process.exit(ok ? 0 : 1);
