import { describe, expect, it, vi } from 'vitest';
import { AccessRefusedError, MemoryStore, type Delivery } from '../../src/index.js';
import { CreditWindow } from '../../src/internal.js';
import { advance, fakeClock, openBroker, sleep, text } from './broker-fixture.js';

describe('push consumers', () => {
  it('delivers within the prefetch window and more as it acks', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (let i = 0; i < 5; i++) await vh.send('q', { body: String(i) });
    const got: Delivery[] = [];
    vh.consume('q', (d) => got.push(d), { prefetch: 2 });
    await sleep(10);
    expect(got.map((d) => text(d.message.body))).toEqual(['0', '1']);
    await vh.ack(got[0]!);
    await sleep(10);
    expect(got.map((d) => text(d.message.body))).toEqual(['0', '1', '2']);
  });

  // Over a shared store every take is a round trip: an ack that finds the queue emptied by the
  // last take, with nothing sent since, takes nothing.
  it('an ack takes again only when something may have arrived since the last take came back short', async () => {
    const store = new MemoryStore();
    let takes = 0;
    const take = store.take.bind(store);
    store.take = (...args) => {
      takes++;
      return take(...args);
    };
    const { vh } = await openBroker({ store });
    await vh.declareQueue('q');
    const got: Delivery[] = [];
    vh.consume('q', (d) => got.push(d), { prefetch: 10 });
    await vh.send('q', { body: 'a' });
    await vi.waitFor(() => expect(got).toHaveLength(1));
    await sleep(10);
    const before = takes;
    await vh.ack(got[0]!);
    await sleep(10);
    expect(takes).toBe(before);
    await vh.send('q', { body: 'b' });
    await vi.waitFor(() => expect(got.map((d) => text(d.message.body))).toEqual(['a', 'b']));
    // A full window, then an ack: the take that filled it was not short, so the ack takes.
    for (let i = 0; i < 12; i++) await vh.send('q', { body: String(i) });
    await vi.waitFor(() => expect(got).toHaveLength(11));
    await vh.ack(got.slice(1));
    await vi.waitFor(() => expect(got).toHaveLength(14)); // the other 3
  });

  it('single active consumer: only the earliest consumer gets messages; the next takes over, with what it held, when it leaves', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('sac', { singleActiveConsumer: true });
    const first: Delivery[] = [];
    const second: Delivery[] = [];
    const active = vh.consume('sac', (d) => first.push(d), { prefetch: 3 });
    vh.consume('sac', (d) => second.push(d), { prefetch: 10 });
    for (let i = 0; i < 6; i++) await vh.send('sac', { body: String(i) });
    await sleep(20);
    // The standby stays idle although the active one is at its prefetch.
    expect(first.map((d) => text(d.message.body))).toEqual(['0', '1', '2']);
    expect(second).toEqual([]);
    await vh.ack(first[0]!);
    await sleep(20);
    expect(first.map((d) => text(d.message.body))).toEqual(['0', '1', '2', '3']);
    await active.cancel();
    await sleep(20);
    expect(second.map((d) => [text(d.message.body), d.redelivered])).toEqual([
      ['1', true],
      ['2', true],
      ['3', true],
      ['4', false],
      ['5', false],
    ]);
  });

  it('a shared window limits several consumers together', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('a');
    await vh.declareQueue('b');
    for (let i = 0; i < 3; i++) {
      await vh.send('a', { body: 'a' });
      await vh.send('b', { body: 'b' });
    }
    const window = new CreditWindow(3);
    const got: Delivery[] = [];
    vh.consume('a', (d) => got.push(d), { window });
    vh.consume('b', (d) => got.push(d), { window });
    await sleep(10);
    expect(got).toHaveLength(3);
  });

  it('what a cancelled consumer held is ready again with its count raised', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'x' });
    const got: Delivery[] = [];
    const c = vh.consume('q', (d) => got.push(d));
    await sleep(5);
    expect(got).toHaveLength(1);
    await c.cancel();
    const [again] = await vh.receive('q');
    expect(again!.deliveryCount).toBe(2);
    expect(again!.redelivered).toBe(true);
  });

  it('what a departed owner held is released', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'x' });
    vh.consume('q', () => undefined, { owner: 'conn-9' });
    await sleep(5);
    expect((await vh.count('q')).inFlight).toBe(1);
    await vh.releaseOwner('conn-9');
    expect(await vh.count('q')).toMatchObject({ ready: 1, inFlight: 0, consumers: 0 });
  });

  it('cancel without release keeps deliveries held for a later consumer with the same holder', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'x' });
    const got: Delivery[] = [];
    const c = vh.consume('q', (d) => got.push(d), { holder: 'session-1' });
    await sleep(5);
    await c.cancel({ release: false });
    expect((await vh.count('q')).inFlight).toBe(1);
    vh.consume('q', () => undefined, { holder: 'session-1' });
    await vh.ack(got[0]!);
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  it('auto-ack consumers settle at hand-out', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (let i = 0; i < 3; i++) await vh.send('q', { body: String(i) });
    const got: string[] = [];
    vh.consume('q', (d) => got.push(text(d.message.body)), { autoAck: true, prefetch: 1 });
    await sleep(10);
    expect(got).toEqual(['0', '1', '2']);
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  it('an exclusive consumer keeps others out', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    vh.consume('q', () => undefined, { exclusive: true });
    expect(() => vh.consume('q', () => undefined)).toThrow(AccessRefusedError);
  });

  it('a consumer holding a delivery past the consumer timeout loses it and is cancelled', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q', { consumerTimeoutMs: 30_000 });
    await vh.send('q', { body: 'x' });
    const reasons: string[] = [];
    vh.consume('q', () => undefined, { onCancel: (r) => reasons.push(r) });
    await advance(29_000);
    expect(reasons).toEqual([]);
    await advance(2_000);
    expect(reasons).toEqual(['timeout']);
    expect(await vh.count('q')).toMatchObject({ ready: 1, inFlight: 0, consumers: 0 });
  });

  it('round-robins between consumers', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const seen = { a: 0, b: 0 };
    vh.consume(
      'q',
      (d) => {
        seen.a++;
        void vh.ack(d);
      },
      { prefetch: 1 },
    );
    vh.consume(
      'q',
      (d) => {
        seen.b++;
        void vh.ack(d);
      },
      { prefetch: 1 },
    );
    for (let i = 0; i < 100; i++) await vh.send('q', { body: String(i) });
    await sleep(30);
    expect(seen.a + seen.b).toBe(100);
    expect(seen.a).toBeGreaterThan(20);
    expect(seen.b).toBeGreaterThan(20);
  });
});

describe('consumers that go away mid-batch', () => {
  it('what a consumer had not yet been handed when it was cancelled goes back to the queue', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (let i = 0; i < 5; i++) await vh.send('q', { body: String(i) });
    const got: string[] = [];
    const handle = vh.consume('q', (d) => {
      got.push(text(d.message.body));
      if (got.length === 2) void handle.cancel(); // leaves in the middle of a batch
    });
    await sleep(20);
    expect(got).toEqual(['0', '1']);
    expect(await vh.count('q')).toMatchObject({ ready: 5, inFlight: 0 });
  });

  it('an auto-ack consumer that cancels itself mid-batch: what it was not handed goes back, nothing is lost', async () => {
    // An MQTT session pauses or cancels from inside a delivery when its socket backs up; the
    // auto-ack batch it was in the middle of must not be settled past the last one handed.
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const N = 500;
    for (let i = 0; i < N; i++) await vh.send('q', { body: String(i) });
    const got: string[] = [];
    const start = (): void => {
      let mine = 0;
      const handle = vh.consume(
        'q',
        (d) => {
          got.push(text(d.message.body));
          if (++mine === 7) {
            void handle.cancel();
            start();
          }
        },
        { autoAck: true },
      );
    };
    start();
    for (let i = 0; i < 100 && got.length < N; i++) await sleep(10);
    expect(got).toHaveLength(N);
    expect(new Set(got).size).toBe(N);
    expect(await vh.count('q')).toMatchObject({ ready: 0, inFlight: 0 });
  });
});
