/**
 * basic.publish runs inline when nothing is queued on its channel (no promise per publish): these pin
 * down that ordering against asynchronous methods, errors mid-batch, and publish flow control still
 * hold when a client pipelines everything in one write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMethod, encodeContent, encodeMethodFrame, type AmqpFrame } from '../src/index.js';
import { closeCode, isMethod, rawChannel } from './helpers/raw-client.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';

let t: ConveyorTarget;
beforeAll(async () => {
  t = await startConveyor();
});
afterAll(async () => {
  await t.close();
});

const publish = (queue: string, body: string, exchange = ''): Buffer =>
  encodeContent(
    1,
    createMethod('basic.publish', { exchange, routingKey: queue }),
    {},
    Buffer.from(body),
    131072,
  );

const declareOk = (f: AmqpFrame): number | undefined =>
  f.type === 'method' && f.method.name === 'queue.declare-ok' ? f.method.args.messageCount : undefined;

describe('pipelined publishes', () => {
  it('a publish behind an asynchronous queue.declare in the same write lands in that queue, in order', async () => {
    const client = await rawChannel(t.port);
    const batch = [
      encodeMethodFrame(1, createMethod('queue.declare', { queue: 'pp.order', exclusive: true })),
      ...Array.from({ length: 50 }, (_, i) => publish('pp.order', String(i))),
      encodeMethodFrame(1, createMethod('basic.get', { queue: 'pp.order', noAck: true })),
    ];
    client.send(Buffer.concat(batch));
    await client.next(isMethod('queue.declare-ok'));
    const got = await client.next(isMethod('basic.get-ok'));
    expect(got.type === 'method' && got.method.name === 'basic.get-ok' && got.method.args.messageCount).toBe(
      49,
    );
    const body = await client.next((f) => f.type === 'body');
    expect(body.type === 'body' && body.payload.toString()).toBe('0');
    client.destroy();
  });

  it('a failing publish closes the channel and nothing pipelined after it takes effect', async () => {
    const client = await rawChannel(t.port);
    client.send(
      Buffer.concat([
        encodeMethodFrame(1, createMethod('queue.declare', { queue: 'pp.after', exclusive: true })),
        publish('pp.after', 'before'),
        publish('x', 'bad', 'pp.no-such-exchange'),
        publish('pp.after', 'after'),
        encodeMethodFrame(1, createMethod('queue.purge', { queue: 'pp.after' })),
      ]),
    );
    const close = await client.next(isMethod('channel.close'));
    expect(closeCode(close)).toBe(404);
    expect(client.frames.some(isMethod('queue.purge-ok'))).toBe(false);
    client.sendMethod(1, createMethod('channel.close-ok', {}));
    client.sendMethod(2, createMethod('channel.open', {}));
    await client.next(isMethod('channel.open-ok'));
    client.sendMethod(2, createMethod('queue.declare', { queue: 'pp.after', passive: true }));
    expect(declareOk(await client.next(isMethod('queue.declare-ok')))).toBe(1);
    client.destroy();
  });

  it('more publishes in one write than the in-flight limit (4096): reading resumes and all arrive', async () => {
    const client = await rawChannel(t.port);
    client.sendMethod(1, createMethod('queue.declare', { queue: 'pp.flow', exclusive: true }));
    await client.next(isMethod('queue.declare-ok'));
    const one = publish('pp.flow', 'x');
    client.send(Buffer.concat(Array.from({ length: 10_000 }, () => one)));
    // The count covers stored messages, which may trail the routing by a moment: ask until all are in.
    let count: number | undefined = 0;
    for (let i = 0; i < 50 && count !== 10_000; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      client.sendMethod(1, createMethod('queue.declare', { queue: 'pp.flow', passive: true }));
      count = declareOk(await client.next(isMethod('queue.declare-ok'), 10_000));
    }
    expect(count).toBe(10_000);
    client.destroy();
  });
});

describe('publisher confirms under load', () => {
  it('a write of 500 confirmed publishes is acknowledged in runs (multiple), covering each number once, in order', async () => {
    const client = await rawChannel(t.port);
    client.sendMethod(1, createMethod('confirm.select', {}));
    await client.next(isMethod('confirm.select-ok'));
    client.sendMethod(1, createMethod('queue.declare', { queue: 'pp.confirms', exclusive: true }));
    await client.next(isMethod('queue.declare-ok'));
    const N = 500;
    // Persistent and transient mixed: durable writes settle later than the transient ones after them.
    const frames = Array.from({ length: N }, (_, i) =>
      encodeContent(
        1,
        createMethod('basic.publish', { exchange: '', routingKey: 'pp.confirms' }),
        { deliveryMode: i % 3 === 0 ? 2 : 1 },
        Buffer.from(String(i)),
        131072,
      ),
    );
    client.send(Buffer.concat(frames));
    const acks: { tag: number; multiple: boolean }[] = [];
    while (acks.at(-1)?.tag !== N) {
      const f = await client.next((x) => x.type === 'method' && x.method.name === 'basic.ack', 5000);
      if (f.type === 'method' && f.method.name === 'basic.ack')
        acks.push({ tag: f.method.args.deliveryTag, multiple: f.method.args.multiple });
    }
    // Each ack covers the numbers after the previous one: increasing, nothing skipped or repeated.
    for (let i = 1; i < acks.length; i++) expect(acks[i]!.tag).toBeGreaterThan(acks[i - 1]!.tag);
    for (let i = 0; i < acks.length; i++) {
      const previous = i === 0 ? 0 : acks[i - 1]!.tag;
      expect(acks[i]!.multiple).toBe(acks[i]!.tag - previous > 1);
    }
    // Coalesced: far fewer frames than publishes (one per publish before).
    expect(acks.length).toBeLessThan(N / 10);
    client.destroy();
  });
});
