/** Two brokers in one process, each with its own RedisStore on the same prefix: two nodes. */
import { Broker, type Delivery, type VirtualHost } from '@conveyor/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisStore } from '../src/index.js';
import { deletePrefix, redisStore, redisUnavailable, uniquePrefix } from './redis-fixture.js';

const skip = await redisUnavailable();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const text = (d: Delivery) => Buffer.from(d.message.body).toString();

describe.skipIf(skip !== undefined)(
  `several nodes over one Redis${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const brokers: Broker[] = [];
    const prefixes: string[] = [];

    async function nodes(
      n: number,
      holderTtlMs = 10_000,
      prefix = uniquePrefix(),
    ): Promise<{ vh: VirtualHost; store: RedisStore }[]> {
      prefixes.push(prefix);
      const out = [];
      for (let i = 0; i < n; i++) {
        const store = redisStore(prefix, { holderTtlMs });
        const broker = await Broker.open({ store });
        brokers.push(broker);
        out.push({ vh: broker.vhost(), store });
      }
      return out;
    }

    afterEach(async () => {
      for (const b of brokers.splice(0)) await b.close();
      for (const p of prefixes.splice(0)) await deletePrefix(p);
    });

    it('a queue declared on one node is found by a node that opens later (durable topology in Redis)', async () => {
      const prefix = uniquePrefix();
      const [a] = await nodes(1, 10_000, prefix);
      await a!.vh.declareQueue('work', { maxDeliveries: 3 });
      await a!.vh.send('work', { body: 'x', properties: { persistent: true } });
      const [b] = await nodes(1, 10_000, prefix);
      expect(b!.vh.hasQueue('work')).toBe(true);
      expect((await b!.vh.count('work')).ready).toBe(1);
    });

    it('a receiver waiting on node A wakes as soon as a message is sent on node B', async () => {
      const [a, b] = await nodes(2);
      for (const n of [a!, b!]) await n.vh.declareQueue('wake');
      const started = Date.now();
      const waiting = a!.vh.receive('wake', { waitMs: 10_000 });
      await sleep(50);
      await b!.vh.send('wake', { body: 'hello' });
      const [d] = await waiting;
      expect(text(d!)).toBe('hello');
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('topology declared on one running node is seen by another running node; a durable queue deleted there goes here too', async () => {
      const [a, b] = await nodes(2);
      await a!.vh.declareExchange('events', 'topic', { durable: true });
      await a!.vh.declareQueue('audit');
      await a!.vh.bindQueue('audit', 'events', 'order.#');
      const deadline = Date.now() + 3_000;
      while (
        !(b!.vh.hasQueue('audit') && b!.vh.routing.bindings().some((x) => x.source === 'events')) &&
        Date.now() < deadline
      )
        await sleep(10);
      // Node B routes through what node A declared.
      expect((await b!.vh.publish('events', 'order.created', { body: 'o1' })).queues).toEqual(['audit']);
      const [d] = await a!.vh.receive('audit', { waitMs: 2_000 });
      expect(text(d!)).toBe('o1');
      await a!.vh.ack(d!);
      await a!.vh.deleteQueue('audit');
      const gone = Date.now() + 3_000;
      while (b!.vh.hasQueue('audit') && Date.now() < gone) await sleep(10);
      expect(b!.vh.hasQueue('audit')).toBe(false);
    });

    it("a node that opens does not delete another node's non-durable queue", async () => {
      const prefix = uniquePrefix();
      const [a] = await nodes(1, 10_000, prefix);
      await a!.vh.declareQueue('scratch', { durable: false });
      await a!.vh.send('scratch', { body: 'x' });
      await nodes(1, 10_000, prefix);
      expect((await a!.vh.count('scratch')).ready).toBe(1);
    });

    it('competing push consumers on two nodes handle every message exactly once when all ack', async () => {
      const [a, b] = await nodes(2);
      for (const n of [a!, b!]) await n.vh.declareQueue('work');
      const total = 600;
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < total; i++) sends.push((i % 2 ? a! : b!).vh.send('work', { body: String(i) }));
      await Promise.all(sends);
      const seen = new Map<string, number>();
      const perNode = [0, 0];
      [a!, b!].forEach((n, k) =>
        n.vh.consume(
          'work',
          (d) => {
            seen.set(text(d), (seen.get(text(d)) ?? 0) + 1);
            perNode[k]!++;
            void n.vh.ack(d);
          },
          { prefetch: 20 },
        ),
      );
      const deadline = Date.now() + 10_000;
      while (seen.size < total && Date.now() < deadline) await sleep(20);
      await sleep(50);
      expect(seen.size).toBe(total);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(perNode[0]).toBeGreaterThan(0);
      expect(perNode[1]).toBeGreaterThan(0);
      expect((await a!.vh.count('work')).ready).toBe(0);
    });

    it('competing pull receivers on two nodes, with leases and nacks, each message acked exactly once', async () => {
      const [a, b] = await nodes(2);
      for (const n of [a!, b!]) await n.vh.declareQueue('work');
      const total = 300;
      await Promise.all(Array.from({ length: total }, (_, i) => b!.vh.send('work', { body: String(i) })));
      const acked = new Map<string, number>();
      let nacks = 0;
      const worker = async (vh: VirtualHost) => {
        while (acked.size < total) {
          const batch = await vh.receive('work', { max: 7, leaseMs: 5_000 });
          if (batch.length === 0) {
            await sleep(5);
            continue;
          }
          for (const d of batch) {
            if (nacks < 30 && d.deliveryCount === 1 && Number(text(d)) % 10 === 0) {
              nacks++;
              await vh.nack(d);
              continue;
            }
            await vh.ack(d);
            acked.set(text(d), (acked.get(text(d)) ?? 0) + 1);
          }
        }
      };
      await Promise.race([
        Promise.all([worker(a!.vh), worker(b!.vh), worker(a!.vh), worker(b!.vh)]),
        sleep(15_000),
      ]);
      expect(acked.size).toBe(total);
      expect([...acked.values()].every((c) => c === 1)).toBe(true);
      expect(nacks).toBe(30);
    });

    it("a dead node's push deliveries return to the queue, count raised, once its liveness key lapses", async () => {
      const [a, b] = await nodes(2, 300);
      for (const n of [a!, b!]) await n.vh.declareQueue('work');
      for (let i = 0; i < 5; i++) await a!.vh.send('work', { body: String(i) });
      const gotByB: string[] = [];
      b!.vh.consume('work', (d) => gotByB.push(text(d)), { prefetch: 3 });
      while (gotByB.length < 3) await sleep(5);
      await b!.store.abandon(); // node B "dies": no release, no more liveness renewals
      expect((await a!.vh.count('work')).ready).toBe(2); // held ones are not ready
      const deadline = Date.now() + 3_000;
      while ((await a!.vh.count('work')).ready < 5 && Date.now() < deadline) await sleep(25);
      const back = await a!.vh.receive('work', { max: 10 });
      expect(back.map((d) => [text(d), d.deliveryCount, d.redelivered])).toEqual([
        ['0', 2, true],
        ['1', 2, true],
        ['2', 2, true],
        ['3', 1, false],
        ['4', 1, false],
      ]);
    });
  },
);
