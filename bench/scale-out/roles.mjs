// amqplib client roles for the scale-out benchmark, one per process (a client never shares an event loop).
//   node roles.mjs publisher <url> <queue> <index> <seconds> <window> <budget-seconds>
//   node roles.mjs consumer  <url> <queue> <prefetch> <budget-seconds>
// bench/amqp/amqplib-roles.mjs counts to N on a queue of its own and then deletes it; here several
// consumers on different nodes share one durable queue, so they count until the orchestrator says
// stop, and every body carries (publisher index, sequence) so the orchestrator can check that each
// confirmed message was consumed, once.
import amqp from 'amqplib';
import { assertLoopback, deadline, now, ready } from '../amqp/lib.mjs';

const BODY_BYTES = 256;
/** Latencies sent back per publisher at most (evenly strided): enough for p99, small for IPC. */
const LATENCY_SAMPLE = 20_000;

const [role, url, queue, ...rest] = process.argv.slice(2);

const conn = await amqp.connect(assertLoopback(url));
conn.on('error', () => undefined);

/** Waits for one IPC message equal to `word`. */
const command = (word) =>
  new Promise((resolve) => {
    const on = (m) => {
      if (m === word) {
        process.off('message', on);
        resolve();
      }
    };
    process.on('message', on);
  });

const closeQuietly = () =>
  Promise.race([conn.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);

async function publisher(indexArg, secondsArg, windowArg, budgetArg) {
  const index = Number(indexArg);
  const window = Number(windowArg);
  deadline(Number(budgetArg), `publisher ${index}`);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  ready();
  await command('go');

  const sentAt = [];
  const latencies = [];
  let outstanding = 0;
  let confirmed = 0;
  let nacked = 0;
  let lastConfirmAt = 0;
  let wake = () => {};
  const startAt = now();
  const endAt = startAt + Number(secondsArg) * 1000;
  let seq = 0;
  while (now() < endAt) {
    while (outstanding >= window) await new Promise((r) => (wake = r));
    const body = Buffer.alloc(BODY_BYTES, 0x61);
    body.writeUInt8(index, 0);
    body.writeUInt32BE(seq, 1);
    const mine = seq++;
    sentAt[mine] = now();
    outstanding++;
    ch.sendToQueue(queue, body, { persistent: true }, (err) => {
      lastConfirmAt = now();
      if (err) nacked++;
      else {
        confirmed++;
        latencies.push(lastConfirmAt - sentAt[mine]);
      }
      outstanding--;
      wake();
    });
  }
  while (outstanding > 0) await new Promise((r) => (wake = r));
  const stride = Math.max(1, Math.ceil(latencies.length / LATENCY_SAMPLE));
  process.send?.({
    type: 'result',
    sent: seq,
    confirmed,
    nacked,
    startAt,
    confirmedAt: lastConfirmAt,
    latencies: latencies.filter((_, i) => i % stride === 0),
  });
  await command('exit');
  await closeQuietly();
  process.exit(0);
}

async function consumer(prefetchArg, budgetArg) {
  deadline(Number(budgetArg), 'consumer');
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: true });
  await ch.prefetch(Number(prefetchArg));
  const seen = new Map(); // publisher index → bitmap of sequences
  let count = 0;
  let redelivered = 0;
  let firstAt = 0;
  let lastAt = 0;
  const { consumerTag } = await ch.consume(queue, (msg) => {
    if (!msg) return;
    ch.ack(msg);
    lastAt = now();
    if (count++ === 0) firstAt = lastAt;
    if (msg.fields.redelivered) redelivered++;
    const index = msg.content.readUInt8(0);
    const seq = msg.content.readUInt32BE(1);
    let bits = seen.get(index) ?? Buffer.alloc(0);
    if (bits.length <= seq >> 3) {
      const grown = Buffer.alloc(Math.max(2 * bits.length, (seq >> 3) + 1024));
      bits.copy(grown);
      bits = grown;
    }
    bits[seq >> 3] |= 1 << (seq & 7);
    seen.set(index, bits);
  });
  process.on('message', (m) => {
    if (m === 'count') process.send?.({ type: 'count', count, lastAt });
  });
  ready();
  await command('finish');
  await ch.cancel(consumerTag).catch(() => undefined);
  await closeQuietly(); // the last acks are written before the close
  const bitmaps = Object.fromEntries([...seen].map(([i, bits]) => [i, bits.toString('base64')]));
  process.send?.({ type: 'result', count, redelivered, firstAt, lastAt, bitmaps }, () => process.exit(0));
}

if (role === 'publisher') await publisher(...rest);
else if (role === 'consumer') await consumer(...rest);
else throw new Error(`unknown role ${role}`);
