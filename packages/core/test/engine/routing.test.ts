import { describe, expect, it } from 'vitest';
import {
  AccessRefusedError,
  ExchangeNotFoundError,
  MessageTooLargeError,
  QueueNotFoundError,
} from '../../src/index.js';
import { advance, fakeClock, openBroker, text } from './broker-fixture.js';

describe('publishing through the routing model', () => {
  it('the default exchange routes to the queue named by the key', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    expect(await vh.publish('', 'q', { body: 'x' })).toMatchObject({ queues: ['q'], unroutable: false });
    expect(await vh.publish('', 'nope', { body: 'x' })).toMatchObject({ queues: [], unroutable: true });
  });

  it('an unknown exchange is named with the vhost it was looked up in, not the default one', async () => {
    const { broker } = await openBroker();
    const shop = await broker.addVhost('shop');
    await shop.declareQueue('q');
    await expect(shop.bindQueue('q', 'nope', '')).rejects.toThrow(new ExchangeNotFoundError('nope', 'shop'));
    await expect(shop.bindQueue('q', 'nope', '')).rejects.toThrow(/in vhost 'shop'/);
  });

  it('fanout gives every bound queue its own copy', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('fan', 'fanout');
    for (const q of ['a', 'b', 'c']) {
      await vh.declareQueue(q);
      await vh.bindQueue(q, 'fan', '');
    }
    const result = await vh.publish('fan', 'ignored', { body: 'hi' });
    expect(result.queues.sort()).toEqual(['a', 'b', 'c']);
    const copies = await Promise.all(['a', 'b', 'c'].map((q) => vh.receive(q)));
    expect(copies.map((c) => text(c[0]!.message.body))).toEqual(['hi', 'hi', 'hi']);
    // Copies are independent: settling one does not touch the others.
    await vh.ack(copies[0]!);
    expect((await vh.count('b')).inFlight).toBe(1);
  });

  it('topic subscriptions are queues: each subscriber group gets a copy, members compete', async () => {
    const { vh } = await openBroker();
    const billing = await vh.subscribe('orders.*.created', { name: 'billing' });
    const audit = await vh.subscribe('orders.#');
    await vh.publish('amq.topic', 'orders.eu.created', { body: 'o1' });
    await vh.publish('amq.topic', 'orders.eu.shipped', { body: 'o2' });
    expect((await vh.receive(billing, { max: 5 })).map((d) => text(d.message.body))).toEqual(['o1']);
    expect((await vh.receive(audit, { max: 5 })).map((d) => text(d.message.body))).toEqual(['o1', 'o2']);
    expect((await vh.queueInfo(billing)).options.durable).toBe(true);
  });

  it('exchange-to-exchange bindings and the alternate exchange route what matches nothing', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('unrouted', 'fanout');
    await vh.declareQueue('lost');
    await vh.bindQueue('lost', 'unrouted', '');
    await vh.declareExchange('main', 'direct', { alternateExchange: 'unrouted' });
    await vh.declareExchange('inner', 'direct');
    await vh.bindExchange('inner', 'main', 'k');
    await vh.declareQueue('q');
    await vh.bindQueue('q', 'inner', 'k');
    expect((await vh.publish('main', 'k', { body: 'matched' })).queues).toEqual(['q']);
    expect((await vh.publish('main', 'other', { body: 'unmatched' })).queues).toEqual(['lost']);
  });

  it('publishers cannot publish to an internal exchange, which is reached only through bindings', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('inner', 'fanout', { internal: true });
    await vh.declareExchange('outer', 'fanout');
    await vh.bindExchange('inner', 'outer', '');
    await vh.declareQueue('q');
    await vh.bindQueue('q', 'inner', '');
    await expect(vh.publish('inner', '', { body: 'x' })).rejects.toBeInstanceOf(AccessRefusedError);
    expect((await vh.publish('outer', '', { body: 'x' })).queues).toEqual(['q']);
  });

  it('headers exchanges match on headers', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('h', 'headers');
    await vh.declareQueue('pdf');
    await vh.bindQueue('pdf', 'h', '', { 'x-match': 'all', format: 'pdf', size: 'big' });
    expect(
      (await vh.publish('h', '', { body: 'x', properties: { headers: { format: 'pdf', size: 'big' } } }))
        .queues,
    ).toEqual(['pdf']);
    expect(
      (await vh.publish('h', '', { body: 'x', properties: { headers: { format: 'pdf' } } })).unroutable,
    ).toBe(true);
  });

  it('unbinding what is not there succeeds: a binding never made, a queue or an exchange that is gone', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.declareExchange('x', 'direct');
    await vh.bindQueue('q', 'x', 'k');
    await vh.unbindQueue('q', 'x', 'other');
    await vh.unbindQueue('gone', 'x', 'k');
    await vh.unbindQueue('q', 'gone', 'k');
    await vh.unbindExchange('gone', 'x', 'k');
    await vh.unbindExchange('x', 'gone', 'k');
    // The binding that exists is untouched by all of that, and goes when asked.
    expect((await vh.publish('x', 'k', { body: 'a' })).queues).toEqual(['q']);
    await vh.unbindQueue('q', 'x', 'k');
    expect((await vh.publish('x', 'k', { body: 'b' })).queues).toEqual([]);
  });

  it('unknown exchanges and queues are typed errors; oversized messages are refused and nothing is written', async () => {
    const { broker, vh } = await openBroker({ maxMessageBytes: 8 });
    await vh.declareQueue('q');
    await expect(vh.publish('nope', 'k', { body: 'x' })).rejects.toBeInstanceOf(ExchangeNotFoundError);
    await expect(vh.send('nope', { body: 'x' })).rejects.toBeInstanceOf(QueueNotFoundError);
    const err = await vh.send('q', { body: '123456789' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect((err as MessageTooLargeError).code).toBe('MESSAGE_TOO_LARGE');
    expect((await vh.count('q')).ready).toBe(0);
    await broker.close();
    await expect(vh.send('q', { body: 'x' })).rejects.toMatchObject({ code: 'BROKER_CLOSED' });
  });
});

describe('duplicate detection', () => {
  it('a second send with the same message id inside the window is accepted but not enqueued twice', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q', { dedupeWindowMs: 60_000 });
    const first = await vh.send('q', { body: 'x', properties: { messageId: 'm-1' } });
    const second = await vh.send('q', { body: 'x', properties: { messageId: 'm-1' } });
    await vh.send('q', { body: 'y', properties: { messageId: 'm-2' } });
    expect(first.duplicates).toEqual([]);
    expect(second).toMatchObject({ queues: ['q'], duplicates: ['q'] });
    expect((await vh.count('q')).ready).toBe(2);
  });

  it('after the window the same id is a new message', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q', { dedupeWindowMs: 60_000 });
    await vh.send('q', { body: 'x', properties: { messageId: 'm-1' } });
    await advance(59_000);
    expect((await vh.send('q', { body: 'x', properties: { messageId: 'm-1' } })).duplicates).toEqual(['q']);
    await advance(1_001);
    await vh.send('q', { body: 'x', properties: { messageId: 'm-1' } });
    expect((await vh.count('q')).ready).toBe(2);
  });
});

describe('backpressure signal', () => {
  it('raises "publishers must wait" above the watermark and clears it below', async (ctx) => {
    const { broker, vh } = await openBroker({ memoryHighWatermarkBytes: 1_000 });
    // A shared store keeps messages out of the process: nothing to count (store-redis multi-node test).
    if (broker.store.cluster) ctx.skip();
    await vh.declareQueue('q');
    const events: string[] = [];
    broker.on('blocked', () => events.push('blocked'));
    broker.on('unblocked', () => events.push('unblocked'));
    for (let i = 0; i < 12; i++) await vh.send('q', { body: Buffer.alloc(100) });
    expect(broker.blocked).toBe(true);
    const all = await vh.receive('q', { max: 12 });
    await vh.ack(all);
    expect(broker.blocked).toBe(false);
    expect(events).toEqual(['blocked', 'unblocked']);
  });
});
