import { QueueNotFoundError, type QueueRecordInput } from '@conveyor/core';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RedisStore } from '../src/index.js';
import { keysUnder, REDIS_URL, redisUnavailable, storesPerTest } from './redis-fixture.js';

const skip = await redisUnavailable();

const record = (body: string): QueueRecordInput => ({
  message: { exchange: '', routingKey: 'rk', properties: {}, body: Buffer.from(body) },
  enqueuedAt: 1,
  durable: true,
});

/** Everything ready in `queue`, taken by holder h in batches. */
async function takeAll(store: RedisStore, queue: string) {
  const all = [];
  for (;;) {
    const got = await store.take(queue, 500, { holder: 'h', now: Date.now() });
    if (got.length === 0) return all;
    all.push(...got);
  }
}

// A node's enqueues take ids from blocks it reserved and write plain batches in a MULTI of
// plain commands (queue-appender.ts, id-blocks.ts).
describe.skipIf(skip !== undefined)(`RedisStore enqueue${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { open, fresh } = storesPerTest();

  it("keeps a publisher's order across id blocks, with batches sent before the first is confirmed", async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, k) => `m${from + k}`);
    // 1,000 leave 24 ids of the first block of 1,024; then 30, which waits for the next block,
    // and 10, which would fit in the 24 but must wait behind it; then batches of 1 to 98.
    const bodies = [batch(0, 1000)];
    const ids = [await store.enqueue('q', bodies[0]!.map(record))];
    for (let i = 1000, n = 30; i < 5000; i += n, n = n === 30 ? 10 : (n * 7) % 99 || 1)
      bodies.push(batch(i, n));
    ids.push(...(await Promise.all(bodies.slice(1).map((b) => store.enqueue('q', b.map(record))))));
    const taken = await takeAll(store, 'q');
    expect(taken.map((m) => m.message.body.toString())).toEqual(bodies.flat());
    expect(taken.map((m) => m.id)).toEqual(ids.flat());
    const numbers = ids.flat().map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(await store.counts('q')).toMatchObject({ ready: 0, inFlight: numbers.length });
  });

  it("gives two nodes' enqueues to one queue unique ids, each node's growing", async () => {
    const prefix = fresh();
    const [a, b] = [await open(prefix), await open(prefix)];
    await a.createQueue('q');
    const mine = new Map<RedisStore, string[]>([
      [a, []],
      [b, []],
    ]);
    for (let i = 0; i < 30; i++)
      for (const node of [a, b])
        mine.get(node)!.push(...(await node.enqueue('q', [record(`${i}`), record('x')])));
    for (const ids of mine.values())
      expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((x, y) => x - y));
    const all = [...mine.values()].flat();
    expect(new Set(all).size).toBe(120);
    const taken = await takeAll(a, 'q');
    expect(taken.map((m) => m.id).sort()).toEqual([...all].sort());
  });

  it('refuses a plain batch into a queue another node deleted, and leaves none of its records or ids behind', async () => {
    const prefix = fresh();
    const [a, b] = [await open(prefix), await open(prefix)];
    await a.createQueue('q');
    const [first] = await a.enqueue('q', [record('before')]);
    await b.deleteQueue('q');
    await expect(a.enqueue('q', [record('lost'), record('too')])).rejects.toBeInstanceOf(QueueNotFoundError);
    // Only the queue's last id is left (it outlives the delete by a minute, see reserveIds).
    expect(await keysUnder(`${prefix}{q:q}:*`)).toEqual([`${prefix}{q:q}:seq`]);
    await b.createQueue('q');
    const [later] = await a.enqueue('q', [record('after')]);
    expect(Number(later)).toBeGreaterThan(Number(first));
    expect((await takeAll(b, 'q')).map((m) => m.message.body.toString())).toEqual(['after']);
  });

  it('after SCRIPT FLUSH every script runs again (EVALSHA, then EVAL) and a MULTI still counts its batch (it carries its script whole)', async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    await store.enqueue('q', [record('a')]);
    const admin = new Redis(REDIS_URL);
    try {
      await admin.script('FLUSH');
    } finally {
      admin.disconnect();
    }
    await store.enqueue('q', [record('bb'), record('ccc')]);
    expect(await store.counts('q')).toMatchObject({ ready: 3, bytes: 6 });
    expect((await takeAll(store, 'q')).map((m) => m.message.body.toString())).toEqual(['a', 'bb', 'ccc']);
  });
});
