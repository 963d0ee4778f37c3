import { describe, expect, it } from 'vitest';
import { deadLetterToQueue, type Delivery, type EngineObserver } from '../../src/index.js';
import { advance, fakeClock, openBroker, sleep, text } from './broker-fixture.js';

describe('counters and observer', () => {
  it('counts published, delivered, acked and dead-lettered copies, and reports ack latency', async () => {
    const events: string[] = [];
    const latencies: number[] = [];
    const observer: EngineObserver = {
      published: (vh, q, n) => events.push(`published ${vh} ${q} ${n}`),
      delivered: (_vh, q, n) => events.push(`delivered ${q} ${n}`),
      acked: (_vh, q, l) => {
        events.push(`acked ${q} ${l.length}`);
        latencies.push(...l);
      },
      deadLettered: (_vh, q, reason, n) => events.push(`dead ${q} ${reason} ${n}`),
    };
    const { vh } = await openBroker({ observer, ...fakeClock() });
    await vh.declareQueue('dlq');
    await vh.declareQueue('q', { deadLetter: deadLetterToQueue('dlq') });
    await vh.send('q', { body: 'a' });
    await vh.send('q', { body: 'b' });
    await advance(20_000);
    const [a, b] = await vh.receive('q', { max: 2 });
    expect(a!.enqueuedAt).toBeLessThanOrEqual(Date.now());
    await vh.ack(a!);
    await vh.nack(b!, { requeue: false });
    expect(await vh.count('q')).toMatchObject({ published: 2, delivered: 2, acked: 1, deadLettered: 1 });
    expect(events).toEqual([
      'published / q 1',
      'published / q 1',
      'delivered q 2',
      'acked q 1',
      'dead q rejected 1',
    ]);
    expect(latencies[0]).toBeGreaterThanOrEqual(20_000);
  });
});

describe('consumer flow control', () => {
  it('a paused consumer gets nothing until resumed; setPrefetch widens the window at once', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const got: Delivery[] = [];
    const c = vh.consume('q', (d) => got.push(d), { prefetch: 1 });
    c.pause();
    for (const b of ['1', '2', '3']) await vh.send('q', { body: b });
    await sleep(10);
    expect(got).toHaveLength(0);
    c.resume();
    await sleep(10);
    expect(got.map((d) => text(d.message.body))).toEqual(['1']);
    c.setPrefetch(3);
    await sleep(10);
    expect(got.map((d) => text(d.message.body))).toEqual(['1', '2', '3']);
  });
});

describe('holders without a deadline', () => {
  it('a receive for a named holder with an infinite lease is held until that holder is released', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'x' });
    const [d] = await vh.receive('q', { holder: 'channel-7', leaseMs: Number.POSITIVE_INFINITY });
    expect(d!.leaseUntil).toBeUndefined();
    expect(d!.holder).toBe('channel-7');
    await sleep(20);
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 1 });
    expect(await vh.releaseHolder('channel-7')).toBe(1);
    const [again] = await vh.receive('q');
    expect(again!.deliveryCount).toBe(2);
  });
});

describe('delivery limit at nack time', () => {
  it('a requeued message that used its last delivery is dead-lettered at once, others go back', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('q', { maxDeliveries: 2, deadLetter: deadLetterToQueue('dlq') });
    await vh.send('q', { body: 'poison' });
    await vh.send('q', { body: 'fine' });
    const [p1] = await vh.receive('q');
    await vh.nack(p1!);
    const [p2, f1] = await vh.receive('q', { max: 2 });
    expect(p2!.deliveryCount).toBe(2);
    await vh.nack([p2!, f1!]);
    expect((await vh.count('dlq')).ready).toBe(1);
    expect(await vh.count('q')).toMatchObject({ ready: 1, inFlight: 0 });
    const [dead] = await vh.receive('dlq');
    expect(text(dead!.message.body)).toBe('poison');
    expect(dead!.message.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
  });
});
