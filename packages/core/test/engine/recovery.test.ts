import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, LmdbStore, deadLetterToQueue } from '../../src/index.js';
import { sleep, text } from './broker-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-recovery-'));
  dirs.push(dir);
  return dir;
}

describe('restart with the durable store', () => {
  it('durable topology and persistent messages survive; transient ones do not', async () => {
    const path = await dataDir();
    let broker = await Broker.open({ store: new LmdbStore({ path }) });
    let vh = broker.vhost();
    await vh.declareExchange('events', 'topic', { durable: true });
    await vh.declareQueue('dlq');
    await vh.declareQueue('orders', { maxDeliveries: 5, deadLetter: deadLetterToQueue('dlq') });
    await vh.bindQueue('orders', 'events', 'order.#');
    await vh.declareQueue('scratch', { durable: false });
    await vh.publish('events', 'order.created', { body: 'p1', properties: { persistent: true } });
    await vh.publish('events', 'order.created', { body: 't1' });
    await vh.publish('events', 'order.created', { body: 'p2', properties: { persistent: true } });
    await vh.send('orders', { body: 'p3', properties: { persistent: true }, delayMs: 300 });
    const [first] = await vh.receive('orders');
    await vh.nack(first!); // count 1, stored at delivery
    const [again] = await vh.receive('orders'); // count 2, held when the broker stops
    expect(again!.deliveryCount).toBe(2);
    await broker.close();

    broker = await Broker.open({ store: new LmdbStore({ path }) });
    vh = broker.vhost();
    expect(vh.hasQueue('scratch')).toBe(false);
    expect((await vh.queueInfo('orders')).options.maxDeliveries).toBe(5);
    expect(await vh.count('orders')).toMatchObject({ ready: 2, inFlight: 0, delayed: 1 });
    const got = await vh.receive('orders', { max: 5 });
    expect(got.map((d) => [text(d.message.body), d.deliveryCount])).toEqual([
      ['p1', 3],
      ['p2', 1],
    ]);
    // Bindings came back: routing still works.
    expect((await vh.publish('events', 'order.paid', { body: 'p4' })).queues).toEqual(['orders']);
    // The delayed message is still delayed, then delivered.
    const [late] = await vh.receive('orders', { max: 1, waitMs: 2_000 });
    expect(text(late!.message.body)).toBe('p4');
    const [delayed] = await vh.receive('orders', { max: 1, waitMs: 2_000 });
    expect(text(delayed!.message.body)).toBe('p3');
    await broker.close();
  });

  it('a message that is delivered on every start still reaches the dead-letter queue', async () => {
    const path = await dataDir();
    for (let start = 0; start < 4; start++) {
      const broker = await Broker.open({ store: new LmdbStore({ path }) });
      const vh = broker.vhost();
      await vh.declareQueue('dlq');
      await vh.declareQueue('work', { maxDeliveries: 2, deadLetter: deadLetterToQueue('dlq') });
      if (start === 0) await vh.send('work', { body: 'crasher', properties: { persistent: true } });
      await vh.receive('work'); // "crashes" holding it
      await sleep(5);
      await broker.close();
    }
    const broker = await Broker.open({ store: new LmdbStore({ path }) });
    const vh = broker.vhost();
    expect((await vh.count('work')).ready + (await vh.count('work')).inFlight).toBe(0);
    const [dead] = await vh.receive('dlq');
    expect(text(dead!.message.body)).toBe('crasher');
    await broker.close();
  });
});
