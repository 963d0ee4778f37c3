import { afterEach, beforeEach, expect, test } from 'vitest';
import { connect, startConveyor } from './helpers.js';
import { RawClient, readPublishes } from './raw-client.js';

const N = 20_000;
const SIZE = 1024;
const QOS1 = 300;

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeEach(async () => {
  target = await startConveyor({ qos0BufferBytes: 2 * 1024 * 1024 });
});
afterEach(() => target.close());

/** Counts QoS 0 and QoS 1 PUBLISH packets in a byte stream. */
function countPublishes(client: RawClient): { qos0: number; qos1: number } {
  const counts = { qos0: 0, qos1: 0 };
  readPublishes(client, (qos) => (qos === 0 ? counts.qos0++ : counts.qos1++));
  return counts;
}

test('a stuck subscriber (socket not read) holds its publisher up only briefly: QoS 0 copies to it wait up to qos0BufferBytes, the rest are dropped and counted; a fast subscriber on the same topic gets everything; its QoS 1 messages stay queued', async () => {
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

  // The stuck client's QoS 0 copies went past its queue: some wait for it, the rest were dropped.
  const vhost = target.broker.vhost('/');
  expect((await vhost.count('mqtt-subscription-slowqos0')).ready).toBe(0);
  const dropped = target.server.qos0Dropped;
  // The buffer (2 MiB) plus what the kernel took (a few MiB on loopback) is far below N × 1 KiB.
  expect(dropped).toBeGreaterThan(N / 4);
  const qos1Queue = await vhost.count('mqtt-subscription-slowqos1');
  expect(qos1Queue.ready + qos1Queue.inFlight).toBe(QOS1);

  // Nothing else went missing: once the slow client reads, it gets every copy that was not counted dropped.
  slow.socket.resume();
  const until = Date.now() + 20_000;
  while (counts.qos0 < N - dropped && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  expect(counts.qos0).toBe(N - dropped);
  expect(counts.qos1).toBeGreaterThan(0);
  slow.socket.destroy();
  await Promise.all([fast.endAsync(), pub.endAsync()]);
}, 60_000);
