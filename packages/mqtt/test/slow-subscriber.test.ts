import { afterEach, beforeEach, expect, test } from 'vitest';
import { connect, startConveyor } from './helpers.js';
import { RawClient } from './raw-client.js';

const N = 20_000;
const SIZE = 1024;
const QOS1 = 300;

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeEach(async () => {
  target = await startConveyor();
});
afterEach(() => target.close());

/** Counts QoS 0 and QoS 1 PUBLISH packets in a byte stream without decoding them. */
function countPublishes(client: RawClient): { qos0: number; qos1: number } {
  const counts = { qos0: 0, qos1: 0 };
  let buf = Buffer.alloc(0);
  client.socket.removeAllListeners('data');
  client.socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let at = 0;
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = at + 1;
      for (; i < buf.length; i++) {
        len += (buf[i]! & 0x7f) * mul;
        mul *= 128;
        if ((buf[i]! & 0x80) === 0) break;
      }
      if (i >= buf.length || i + 1 + len > buf.length) break;
      if (buf[at]! >> 4 === 3) {
        if (((buf[at]! >> 1) & 3) === 0) counts.qos0++;
        else counts.qos1++;
      }
      at = i + 1 + len;
    }
    buf = buf.subarray(at);
  });
  return counts;
}

test('a slow subscriber (socket not read) gets no more than a bounded part of its QoS 0 messages pushed out; the rest stays queued, a fast subscriber on the same topic gets everything, and its QoS 1 messages stay queued', async () => {
  const slow = await RawClient.open(target.port, 4);
  await slow.connect('slow', { keepalive: 0 });
  slow.send({
    cmd: 'subscribe',
    messageId: 1,
    subscriptions: [
      { topic: 'slow/t', qos: 0 },
      { topic: 'slow/q1', qos: 1 },
    ],
  });
  await slow.next('suback');
  const counts = countPublishes(slow);
  slow.socket.pause(); // from now on the slow client reads nothing

  const fast = await connect(target.url);
  await fast.subscribeAsync('slow/t', { qos: 0 });
  let fastGot = 0;
  fast.on('message', () => fastGot++);
  const pub = await connect(target.url);
  const payload = Buffer.alloc(SIZE, 0x61);
  const started = Date.now();
  for (let i = 0; i < N; i++) {
    pub.publish('slow/t', payload, { qos: 0 });
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 1));
  }
  for (let i = 0; i < QOS1; i++) await pub.publishAsync('slow/q1', `m${i}`, { qos: 1 });
  while (fastGot < N && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
  expect(fastGot).toBe(N);

  const vhost = target.broker.vhost('/');
  const qos0Queue = await vhost.count('mqtt-subscription-slowqos0');
  // Without flow control every message leaves the queue into the socket's buffer at once. With it, at
  // most the 1 MiB high mark plus what the kernel took (a few MiB on loopback) left the queue.
  expect(qos0Queue.ready).toBeGreaterThan(N - 8_000);
  const qos1Queue = await vhost.count('mqtt-subscription-slowqos1');
  expect(qos1Queue.ready + qos1Queue.inFlight).toBe(QOS1);

  // Queued, not dropped: once the slow client reads, every QoS 0 message arrives.
  slow.socket.resume();
  const until = Date.now() + 20_000;
  while (counts.qos0 < N && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(counts.qos0).toBe(N);
  expect(counts.qos1).toBeGreaterThan(0);
  slow.socket.destroy();
  await Promise.all([fast.endAsync(), pub.endAsync()]);
}, 60_000);
