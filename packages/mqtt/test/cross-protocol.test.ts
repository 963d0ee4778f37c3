import { afterAll, beforeAll, expect, test } from 'vitest';
import { collect, connect, sleep, startConveyor, uid } from './helpers.js';

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeAll(async () => {
  target = await startConveyor();
});
afterAll(() => target.close());

test('an engine publish to amq.topic with key a.b.c reaches an MQTT subscriber of a/b/c', async () => {
  const sub = await connect(target.url, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync('a/b/c', { qos: 1 });
  await target.broker.vhost('/').publish('amq.topic', 'a.b.c', {
    body: 'from the engine',
    properties: { persistent: true, contentType: 'text/plain', headers: { source: 'amqp' } },
  });
  const [m] = await got.next(1);
  expect(m).toMatchObject({ topic: 'a/b/c', payload: 'from the engine' });
  expect(m!.packet.qos).toBe(1);
  expect(m!.packet.properties?.contentType).toBe('text/plain');
  expect(m!.packet.properties?.userProperties).toEqual({ source: 'amqp' });
  sub.end();
});

test('an MQTT publish reaches an engine queue bound to amq.topic with a.*.c', async () => {
  const vhost = target.broker.vhost('/');
  await vhost.declareQueue('cross-q', { durable: false });
  await vhost.bindQueue('cross-q', 'amq.topic', 'a.*.c');
  const pub = await connect(target.url, { protocolVersion: 5 });
  await pub.publishAsync('a/x/c', 'to the engine', { qos: 1, properties: { userProperties: { k: 'v' } } });
  await pub.publishAsync('a/x/y/c', 'not matched', { qos: 1 });
  const [d] = await vhost.receive('cross-q', { max: 10 });
  expect(d!.message.routingKey).toBe('a.x.c');
  expect(Buffer.from(d!.message.body).toString()).toBe('to the engine');
  expect(d!.message.properties.headers?.k).toBe('v');
  expect(d!.message.properties.persistent).toBe(true);
  expect((await vhost.count('cross-q')).ready).toBe(0);
  pub.end();
});

test('a dot in an MQTT topic survives the swap both ways (a.b/c ↔ a/b.c)', async () => {
  const sub = await connect(target.url, { protocolVersion: 4, clientId: uid() });
  const got = collect(sub);
  await sub.subscribeAsync('v1.2/+', { qos: 0 });
  const pub = await connect(target.url, { protocolVersion: 4 });
  await pub.publishAsync('v1.2/status', 'ok', { qos: 0 });
  expect((await got.next(1))[0]!.topic).toBe('v1.2/status');
  await sleep(10);
  sub.end();
  pub.end();
});
