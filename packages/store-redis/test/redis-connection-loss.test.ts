import { StoreError, type QueueRecordInput } from '@conveyor/core';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore, type RedisConnectionEvent } from '../src/index.js';
import { cuttingProxy } from './cutting-proxy.js';
import { REDIS_URL, redisUnavailable, storesPerTest } from './redis-fixture.js';

const skip = await redisUnavailable();

const record = (body: string, extra: Partial<QueueRecordInput> = {}): QueueRecordInput => ({
  message: { exchange: '', routingKey: 'q', properties: {}, body: Buffer.from(body) },
  enqueuedAt: Date.now(),
  durable: true,
  ...extra,
});

describe.skipIf(skip !== undefined)(
  `RedisStore over a connection that fails${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const { fresh } = storesPerTest();
    const proxies: Awaited<ReturnType<typeof cuttingProxy>>[] = [];
    const stores: RedisStore[] = [];
    // Each store closes while its proxy still passes its commands on.
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close();
      for (const p of proxies.splice(0)) await p.close();
    });

    async function throughProxy(holderTtlMs = 10_000) {
      const proxy = await cuttingProxy(REDIS_URL);
      proxies.push(proxy);
      const prefix = fresh();
      const errors: unknown[] = [];
      const outages: RedisConnectionEvent[] = [];
      const store = new RedisStore({
        url: proxy.url,
        prefix,
        holderTtlMs,
        onError: (err) => errors.push(err),
        onConnection: (event) => outages.push(event),
      });
      stores.push(store);
      await store.open();
      await store.createQueue('q');
      return { proxy, store, base: `${prefix}{q:q}:`, errors, outages };
    }

    it('a script Redis ran whose reply the connection lost is not sent again: the call fails and the counts stay true', async () => {
      const { proxy, store, base } = await throughProxy();
      const later = Date.now() + 60_000;
      // The enqueue script in Redis's cache first, so that the cut call runs (not a NOSCRIPT).
      await store.enqueue('q', [record('warm', { readyAt: later })]);
      proxy.cutReplyTo('cut-here');
      // A delayed record goes by the enqueue script (a plain batch is a MULTI, which ioredis
      // never sends again). Run twice, it would count the message twice.
      const sent = store.enqueue('q', [record('cut-here', { readyAt: later })]);
      await expect(sent).rejects.toBeInstanceOf(StoreError);
      const redis = new Redis(REDIS_URL);
      try {
        expect(await redis.zcard(`${base}delayed`)).toBe(2);
        // Redis took it, though the caller was told it failed (at least once): counted once.
        await expect.poll(async () => (await store.counts('q')).delayed).toBe(2);
      } finally {
        redis.disconnect();
      }
    });

    /** A store whose take by holder consumer-1 ran in Redis and lost its reply. */
    async function lostTake(holderTtlMs?: number) {
      const { proxy, store } = await throughProxy(holderTtlMs);
      await store.enqueue('q', [record('warm'), record('a')]);
      const [warm] = await store.take('q', 1, { holder: 'warm', now: Date.now() });
      await store.ack('q', [warm?.id ?? ''], 'warm');
      proxy.cutReplyTo('consumer-1');
      await expect(store.take('q', 5, { holder: 'consumer-1', now: Date.now() })).rejects.toBeInstanceOf(
        StoreError,
      );
      await expect.poll(async () => (await store.counts('q')).inFlight).toBe(1);
      return store;
    }

    // An AMQP channel's basic.get holds by the channel's holder, which releaseHolder ends at close.
    it('a take Redis ran whose reply was lost: its holder holds what its caller never got, and releaseHolder returns it', async () => {
      const store = await lostTake();
      expect(await store.releaseHolder('consumer-1')).toBe(1);
      expect(await store.counts('q')).toMatchObject({ ready: 1, inFlight: 0 });
    });

    it('a take whose reply was lost is undone before its holder takes again, which then gets what it took', async () => {
      const store = await lostTake();
      const again = await store.take('q', 5, { holder: 'consumer-1', now: Date.now() });
      expect(again.map((m) => [m.message.body.toString(), m.deliveryCount])).toEqual([['a', 2]]);
      expect(await store.counts('q')).toMatchObject({ ready: 0, inFlight: 1 });
    });

    it('a take whose reply was lost, its holder gone (a consumer that went), is undone on the liveness timer', async () => {
      const store = await lostTake(600);
      await expect
        .poll(async () => store.counts('q'), { timeout: 5_000 })
        .toMatchObject({ ready: 1, inFlight: 0 });
    });

    it('an ack that fails while Redis is unreachable leaves nothing held: what it did not settle is delivered again', async () => {
      const { proxy, store } = await throughProxy(600);
      await store.enqueue('q', [record('a')]);
      const [a] = await store.take('q', 1, { holder: 'consumer', now: Date.now() });
      await proxy.refuse();
      await expect(store.ack('q', [a?.id ?? ''], 'consumer')).rejects.toBeInstanceOf(StoreError);
      await proxy.accept();
      await expect
        .poll(async () => store.counts('q'), { timeout: 10_000 })
        .toMatchObject({ ready: 1, inFlight: 0 });
      const [again] = await store.take('q', 1, { holder: 'next', now: Date.now() });
      expect([again?.id, again?.deliveryCount]).toEqual([a?.id, 2]);
    });

    it('a release or a releaseHolder that fails while Redis is unreachable is retried until Redis takes it', async () => {
      // Housekeeping every second; the node's liveness key outlives the outage.
      const { proxy, store, base } = await throughProxy(3_000);
      await store.enqueue('q', [record('a'), record('b')]);
      const [a] = await store.take('q', 1, { holder: 'consumer', now: Date.now() });
      await store.take('q', 1, { holder: 'basic-get', now: Date.now() });
      await proxy.refuse();
      // Both at once: each fails after ioredis's third reconnect, which come slower and slower.
      const [release, releaseHolder] = await Promise.allSettled([
        store.release('q', [a?.id ?? ''], 'consumer'),
        store.releaseHolder('basic-get'),
      ]);
      for (const settled of [release, releaseHolder]) {
        expect(settled.status).toBe('rejected');
        expect((settled as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
      }
      await proxy.accept();
      const redis = new Redis(REDIS_URL);
      try {
        const counts = async () => redis.hmget(`${base}counts`, 'ready', 'inFlight');
        await expect.poll(counts, { timeout: 10_000 }).toEqual(['2', '0']);
        expect(await redis.exists(`${base}holding`)).toBe(0);
      } finally {
        redis.disconnect();
      }
    });

    it('an outage is reported once per connection when it begins and once when it ends, however many reconnects fail', async () => {
      const { proxy, store, errors, outages } = await throughProxy();
      await proxy.refuse();
      // ioredis retries after 50, 100, 150 … ms: some eight failed reconnects per connection.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const lost = (connection: string) => ({ connection, state: 'lost', error: expect.anything() });
      expect(outages).toEqual(expect.arrayContaining([lost('commands'), lost('subscriptions')]));
      expect(outages).toHaveLength(2);
      await proxy.accept();
      await expect.poll(() => outages.length, { timeout: 10_000 }).toBe(4);
      for (const connection of ['commands', 'subscriptions']) {
        const restored = outages.filter((e) => e.connection === connection && e.state === 'restored');
        expect(restored).toEqual([
          { connection, state: 'restored', downMs: expect.any(Number), failedReconnects: expect.any(Number) },
        ]);
        const [back] = restored as Extract<RedisConnectionEvent, { state: 'restored' }>[];
        expect(back?.downMs).toBeGreaterThanOrEqual(1_500); // about as long as Redis was unreachable
        expect(back?.failedReconnects).toBeGreaterThanOrEqual(3);
      }
      // None of the failed reconnects reached onError, and the store serves again.
      expect(errors).toEqual([]);
      await store.enqueue('q', [record('after')]);
      expect((await store.counts('q')).ready).toBe(1);
    });
  },
);
