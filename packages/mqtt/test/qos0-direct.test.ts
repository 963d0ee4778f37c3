// QoS 0 without a queue (issue 18): copies for a connected subscriber go from the publish straight
// to its socket; a session without a connection gets them in its queue, from the moment the
// connection is gone; a subscriber that reads slower than the publisher writes slows it down and
// loses nothing.
import { generate } from 'mqtt-packet';
import type { MessageStore } from '@conveyor/core';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startConveyor } from './helpers.js';
import { RawClient, readPublishes } from './raw-client.js';

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeEach(async () => {
  target = await startConveyor();
});
afterEach(() => target.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Counts the records the store is given per queue, by queue name (keys are vhost-qualified). */
function countEnqueues(store: MessageStore): (queue: string) => number {
  const counts = new Map<string, number>();
  const enqueue = store.enqueue.bind(store);
  store.enqueue = (key, records) => {
    counts.set(key, (counts.get(key) ?? 0) + records.length);
    return enqueue(key, records);
  };
  return (queue) => {
    let n = 0;
    for (const [key, count] of counts) if (key.endsWith(queue)) n += count;
    return n;
  };
}

async function subscriber(clientId: string, filter: string, clean = true): Promise<RawClient> {
  const client = await RawClient.open(target.port, 4);
  await client.connect(clientId, { clean, keepalive: 0 });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
  await client.next('suback');
  return client;
}

/** Reconnects a persistent session (clean=false) and collects the sequence numbers it gets. */
async function resume(clientId: string): Promise<{ client: RawClient; got: number[] }> {
  const client = await RawClient.open(target.port, 4);
  const got: number[] = [];
  readPublishes(client, (_qos, payload) => got.push(payload.readUInt32BE(0)));
  client.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId,
    clean: false,
    keepalive: 0,
  });
  return { client, got };
}

test('a connected QoS 0 subscriber gets MQTT and engine (AMQP-side) publishes to amq.topic with no store write for its queue; a QoS 1 subscriber’s copies still go through the store', async () => {
  const enqueues = countEnqueues(target.broker.store);
  const sub0 = await subscriber('direct0', 'd/#');
  const got: string[] = [];
  readPublishes(sub0, (_qos, payload) => got.push(payload.toString()));
  const sub1 = await RawClient.open(target.port, 4);
  await sub1.connect('direct1', { keepalive: 0 });
  sub1.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 1 }] });
  await sub1.next('suback');

  const pub = await RawClient.open(target.port, 4);
  await pub.connect('direct-pub');
  for (let i = 0; i < 100; i++)
    pub.send({ cmd: 'publish', topic: 'd/m', payload: `m${i}`, qos: 0, retain: false, dup: false });
  // What an AMQP publish to amq.topic does, in-process: the same routing, the same door.
  const vhost = target.broker.vhost('/');
  for (let i = 0; i < 100; i++) await vhost.publish('amq.topic', 'd.a', { body: Buffer.from(`a${i}`) });
  await until(() => got.length === 200, 'every copy');
  expect(got.filter((p) => p.startsWith('m'))).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
  expect(got.filter((p) => p.startsWith('a'))).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
  expect(enqueues('mqtt-subscription-direct0qos0')).toBe(0);
  expect(enqueues('mqtt-subscription-direct1qos1')).toBe(200);
  // Counted all the same (management and metrics).
  const queue = [...vhost.queues()].find((q) => q.name === 'mqtt-subscription-direct0qos0')!;
  expect(queue.published).toBe(200);
  for (const c of [sub0, sub1, pub]) c.close();
});

test('the disconnect race: a persistent session’s QoS 0 queue collects every copy published once its connection is gone, with no gap', async () => {
  const first = await subscriber('racer', 'race/t', false);
  const direct: number[] = [];
  readPublishes(first, (_qos, payload) => direct.push(payload.readUInt32BE(0)));
  const vhost = target.broker.vhost('/');
  const connections = target.server.connectionCount;
  let cut = -1;
  const N = 20_000;
  for (let i = 0; i < N; i++) {
    if (i === 2_000) first.socket.destroy();
    if (cut < 0 && target.server.connectionCount < connections) cut = i;
    const body = Buffer.alloc(4);
    body.writeUInt32BE(i);
    void vhost.publish('amq.topic', 'race.t', { body });
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  expect(cut).toBeGreaterThanOrEqual(2_000);
  expect(cut).toBeLessThan(N);

  const { client: again, got: later } = await resume('racer');
  await until(() => later.at(-1) === N - 1, 'the queued copies');
  // Everything published after the server saw the connection go was queued and arrives in order;
  // what went before reached the old socket (QoS 0 may be lost with it, MQTT allows that).
  const fromCut = later.filter((n) => n >= cut);
  expect(fromCut).toEqual(Array.from({ length: N - cut }, (_, i) => cut + i));
  expect(direct.every((n) => n < cut)).toBe(true);
  expect(target.server.qos0Dropped).toBe(0);
  again.close();
});

test('a subscriber that reads slower than the publisher writes slows the publisher down and loses nothing (200,000 pre-encoded QoS 0 publishes, in order)', async () => {
  const sub = await subscriber('slowish', 'fast/t');
  let next = 0;
  let outOfOrder = 0;
  readPublishes(sub, (_qos, payload) => {
    if (payload.readUInt32BE(0) !== next) outOfOrder++;
    next++;
  });
  // Reads a chunk, then rests: far slower than the publisher's loopback writes.
  sub.socket.on('data', () => {
    sub.socket.pause();
    setTimeout(() => sub.socket.resume(), 2);
  });
  const pub = await RawClient.open(target.port, 4);
  await pub.connect('fast-pub', { keepalive: 0 });
  const N = 200_000;
  const BATCH = 1_000;
  for (let i = 0; i < N; i += BATCH) {
    const packets: Buffer[] = [];
    for (let j = i; j < i + BATCH; j++) {
      const payload = Buffer.alloc(16);
      payload.writeUInt32BE(j);
      packets.push(generate({ cmd: 'publish', topic: 'fast/t', payload, qos: 0, retain: false, dup: false }));
    }
    if (!pub.socket.write(Buffer.concat(packets))) await new Promise((r) => pub.socket.once('drain', r));
  }
  await until(() => next === N, 'every message', 60_000);
  expect(outOfOrder).toBe(0);
  expect(target.server.qos0Dropped).toBe(0);
  sub.close();
  pub.close();
}, 90_000);

test('a plain QoS 0 PUBLISH reaches a 3.1.1 subscriber as the very bytes it came in; a 5.0 subscriber gets its own encoding, a retained one the retain flag as its subscription asks [MQTT-3.3.1-9] [MQTT-3.3.1-12]', async () => {
  const frames4: Buffer[] = [];
  const sub4 = await subscriber('fw4', 'fw/#');
  readPublishes(sub4, (_q, _p, frame) => frames4.push(frame));
  const sub5 = await RawClient.open(target.port, 5);
  await sub5.connect('fw5', { keepalive: 0 });
  sub5.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fw/#', qos: 0, rap: true }] });
  await sub5.next('suback');
  const frames5: Buffer[] = [];
  readPublishes(sub5, (_q, _p, frame) => frames5.push(frame));

  const pub = await RawClient.open(target.port, 4);
  await pub.connect('fw-pub');
  const plain = generate({
    cmd: 'publish',
    topic: 'fw/t',
    payload: Buffer.from('plain'),
    qos: 0,
    retain: false,
    dup: false,
  });
  const kept = {
    cmd: 'publish' as const,
    topic: 'fw/r',
    payload: Buffer.from('kept'),
    qos: 0 as const,
    dup: false,
  };
  pub.sendBytes(plain);
  pub.sendBytes(generate({ ...kept, retain: true }));
  await until(() => frames4.length === 2 && frames5.length === 2, 'both copies at both subscribers');

  expect(frames4[0]).toEqual(plain);
  // Delivered on a live subscription: retain 0 for 3.1.1 and without Retain As Published.
  expect(frames4[1]).toEqual(generate({ ...kept, retain: false }));
  const v5 = { protocolVersion: 5 } as const;
  expect(frames5[0]).toEqual(
    generate(
      { cmd: 'publish', topic: 'fw/t', payload: Buffer.from('plain'), qos: 0, retain: false, dup: false },
      v5,
    ),
  );
  expect(frames5[1]).toEqual(generate({ ...kept, retain: true }, v5));
  for (const c of [sub4, sub5, pub]) c.close();
});

test('a persistent session that comes back gets what its QoS 0 queue collected first, then the live copies, in order [MQTT-4.6.0-6]', async () => {
  const away = await subscriber('returner', 'ord/t', false);
  away.close();
  await until(() => target.server.connectionCount === 0, 'the session to be detached');
  const vhost = target.broker.vhost('/');
  // 1 KiB each: the backlog (10 MiB) fills the socket past its high mark, so it drains over many turns.
  const N = 10_000;
  const LIVE = 2_000;
  const body = (i: number) => {
    const b = Buffer.alloc(1024);
    b.writeUInt32BE(i);
    return b;
  };
  for (let i = 0; i < N; i++) await vhost.publish('amq.topic', 'ord.t', { body: body(i) });

  const { client: back, got } = await resume('returner');
  await until(() => target.server.connectionCount === 1, 'the connection');
  // Live publishes from the moment the session is attached again, while the queue drains.
  for (let i = N; i < N + LIVE; i++) {
    void vhost.publish('amq.topic', 'ord.t', { body: body(i) });
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  await until(() => got.length === N + LIVE, 'every copy');
  expect(got).toEqual(Array.from({ length: N + LIVE }, (_, i) => i));
  expect(target.server.qos0Dropped).toBe(0);
  back.close();
});
