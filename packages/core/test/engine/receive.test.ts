import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, LeaseNotHeldError } from '../../src/index.js';
import { advance, fakeClock, openBroker, sleep, text } from './broker-fixture.js';

describe('send and receive', () => {
  it('receives in FIFO order, up to max', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (const b of ['1', '2', '3']) await vh.send('q', { body: b });
    const got = await vh.receive('q', { max: 2 });
    expect(got.map((d) => text(d.message.body))).toEqual(['1', '2']);
    expect(got[0]!.deliveryCount).toBe(1);
    expect(got[0]!.redelivered).toBe(false);
    expect((await vh.receive('q', { max: 5 })).map((d) => text(d.message.body))).toEqual(['3']);
  });

  it('answers at once with nothing when asked without waiting', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const started = Date.now();
    expect(await vh.receive('q')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(50);
  });

  it('a waiting receiver wakes as soon as a message arrives', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const started = Date.now();
    const pending = vh.receive('q', { waitMs: 5_000 });
    await sleep(30);
    await vh.send('q', { body: 'hello' });
    const [d] = await pending;
    expect(text(d!.message.body)).toBe('hello');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a waiting receiver gives up after its timeout', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const started = Date.now();
    expect(await vh.receive('q', { waitMs: 60 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('serves waiting receivers in arrival order', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const order: string[] = [];
    const waits = ['first', 'second', 'third'].map((name) =>
      vh.receive('q', { waitMs: 5_000 }).then((d) => order.push(`${name}:${text(d[0]!.message.body)}`)),
    );
    await sleep(10);
    for (const b of ['a', 'b', 'c']) await vh.send('q', { body: b });
    await Promise.all(waits);
    expect(order).toEqual(['first:a', 'second:b', 'third:c']);
  });

  it('rejects a bad max', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await expect(vh.receive('q', { max: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('leases', () => {
  it('ack removes; a second ack of the same delivery fails', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'x' });
    const [d] = await vh.receive('q');
    expect((await vh.count('q')).inFlight).toBe(1);
    await vh.ack(d!);
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 0 });
    await expect(vh.ack(d!)).rejects.toBeInstanceOf(LeaseNotHeldError);
  });

  it('nack returns the message to its place with its count raised', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (const b of ['a', 'b']) await vh.send('q', { body: b });
    const [a] = await vh.receive('q');
    await vh.nack(a!);
    const again = await vh.receive('q', { max: 2 });
    expect(again.map((d) => text(d.message.body))).toEqual(['a', 'b']);
    expect(again[0]!.deliveryCount).toBe(2);
    expect(again[0]!.redelivered).toBe(true);
  });

  it('nack with a delay keeps the message back until then', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'a' });
    const [a] = await vh.receive('q');
    await vh.nack(a!, { delayMs: 80 });
    expect(await vh.count('q')).toMatchObject({ ready: 0, delayed: 1 });
    expect(await vh.receive('q')).toEqual([]);
    const started = Date.now();
    const [later] = await vh.receive('q', { waitMs: 2_000 });
    expect(text(later!.message.body)).toBe('a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('an expired lease makes the message ready again with its count raised; the old holder cannot ack', async () => {
    // The 30 s lease runs out without a real wait.
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q');
    await vh.send('q', { body: 'a' });
    const [first] = await vh.receive('q', { leaseMs: 30_000 });
    const next = vh.receive('q', { waitMs: 60_000 });
    await advance(29_000);
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 1 });
    await advance(1_001);
    const [second] = await next;
    expect(second!.id).toBe(first!.id);
    expect(second!.deliveryCount).toBe(2);
    await expect(vh.ack(first!)).rejects.toBeInstanceOf(LeaseNotHeldError);
    await vh.ack(second!);
  });

  it('renewing a lease keeps the message held; without renewal it is ready again', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q');
    await vh.send('q', { body: 'a' });
    const [d] = await vh.receive('q', { leaseMs: 30_000 });
    for (let i = 0; i < 5; i++) {
      await advance(20_000);
      await vh.renew(d!, 30_000);
    }
    // 100 s held on a 30 s lease.
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 1 });
    await advance(30_001);
    expect(await vh.count('q')).toMatchObject({ ready: 1, inFlight: 0 });
  });

  it('TTL is judged by the engine clock, not the wall clock', async () => {
    let now = 1_000_000;
    const { vh } = await openBroker({ clock: () => now });
    await vh.declareQueue('q', { messageTtlMs: 60_000 });
    await vh.send('q', { body: 'old' });
    now += 60_001;
    await vh.send('q', { body: 'young' });
    now += 59_999;
    const got = await vh.receive('q', { max: 5 });
    expect(got.map((g) => text(g.message.body))).toEqual(['young']);
  });

  it('uses the queue lease when the call gives none', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q', { leaseMs: 1234 });
    await vh.send('q', { body: 'a' });
    const before = Date.now();
    const [d] = await vh.receive('q');
    expect(d!.leaseUntil! - before).toBeGreaterThanOrEqual(1234);
    expect(d!.leaseUntil! - before).toBeLessThan(1234 + 200);
  });
});

describe('delayed messages', () => {
  it('a delayed send is not delivered before its time', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const sent = Date.now();
    await vh.send('q', { body: 'later', delayMs: 80 });
    await vh.send('q', { body: 'now' });
    expect((await vh.receive('q', { max: 5 })).map((d) => text(d.message.body))).toEqual(['now']);
    const [d] = await vh.receive('q', { waitMs: 2_000 });
    expect(text(d!.message.body)).toBe('later');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(75);
  });
});

describe('long timers', () => {
  it('a message whose TTL is longer than setTimeout can wait is neither expired nor swept early', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      await vh.send('q', { body: 'year', properties: { expiration: 365 * 24 * 3600 * 1000 } });
      await sleep(30);
      expect((await vh.count('q')).ready).toBe(1);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
