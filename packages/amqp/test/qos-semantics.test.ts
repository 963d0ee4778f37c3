// basic.qos as py-amqp's users mean it. kombu (so Celery) picks the global flag by the server's
// product: to a server that is not RabbitMQ it sends global=false meaning the spec's channel-wide
// limit, and raises it for every ETA task it holds. Conveyor gives clients that announce py-amqp
// that meaning, so a Celery worker's immediate tasks are not held behind its ETA tasks; everyone
// else keeps RabbitMQ's (features-more.shared.ts checks that one against RabbitMQ too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMethod, encodeContent } from '../src/index.js';
import { isMethod, rawChannel, type RawClient } from './helpers/raw-client.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';

let t: ConveyorTarget;
beforeAll(async () => {
  t = await startConveyor();
});
afterAll(async () => {
  await t.close();
});

const deliveries = (c: RawClient): number =>
  c.frames.filter((f) => f.type === 'method' && f.method.name === 'basic.deliver').length;

/** Waits for a method without taking the frames before it (the deliveries are counted there). */
async function seen(c: RawClient, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (c.frames.some((f) => f.type === 'method' && f.method.name === name)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${name}`);
}

async function settle(c: RawClient, expected: number): Promise<number> {
  for (let i = 0; i < 100 && deliveries(c) < expected; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100)); // and nothing more comes
  return deliveries(c);
}

async function setUp(product: string): Promise<RawClient> {
  const c = await rawChannel(t.port, { clientProperties: { product } });
  c.sendMethod(1, createMethod('queue.declare', { queue: '', exclusive: true }));
  const ok = await c.next(isMethod('queue.declare-ok'));
  const queue = ok.type === 'method' && ok.method.name === 'queue.declare-ok' ? ok.method.args.queue : '';
  const publish = encodeContent(
    1,
    createMethod('basic.publish', { routingKey: queue }),
    {},
    Buffer.from('x'),
    131072,
  );
  c.send(Buffer.concat(Array.from({ length: 20 }, () => publish)));
  c.sendMethod(1, createMethod('basic.qos', { prefetchCount: 2, global: false }));
  await c.next(isMethod('basic.qos-ok'));
  c.sendMethod(1, createMethod('basic.consume', { queue, consumerTag: 'worker' }));
  await c.next(isMethod('basic.consume-ok'));
  return c;
}

describe('basic.qos global=false', () => {
  it('from py-amqp: the channel limit, raised for the consumer already there without an ack', async () => {
    const c = await setUp('py-amqp');
    try {
      expect(await settle(c, 2)).toBe(2);
      c.sendMethod(1, createMethod('basic.qos', { prefetchCount: 5, global: false }));
      await seen(c, 'basic.qos-ok');
      expect(await settle(c, 5)).toBe(5);
    } finally {
      c.destroy();
    }
  });

  it('from any other client: RabbitMQ’s meaning, the consumer already there keeps its limit', async () => {
    const c = await setUp('amqplib');
    try {
      expect(await settle(c, 2)).toBe(2);
      c.sendMethod(1, createMethod('basic.qos', { prefetchCount: 5, global: false }));
      await seen(c, 'basic.qos-ok');
      expect(await settle(c, 5)).toBe(2);
    } finally {
      c.destroy();
    }
  });
});
