// amqplib load: one role per process so a client never shares an event loop with another.
//   node amqplib-roles.mjs <role> <url> <queue> <count> <seconds> [window]
// Roles: consumer (acks each, prefetch=window), publisher (transient, write backpressure),
// confirm-publisher (persistent, `window` unconfirmed at most), responder (RPC server),
// requester (RPC client over direct reply-to; sequential round trips).
import amqp from 'amqplib';
import { assertLoopback, deadline, now, percentile, ready, report } from './lib.mjs';

const [role, url, queue, countArg, secondsArg, windowArg] = process.argv.slice(2);
const N = Number(countArg);
const WINDOW = Number(windowArg ?? 256);
const BODY = Buffer.alloc(256, 0x61);
deadline(Number(secondsArg), `amqplib ${role}`);

// BENCH_NODELAY=1: the client sets TCP_NODELAY too (amqplib's `noDelay` socket option; off by default).
const conn = await amqp.connect(assertLoopback(url), { noDelay: process.env.BENCH_NODELAY === '1' });
conn.on('error', () => undefined);
const waitForExit = () =>
  process.on('message', (m) => {
    if (m === 'exit') void conn.close().finally(() => process.exit(0));
  });

switch (role) {
  case 'consumer': {
    const ch = await conn.createChannel();
    const durable = windowArg !== undefined && process.argv[8] === 'durable';
    await ch.assertQueue(queue, { durable, autoDelete: !durable });
    await ch.prefetch(WINDOW);
    let count = 0;
    let firstAt = 0;
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      if (count === 0) firstAt = now();
      if (++count === N) {
        const lastAt = now();
        void ch.deleteQueue(queue).finally(() => report({ count, firstAt, lastAt }));
      }
    });
    ready();
    break;
  }
  case 'publisher': {
    const ch = await conn.createChannel();
    const startAt = now();
    for (let i = 0; i < N; i++) {
      if (!ch.sendToQueue(queue, BODY, { persistent: false })) await new Promise((r) => ch.once('drain', r));
    }
    process.send?.({ type: 'result', sent: N, startAt, writtenAt: now() });
    waitForExit();
    break;
  }
  case 'confirm-publisher': {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    let outstanding = 0;
    let confirmed = 0;
    let wake = () => {};
    const startAt = now();
    const allConfirmed = new Promise((resolve, reject) => {
      const onConfirm = (err) => {
        if (err) return reject(new Error('nacked'));
        outstanding--;
        if (++confirmed === N) resolve(now());
        wake();
      };
      (async () => {
        for (let i = 0; i < N; i++) {
          while (outstanding >= WINDOW) await new Promise((r) => (wake = r));
          outstanding++;
          ch.sendToQueue(queue, BODY, { persistent: true }, onConfirm);
        }
      })().catch(reject);
    });
    const confirmedAt = await allConfirmed;
    process.send?.({ type: 'result', sent: N, startAt, confirmedAt });
    waitForExit();
    break;
  }
  case 'responder': {
    const ch = await conn.createChannel();
    await ch.assertQueue(queue, { autoDelete: true });
    await ch.prefetch(WINDOW);
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.sendToQueue(msg.properties.replyTo, msg.content, { correlationId: msg.properties.correlationId });
      ch.ack(msg);
    });
    ready();
    waitForExit();
    break;
  }
  case 'requester': {
    const ch = await conn.createChannel();
    const waiting = new Map();
    await ch.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        const done = msg && waiting.get(msg.properties.correlationId);
        if (done) done();
      },
      { noAck: true },
    );
    const call = (id) =>
      new Promise((resolve) => {
        waiting.set(id, resolve);
        ch.sendToQueue(queue, BODY, { replyTo: 'amq.rabbitmq.reply-to', correlationId: id });
      });
    const warmup = Math.min(500, Math.floor(N / 10));
    for (let i = 0; i < warmup; i++) await call(`w${i}`);
    const rtts = [];
    const startAt = now();
    for (let i = 0; i < N; i++) {
      const t = now();
      await call(`r${i}`);
      rtts.push(now() - t);
      waiting.delete(`r${i}`);
    }
    const endAt = now();
    report({ count: N, startAt, lastAt: endAt, p50: percentile(rtts, 50), p99: percentile(rtts, 99) });
    break;
  }
  default:
    throw new Error(`unknown role ${role}`);
}
