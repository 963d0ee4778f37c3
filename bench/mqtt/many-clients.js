// Many idle MQTT clients (issue 18): N raw clients connect with keep-alive, each subscribes to its
// own topic and to one topic they all share; then they sit idle. Per broker: CONNECT rate
// (CONNACKs per second, 200 handshakes in flight) and resident memory per idle connection
// (VmRSS after, minus before, over N; 500 warm-up clients connect first and stay). One message to the shared topic then checks every client
// still gets it. Conveyor runs as a child on the in-memory store; Mosquitto is started from Debian's
// binary on a free port (persistence off).
//   node bench/mqtt/many-clients.js [--clients 10000] [--brokers conveyor,mosquitto]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { generate } from 'mqtt-packet';
import { startChild } from './children.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    brokers: { type: 'string', default: 'conveyor,relay,mosquitto' },
  },
});
const N = Number(args.clients);
const IN_FLIGHT = 200;
const WARM_UP = 500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const socket = netConnect({ port, host: '127.0.0.1' }, () => resolve(true));
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`mosquitto did not listen on ${port}`);
}

function rssKiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]);
}

/** One client: CONNECT, wait for CONNACK, SUBSCRIBE two topics, wait for SUBACK; counts PUBLISHes after. */
function client(port, host, clientId, own, shared, onPublish) {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host });
    let stage = 'connack';
    let buf = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('connect', () =>
      socket.write(
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId,
          clean: true,
          keepalive: 60,
        }),
      ),
    );
    socket.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length; i++) {
          len += (buf[i] & 0x7f) * mul;
          mul *= 128;
          if ((buf[i] & 0x80) === 0) break;
        }
        if (i >= buf.length || i + 1 + len > buf.length) break;
        const type = buf[0] >> 4;
        buf = buf.subarray(i + 1 + len);
        if (type === 2 && stage === 'connack') {
          stage = 'suback';
          socket.write(
            generate({
              cmd: 'subscribe',
              messageId: 1,
              subscriptions: [
                { topic: own, qos: 0 },
                { topic: shared, qos: 0 },
              ],
            }),
          );
        } else if (type === 9 && stage === 'suback') {
          stage = 'idle';
          resolve(socket);
        } else if (type === 3) onPublish();
      }
    });
  });
}

/** Conveyor only: the child's heap after a full GC (bytes). */
function heapOf(child) {
  if (!child) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m.memory.heapUsed + m.memory.external + m.memory.arrayBuffers));
    child.send('memory');
  });
}

async function measure(name, port, host, pid, child) {
  const run = randomBytes(3).toString('hex');
  const shared = `many/${run}/all`;
  let received = 0;
  // Warm-up clients, kept: one-time allocations (module buffers, JIT code, pools) land before "before".
  const warm = [];
  for (let i = 0; i < WARM_UP; i++)
    warm.push(
      await client(port, host, `warm-${run}-${i}`, `warm/${run}/c${i}`, `warm/${run}/all`, () => undefined),
    );
  const heapBefore = await heapOf(child);
  const before = rssKiB(pid);
  const sockets = [];
  let failed = 0;
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) {
        const i = next++;
        try {
          sockets.push(
            await client(port, host, `many-${run}-${i}`, `many/${run}/c${i}`, shared, () => received++),
          );
        } catch {
          failed++;
        }
      }
    }),
  );
  const connectSeconds = (Date.now() - started) / 1000;
  await sleep(3000); // idle: what stays resident
  const heapAfter = await heapOf(child);
  const after = rssKiB(pid);
  const pub = await client(
    port,
    host,
    `many-${run}-pub`,
    `many/${run}/pub`,
    `many/${run}/none`,
    () => undefined,
  );
  pub.write(
    generate({
      cmd: 'publish',
      topic: shared,
      payload: Buffer.from('hello all'),
      qos: 0,
      retain: false,
      dup: false,
    }),
  );
  const until = Date.now() + 20_000;
  while (received < sockets.length && Date.now() < until) await sleep(20);
  for (const s of [...sockets, ...warm, pub]) s.destroy();
  return {
    name,
    connected: sockets.length,
    failed,
    connectsPerSec: sockets.length / connectSeconds,
    kibPerConnection: (after - before) / Math.max(1, sockets.length),
    ...(heapBefore === undefined
      ? {}
      : { liveHeapKibPerConnection: (heapAfter - heapBefore) / 1024 / Math.max(1, sockets.length) }),
    rssBeforeMiB: before / 1024,
    rssAfterMiB: after / 1024,
    sharedDelivered: received,
  };
}

const wanted = args.brokers.split(',');
const results = [];
if (wanted.includes('conveyor')) {
  const c = await startChild('./conveyor-server.js', { execArgv: ['--expose-gc'] });
  try {
    results.push(await measure('conveyor', c.port, '127.0.0.1', c.child.pid, c.child));
  } finally {
    await c.stop();
  }
}
if (wanted.includes('relay')) {
  // The do-nothing Node relay: what one Node process pays per idle socket before any broker state.
  const r = await startChild('./relay-server.js', { execArgv: ['--expose-gc'] });
  try {
    results.push(await measure('relay', r.port, '127.0.0.1', r.child.pid, r.child));
  } finally {
    await r.stop();
  }
}
if (wanted.includes('mosquitto')) {
  // A Mosquitto of its own, from Debian's binary on a free port: the shared service's RSS keeps
  // what earlier runs freed, so its growth would not show.
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'many-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const mosquitto = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  try {
    await waitForPort(port);
    results.push(await measure('mosquitto', port, '127.0.0.1', mosquitto.pid));
  } finally {
    mosquitto.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(
  `${N} idle clients (keep-alive 60 s, own topic + one shared topic each), ${IN_FLIGHT} handshakes in flight`,
);
console.log(
  '| broker | connected | failed | CONNECT/s | KiB RSS per idle connection | RSS before → after (MiB) | shared-topic publish delivered |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.connected} | ${r.failed} | ${Math.round(r.connectsPerSec).toLocaleString('en-US')} | ${r.kibPerConnection.toFixed(1)} | ${r.rssBeforeMiB.toFixed(0)} → ${r.rssAfterMiB.toFixed(0)} | ${r.sharedDelivered} |`,
  );
const c = results.find((r) => r.name === 'conveyor');
const m = results.find((r) => r.name === 'mosquitto');
for (const r of results)
  if (r.liveHeapKibPerConnection !== undefined)
    console.log(
      `${r.name}: live JS heap per connection after a full GC: ${r.liveHeapKibPerConnection.toFixed(1)} KiB`,
    );
if (c && m)
  console.log(
    `\nConveyor/Mosquitto: RSS per connection ${(c.kibPerConnection / m.kibPerConnection).toFixed(2)}×, CONNECT rate ${(c.connectsPerSec / m.connectsPerSec).toFixed(2)}×`,
  );
console.log(`JSON ${JSON.stringify(results)}`);
