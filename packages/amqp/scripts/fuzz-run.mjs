// A seeded fuzz campaign over TCP against a Conveyor AMQP server in a child process.
//   node packages/amqp/scripts/fuzz-run.mjs [--cases 100000] [--seed N] [--concurrency 24]
//        [--seconds 900] [--log cases.ndjson]
// Each case: a fresh connection, a correct handshake and channel.open (1), then 1–4 frames that are
// random bytes, random frames, or spec-valid methods with random arguments (from METHOD_SPECS), some
// mutated (byte flips, truncation, wrong sizes, bad frame-end); then a sentinel channel.open on channel
// 2000 shows whether the connection still serves. Outcome per case: connection.close <code>,
// channel.close <code>, socket closed without a close, open (sentinel answered) or no-answer (the
// server is waiting for the rest of a frame). At the end: a fresh amqplib client must work, the server
// must have reported no internal error, and its heap after a forced GC must be back near the
// post-warm-up figure.
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { createMethod, encodeMethodFrame, FrameParser, METHOD_SPECS, PROTOCOL_HEADER } from '@conveyor/amqp';
import { caseBytes, mulberry32 } from './fuzz-cases.mjs';

const { values: opt } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    concurrency: { type: 'string', default: '24' },
    warmup: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '900' },
    log: { type: 'string' },
  },
});
const CASES = Number(opt.cases);
const SEED = Number(opt.seed);
const CONCURRENCY = Number(opt.concurrency);
const WARMUP = Math.min(Number(opt.warmup), CASES);
const SENTINEL = 2000;
const CASE_TIMEOUT_MS = 400;
const started = Date.now();
const deadlineAt = started + Number(opt.seconds) * 1000;

const HANDSHAKE = Buffer.concat([
  PROTOCOL_HEADER,
  encodeMethodFrame(
    0,
    createMethod('connection.start-ok', {
      clientProperties: { capabilities: { consumer_cancel_notify: true, 'connection.blocked': true } },
      mechanism: 'PLAIN',
      response: Buffer.from('\u0000guest\u0000guest'),
      locale: 'en_US',
    }),
  ),
  encodeMethodFrame(
    0,
    createMethod('connection.tune-ok', { channelMax: 2047, frameMax: 8192, heartbeat: 0 }),
  ),
  encodeMethodFrame(0, createMethod('connection.open', { virtualHost: '/' })),
  encodeMethodFrame(1, createMethod('channel.open', {})),
]);
const SENTINEL_FRAME = encodeMethodFrame(SENTINEL, createMethod('channel.open', {}));

const server = fork(new URL('./fuzz-server.mjs', import.meta.url), [], {
  execArgv: ['--expose-gc'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const replies = [];
let wake = () => {};
server.on('message', (m) => {
  replies.push(m);
  wake();
});
let serverExited = false;
server.on('exit', (code, signal) => {
  serverExited = true;
  console.error(`server exited (code ${code}, signal ${signal})`);
  wake();
});
async function reply(type) {
  for (;;) {
    const i = replies.findIndex((m) => m.type === type);
    if (i >= 0) return replies.splice(i, 1)[0];
    if (serverExited) throw new Error(`server exited before '${type}'`);
    await new Promise((r) => (wake = r));
  }
}
const { port } = await reply('listening');
const ask = (message) => (server.send(message), reply('mem'));

/** Runs one case; resolves to its outcome label. */
function runCase(payload) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 0 });
    let handshook = false;
    let outcome;
    const finish = (label) => {
      if (outcome) return;
      outcome = label;
      clearTimeout(timer);
      socket.destroy();
      resolve(label);
    };
    const timer = setTimeout(() => finish(handshook ? 'no-answer' : 'handshake-timeout'), 2000);
    socket.on('error', () => undefined);
    socket.on('close', () => finish('socket-closed'));
    socket.on('connect', () => socket.write(HANDSHAKE));
    socket.on('data', (chunk) => {
      for (const ev of parser.push(chunk)) {
        if (ev.type !== 'method') continue;
        const { name, args } = ev.method;
        if (name === 'connection.close') return finish(`connection.close ${args.replyCode}`);
        if (name === 'channel.close') return finish(`channel.close ${args.replyCode}`);
        if (!handshook && name === 'channel.open-ok' && ev.channel === 1) {
          handshook = true;
          socket.write(Buffer.concat([payload, SENTINEL_FRAME]));
          timer.refresh();
          setTimeout(() => finish('no-answer'), CASE_TIMEOUT_MS).unref();
        } else if (handshook && name === 'channel.open-ok' && ev.channel === SENTINEL) {
          return finish('open');
        }
      }
    });
  });
}

const histogram = new Map();
const log = opt.log ? [] : undefined;
let done = 0;
let next = 0;
const rand = mulberry32(SEED);
const payloads = (n) => Array.from({ length: n }, () => caseBytes(rand, METHOD_SPECS));

async function campaign(until) {
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (next < until && Date.now() < deadlineAt && !serverExited) {
      const id = next++;
      const [payload] = payloads(1);
      const outcome = await runCase(payload);
      histogram.set(outcome, (histogram.get(outcome) ?? 0) + 1);
      log?.push(JSON.stringify({ id, outcome, bytes: payload.toString('hex').slice(0, 400) }));
      if (++done % 10_000 === 0)
        console.log(`  ${done} cases, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  });
  await Promise.all(workers);
}

console.log(`fuzz: seed ${SEED}, ${CASES} cases, concurrency ${CONCURRENCY}, server port ${port}`);
await campaign(WARMUP);
const before = await ask({ type: 'mem' });
await campaign(CASES);
const after = await ask({ type: 'mem', clean: true });

// A fresh, well-behaved client must still get full service.
let amqplibOk = false;
try {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  const ch = await conn.createConfirmChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('still here'));
  await ch.waitForConfirms();
  const got = await ch.get(queue, { noAck: true });
  amqplibOk = got !== false && got.content.toString() === 'still here';
  await conn.close();
} catch (err) {
  console.error('amqplib check failed:', err);
}
server.send('stop');

const mb = (n) => (n / 1024 / 1024).toFixed(1);
const heapGrowth = after.memory.heapUsed - before.memory.heapUsed;
const margin = Math.max(2 * 1024 * 1024, before.memory.heapUsed * 0.05);
const memoryOk = heapGrowth <= margin;
const seconds = (Date.now() - started) / 1000;
console.log(`\ncases run: ${done} of ${CASES} in ${seconds.toFixed(0)} s (seed ${SEED})`);
console.log('outcomes:');
for (const [k, v] of [...histogram].sort((a, b) => b[1] - a[1]))
  console.log(`  ${String(v).padStart(7)}  ${k}`);
console.log(
  `server heap after warm-up (${WARMUP} cases): ${mb(before.memory.heapUsed)} MiB, rss ${mb(before.memory.rss)} MiB; ` +
    `after all cases: ${mb(after.memory.heapUsed)} MiB, rss ${mb(after.memory.rss)} MiB ` +
    `(growth ${mb(heapGrowth)} MiB, margin ${mb(margin)} MiB) → ${memoryOk ? 'ok' : 'NOT OK'}`,
);
console.log(
  `left by the cases and removed before the measures: ${before.purged} + ${after.purged} messages ` +
    `(purged), ${after.deleted} queues/exchanges (deleted); ` +
    `connections open at the end: ${after.connections}`,
);
console.log(`server internal errors reported: ${after.errors}`);
for (const e of after.firstErrors) console.log(`  ${e}`);
console.log(`fresh amqplib client after the campaign: ${amqplibOk ? 'ok' : 'FAILED'}`);
if (log) writeFileSync(opt.log, log.join('\n') + '\n');
const ok = !serverExited && done >= CASES && amqplibOk && memoryOk && after.errors === 0;
console.log(ok ? 'PASS' : 'FAIL');
process.exit(ok ? 0 : 1);
