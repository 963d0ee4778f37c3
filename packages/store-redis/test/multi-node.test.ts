/**
 * Two brokers in one process, each with its own RedisStore on the same prefix: two nodes. Over one
 * Redis, and over a 3-master Redis Cluster the file starts itself (issue 17).
 */
import {
  Broker,
  deadLetterToQueue,
  ResourceLockedError,
  type Delivery,
  type VirtualHost,
} from '@conveyor/core';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../src/index.js';
import { clusterUnavailable, masterPortOf, startCluster, type TestCluster } from './redis-cluster-fixture.js';
import {
  deletePrefix,
  REDIS_URL,
  redisStore as singleRedisStore,
  redisUnavailable,
  uniquePrefix,
} from './redis-fixture.js';

const skips = { single: await redisUnavailable(), cluster: clusterUnavailable() };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const text = (d: Delivery) => Buffer.from(d.message.body).toString();

for (const target of ['single', 'cluster'] as const) {
  const skip = skips[target];
  let cluster: TestCluster | undefined;
  const redisStore = (prefix: string, options: Omit<RedisStoreOptions, 'prefix' | 'url'> = {}) =>
    cluster ? new RedisStore({ url: cluster.url, prefix, ...options }) : singleRedisStore(prefix, options);
  const label = target === 'single' ? 'one Redis' : 'a 3-master Redis Cluster';

  describe.skipIf(skip !== undefined)(
    `several nodes over ${label}${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      if (target === 'cluster') {
        beforeAll(async () => {
          cluster = await startCluster();
        }, 60_000);
        afterAll(async () => cluster?.stop());
      }
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
        for (const p of prefixes.splice(0)) if (!cluster) await deletePrefix(p); // a test cluster is thrown away
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

      // A node with room takes its own publishes: waking the others would only make them race it
      // for the batch, round trips that mostly come back empty.
      it("a node's consumer with room takes that node's publishes; the other nodes are woken only for what it has no room for", async () => {
        const [a, b] = await nodes(2);
        for (const n of [a!, b!]) await n.vh.declareQueue('local');
        const got = { a: [] as string[], b: [] as string[] };
        a!.vh.consume('local', (d) => void got.a.push(text(d)), { prefetch: 100 });
        b!.vh.consume('local', (d) => void got.b.push(text(d)), { prefetch: 100 });
        await sleep(100); // both listen
        const send = (from: typeof a, n: number, tag: string) =>
          Promise.all(Array.from({ length: n }, (_, i) => from!.vh.send('local', { body: `${tag}${i}` })));
        await send(a, 20, 'a');
        await expect.poll(() => got.a.length).toBe(20);
        await sleep(200);
        expect(got.b).toEqual([]);
        // A's consumer holds 20 of 100: 90 more go to A's 80 of room, the other 10 to B.
        await send(a, 90, 'x');
        await expect.poll(() => got.a.length + got.b.length, { timeout: 5_000 }).toBe(110);
        expect(got.a.length).toBe(100);
        expect(new Set([...got.a, ...got.b]).size).toBe(110);
      });

      it('a node whose consumer has no room by the time it could take what it sent wakes the others for it', async () => {
        const [a, b] = await nodes(2);
        for (const n of [a!, b!]) await n.vh.declareQueue('handed');
        const gotB: string[] = [];
        const onA = a!.vh.consume('handed', () => undefined, { prefetch: 100 });
        b!.vh.consume('handed', (d) => void gotB.push(text(d)), { prefetch: 100 });
        await sleep(100);
        // The send finds A's consumer with room, so its enqueue wakes nobody; by the take, the
        // consumer is paused (flow control).
        const enqueue = a!.store.enqueue.bind(a!.store);
        a!.store.enqueue = (queue, records, options) => {
          if (options?.taking) onA.pause();
          return enqueue(queue, records, options);
        };
        await a!.vh.send('handed', { body: 'for b' });
        await expect.poll(() => gotB, { timeout: 5_000 }).toEqual(['for b']);
      });

      // Only the node that delays a message has a timer for it: the others hear of it in the wake-up.
      it('a message sent with a delay on a node without consumers reaches a consumer on another node when due', async () => {
        const [a, b] = await nodes(2);
        for (const n of [a!, b!]) await n.vh.declareQueue('later');
        const got: { body: string; at: number }[] = [];
        b!.vh.consume('later', (d) => void got.push({ body: text(d), at: Date.now() }), { autoAck: true });
        await sleep(100); // B listens
        const sent = Date.now();
        await a!.vh.send('later', { body: 'due', delayMs: 400 });
        await expect.poll(() => got.length, { timeout: 5_000 }).toBe(1);
        expect(got[0]!.body).toBe('due');
        expect(got[0]!.at - sent).toBeGreaterThanOrEqual(390);
      });

      it('a message a node returns with a delay reaches a consumer on another node when due', async () => {
        const [a, b] = await nodes(2);
        for (const n of [a!, b!]) await n.vh.declareQueue('retry');
        await a!.vh.send('retry', { body: 'again' });
        const [d] = await a!.vh.receive('retry', { leaseMs: 10_000 });
        const got: string[] = [];
        b!.vh.consume('retry', (m) => void got.push(`${text(m)} ${m.deliveryCount}`), { autoAck: true });
        await sleep(100);
        await a!.vh.nack(d!, { delayMs: 400 });
        await sleep(200);
        expect(got).toEqual([]);
        await expect.poll(() => got, { timeout: 5_000 }).toEqual(['again 2']);
      });

      it('a consumer that starts on node B after node A delayed a message and closed gets it when due', async () => {
        const [a, b] = await nodes(2);
        for (const n of [a!, b!]) await n.vh.declareQueue('orphan', { durable: true });
        await a!.vh.send('orphan', { body: 'kept', delayMs: 600, properties: { persistent: true } });
        await brokers.shift()!.close(); // A's timer goes with it
        const got: string[] = [];
        b!.vh.consume('orphan', (m) => void got.push(text(m)), { autoAck: true });
        await sleep(300);
        expect(got).toEqual([]);
        await expect.poll(() => got, { timeout: 5_000 }).toEqual(['kept']);
      });

      it("only a node with a consumer or a waiting receiver on a queue listens for its wake-ups; a consumer still gets every other node's sends", async (ctx) => {
        if (cluster) return ctx.skip(); // sharded channels are counted per shard: one Redis shows the same
        const prefix = uniquePrefix();
        const [a, b] = await nodes(2, 10_000, prefix);
        for (const n of [a!, b!]) await n.vh.declareQueue('listened');
        const redis = new Redis(REDIS_URL);
        try {
          const listeners = async () => {
            const channels = (await redis.pubsub('CHANNELS', `${prefix}*wake`)) as string[];
            if (channels.length === 0) return 0;
            const counts = (await redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
            return counts.filter((_, i) => i % 2 === 1).reduce<number>((n, c) => n + Number(c), 0);
          };
          await sleep(100);
          expect(await listeners()).toBe(0);
          const got: string[] = [];
          const handle = b!.vh.consume(
            'listened',
            (d) => {
              got.push(text(d));
            },
            { autoAck: true },
          );
          await expect.poll(listeners).toBe(1);
          for (const body of ['1', '2', '3']) await a!.vh.send('listened', { body });
          await expect.poll(() => got.sort()).toEqual(['1', '2', '3']);
          const waiting = a!.vh.receive('listened', { waitMs: 5_000 });
          await expect.poll(listeners).toBe(2);
          await handle.cancel();
          await b!.vh.send('listened', { body: 'for a' });
          expect((await waiting).map(text)).toEqual(['for a']);
        } finally {
          redis.disconnect();
        }
      });

      it('topology declared on one running node is seen by another running node; a durable queue deleted there goes here too', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareExchange('events', 'topic', { durable: true });
        await a!.vh.declareQueue('audit');
        await a!.vh.bindQueue('audit', 'events', 'order.#');
        const deadline = Date.now() + 3_000;
        while (
          !(b!.vh.hasQueue('audit') && b!.vh.bindings().some((x) => x.source === 'events')) &&
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

      /** Polls until `check` holds (topology changes reach other nodes through Redis pub/sub). */
      async function until(check: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
        const deadline = Date.now() + ms;
        while (!(await check()) && Date.now() < deadline) await sleep(10);
      }

      it('a queue deleted and declared anew with other options on one node is the new queue on the others', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareQueue('dead');
        await a!.vh.declareQueue('jobs');
        await until(() => b!.vh.hasQueue('jobs') && b!.vh.hasQueue('dead'));
        // Back to back: node B may hear both notes only after the new record is written.
        await a!.vh.deleteQueue('jobs');
        await a!.vh.declareQueue('jobs', { deadLetter: deadLetterToQueue('dead') });
        await a!.vh.bindQueue('jobs', 'amq.direct', 'job');
        const deadLetter = async () => (await b!.vh.queueInfo('jobs')).options.deadLetter;
        await until(
          async () =>
            (await deadLetter()) !== undefined && b!.vh.bindings().some((x) => x.routingKey === 'job'),
        );
        expect(await deadLetter()).toEqual({ exchange: '', routingKey: 'dead' });
        // Node B routes through the new binding and dead-letters by the new options.
        expect((await b!.vh.publish('amq.direct', 'job', { body: 'j1' })).queues).toEqual(['jobs']);
        const [d] = await b!.vh.receive('jobs', { waitMs: 2_000 });
        await b!.vh.nack(d!, { requeue: false });
        const [dl] = await a!.vh.receive('dead', { waitMs: 2_000 });
        expect(text(dl!)).toBe('j1');
      });

      it('transient and exclusive topology is shared too: node B routes to what node A declared, and may not use an exclusive queue', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareExchange('fan', 'fanout', { durable: false });
        const excl = await a!.vh.declareQueue('', { durable: false, exclusive: true }, { owner: 'conn-1' });
        await a!.vh.declareQueue('scratch', { durable: false });
        await a!.vh.bindQueue(excl.name, 'fan', '', {}, 'conn-1');
        await a!.vh.bindQueue('scratch', 'fan', '');
        await until(() => b!.vh.bindings().filter((x) => x.source === 'fan').length === 2);
        expect((await b!.vh.publish('fan', '', { body: 'to all' })).queues.sort()).toEqual(
          [excl.name, 'scratch'].sort(),
        );
        const [d] = await a!.vh.receive(excl.name, { waitMs: 2_000 }, 'conn-1');
        expect(text(d!)).toBe('to all');
        // RabbitMQ: another connection's exclusive queue is RESOURCE_LOCKED.
        await expect(b!.vh.declareQueue(excl.name, {}, { passive: true, owner: 'conn-1' })).rejects.toThrow(
          ResourceLockedError,
        );
        await expect(b!.vh.receive(excl.name, {}, 'conn-1')).rejects.toThrow(ResourceLockedError);
      });

      it('a policy set or removed on one running node applies on the others (issue 16, item 7)', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareQueue('orders.eu');
        await expect.poll(() => b!.vh.hasQueue('orders.eu')).toBe(true);
        await a!.vh.setPolicy({
          name: 'short',
          pattern: '^orders\\.',
          applyTo: 'queues',
          priority: 0,
          definition: { maxLength: 1, overflow: 'reject-publish' },
        });
        await expect.poll(async () => (await b!.vh.queueInfo('orders.eu')).policy).toBe('short');
        expect(b!.vh.policies().map((p) => p.name)).toEqual(['short']);
        expect((await b!.vh.send('orders.eu', { body: '1' })).rejected).toEqual([]);
        expect((await b!.vh.send('orders.eu', { body: '2' })).rejected).toEqual(['orders.eu']);
        await a!.vh.deletePolicy('short');
        await expect.poll(async () => (await b!.vh.queueInfo('orders.eu')).policy).toBeUndefined();
      });

      it('expiry counts the consumers of every node: a queue used only on node B does not expire on A (issue 17)', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareQueue('lease-expiring', { expiresMs: 300 });
        await expect.poll(() => b!.vh.hasQueue('lease-expiring')).toBe(true);
        const handle = b!.vh.consume('lease-expiring', () => undefined);
        await sleep(900); // three expiry periods: A counts B's consumer and keeps the queue
        expect(a!.vh.hasQueue('lease-expiring')).toBe(true);
        await handle.cancel();
        await expect.poll(() => a!.vh.hasQueue('lease-expiring'), { timeout: 3000 }).toBe(false);
        await expect.poll(() => b!.vh.hasQueue('lease-expiring'), { timeout: 3000 }).toBe(false);
      });

      it('auto-delete counts every node: the queue goes when the last consumer anywhere leaves (issue 17)', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareQueue('auto-shared', { autoDelete: true, durable: false });
        await expect.poll(() => b!.vh.hasQueue('auto-shared')).toBe(true);
        const onA = a!.vh.consume('auto-shared', () => undefined);
        const onB = b!.vh.consume('auto-shared', () => undefined);
        await sleep(100);
        await onA.cancel(); // the declaring node's last consumer: B still has one
        await sleep(300);
        expect(a!.vh.hasQueue('auto-shared')).toBe(true);
        await onB.cancel(); // the last one anywhere, on the other node
        await expect.poll(() => a!.vh.hasQueue('auto-shared'), { timeout: 3000 }).toBe(false);
        await expect.poll(() => b!.vh.hasQueue('auto-shared'), { timeout: 3000 }).toBe(false);
      });

      it('past the soft depth limit, publishers wait for their confirms until consumers on another node drain it (issue 17)', async () => {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        const open = async (): Promise<VirtualHost> => {
          const broker = await Broker.open({ store: redisStore(prefix), queueDepthSoftLimit: 100 });
          brokers.push(broker);
          return broker.vhost();
        };
        const [a, b] = [await open(), await open()];
        await a.declareQueue('deep');
        await expect.poll(() => b.hasQueue('deep')).toBe(true);
        // 50: below the limit, confirmed at once.
        await Promise.all(Array.from({ length: 50 }, (_, i) => a.send('deep', { body: `m${i}` })));
        let confirmed = 0;
        const late = Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            a.send('deep', { body: `n${i}` }).then((r) => {
              confirmed++;
              return r;
            }),
          ),
        );
        await sleep(500);
        // Stored (never dropped), but not confirmed while 150 wait and nobody consumes.
        expect((await a.count('deep')).ready).toBe(150);
        expect(confirmed).toBe(0);
        let received = 0;
        b.consume('deep', () => received++, { autoAck: true });
        const results = await late;
        expect(results.every((r) => r.rejected.length === 0 && r.queues.length === 1)).toBe(true);
        await expect.poll(() => received).toBe(150);
      });

      it('exchange deletions and unbinds on one node are followed by the others', async () => {
        const [a, b] = await nodes(2);
        await a!.vh.declareExchange('events', 'topic', { durable: true });
        await a!.vh.declareExchange('side', 'direct', { durable: true });
        await a!.vh.declareQueue('audit');
        await a!.vh.bindQueue('audit', 'events', 'order.#');
        await a!.vh.bindQueue('audit', 'side', 'k');
        await until(() => b!.vh.bindings().filter((x) => x.destination.name === 'audit').length === 2);
        await a!.vh.unbindQueue('audit', 'events', 'order.#');
        await a!.vh.deleteExchange('side');
        await until(() => !b!.vh.hasExchange('side') && b!.vh.bindings().length === 0);
        expect(b!.vh.hasExchange('side')).toBe(false);
        expect(b!.vh.bindings().filter((x) => x.destination.name === 'audit')).toEqual([]);
        expect((await b!.vh.publish('events', 'order.created', { body: 'x' })).unroutable).toBe(true);
        // And a node that opens later sees the same.
        const [c] = await nodes(1, 10_000, prefixes[prefixes.length - 1]);
        expect(c!.vh.hasExchange('side')).toBe(false);
        expect(c!.vh.hasExchange('events')).toBe(true);
      });

      it("a dead node's exclusive and transient queues and exchanges go from the store and every node; durable ones stay", async () => {
        const [a, b] = await nodes(2, 300);
        await b!.vh.declareExchange('fan', 'fanout', { durable: false });
        await b!.vh.declareExchange('keep', 'fanout', { durable: true });
        await b!.vh.declareQueue('mine', { durable: false, exclusive: true }, { owner: 'conn-9' });
        await b!.vh.declareQueue('scratch', { durable: false });
        await b!.vh.declareQueue('orders', { durable: true });
        await b!.vh.bindQueue('orders', 'keep', '');
        await b!.vh.bindQueue('scratch', 'keep', '');
        await b!.vh.send('mine', { body: 'x' });
        await until(() => a!.vh.hasQueue('mine') && a!.vh.bindings().length === 2);
        expect(a!.vh.hasQueue('scratch')).toBe(true);
        await b!.store.abandon(); // node B dies
        await until(() => !a!.vh.hasQueue('mine') && !a!.vh.hasQueue('scratch') && !a!.vh.hasExchange('fan'));
        expect(a!.vh.hasQueue('mine')).toBe(false);
        expect(a!.vh.hasQueue('scratch')).toBe(false);
        expect(a!.vh.hasExchange('fan')).toBe(false);
        expect(a!.vh.hasQueue('orders')).toBe(true);
        expect(a!.vh.bindings().map((x) => `${x.source}->${x.destination.name}`)).toEqual(['keep->orders']);
        // Gone from Redis too: a node that opens now finds only the durable topology.
        const [c] = await nodes(1, 300, prefixes[prefixes.length - 1]);
        expect(c!.vh.hasQueue('mine')).toBe(false);
        expect(c!.vh.hasQueue('orders')).toBe(true);
        expect(await c!.store.listQueues()).not.toContain('%2F/mine');
      });

      it("a node that closes takes its transient queues with it, as a RabbitMQ node's own transient queues go when it stops", async () => {
        const [a, b] = await nodes(2);
        await b!.vh.declareQueue('scratch', { durable: false });
        await until(() => a!.vh.hasQueue('scratch'));
        await brokers[1]!.close();
        await until(() => !a!.vh.hasQueue('scratch'));
        expect(a!.vh.hasQueue('scratch')).toBe(false);
      });

      it("store-wide notes go by sharded pub/sub on the metadata's shard, never over the cluster bus (whose links drop notes while they connect)", async (ctx) => {
        if (!cluster) return ctx.skip(); // one Redis has no bus: its notes are classic
        const prefix = uniquePrefix();
        const [a, b] = await nodes(2, 10_000, prefix);
        const channel = `{${prefix}meta}:meta-changed`;
        const port = await masterPortOf(cluster, `${prefix}meta`);
        const shard = new Redis({ port, host: '127.0.0.1' });
        const listener = new Redis({ port, host: '127.0.0.1' });
        const masters = cluster.ports.map((p) => new Redis({ port: p, host: '127.0.0.1' }));
        try {
          // Both nodes listen on the shard that holds the metadata, and on no classic channel.
          expect(await shard.call('PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 2]);
          for (const master of masters) expect(await master.pubsub('CHANNELS', `${prefix}*`)).toEqual([]);
          const heard: string[] = [];
          listener.on('smessage', (_channel: string, key: string) => heard.push(key));
          await listener.ssubscribe(channel);
          await a!.vh.declareQueue('noted');
          await expect.poll(() => heard.some((key) => key.includes('noted'))).toBe(true);
          await expect.poll(() => b!.vh.hasQueue('noted')).toBe(true);
        } finally {
          for (const r of [shard, listener, ...masters]) r.disconnect();
        }
      });

      it('a node whose shard subscriptions were cut catches up: it re-reads the topology and wakes a receiver whose wake-up was lost', async (ctx) => {
        if (!cluster) return ctx.skip(); // one Redis: the reconnect path is the client's own 'ready'
        const [a, b] = await nodes(2);
        await a!.vh.declareQueue('cut');
        await expect.poll(() => b!.vh.hasQueue('cut')).toBe(true);
        const told: string[] = [];
        b!.store.cluster.watchMeta((key) => told.push(key));
        const waiting = b!.vh.receive('cut', { waitMs: 8_000 });
        await sleep(100);
        const masters = cluster.ports.map((p) => new Redis({ port: p, host: '127.0.0.1' }));
        try {
          // Every subscriber connection goes; the send's wake-up is published before B resubscribes.
          for (const master of masters) await master.client('KILL', 'TYPE', 'pubsub');
          await a!.vh.send('cut', { body: 'sent into the gap' });
          const started = Date.now();
          expect((await waiting).map(text)).toEqual(['sent into the gap']);
          expect(Date.now() - started).toBeLessThan(4_000);
          await expect.poll(() => told.includes('')).toBe(true);
          // And B hears notes again.
          await a!.vh.declareQueue('after-the-cut');
          await expect.poll(() => b!.vh.hasQueue('after-the-cut')).toBe(true);
        } finally {
          for (const r of masters) r.disconnect();
        }
      });

      it('a message sent on node B to a queue node A declared a moment ago is not lost to propagation', async () => {
        const [a, b] = await nodes(2);
        for (let i = 0; i < 5; i++) {
          const info = await a!.vh.declareQueue('', { durable: false, exclusive: true }, { owner: 'c' });
          // No waiting: B routes by name through the default exchange right away.
          expect((await b!.vh.publish('', info.name, { body: `r${i}` })).queues).toEqual([info.name]);
          await b!.vh.send(info.name, { body: 'direct' });
          expect((await a!.vh.count(info.name)).ready).toBe(2);
        }
      });

      it('a node that only publishes is not blocked by messages other nodes hold (they live in Redis)', async () => {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        const publisher = await Broker.open({ store: redisStore(prefix), memoryHighWatermarkBytes: 1_000 });
        brokers.push(publisher);
        const [consumer] = await nodes(1, 10_000, prefix);
        await publisher.vhost().declareQueue('q');
        for (let i = 0; i < 12; i++) await publisher.vhost().send('q', { body: Buffer.alloc(100) });
        expect(publisher.blocked).toBe(false);
        const all = await consumer!.vh.receive('q', { max: 12 });
        expect(all).toHaveLength(12);
        await consumer!.vh.ack(all);
        expect(publisher.memory.bytes).toBe(0);
      });

      it('nodes see each other live, hear of a departure, exchange signals, and take a metadata entry exactly once', async () => {
        const [a, b] = await nodes(2, 300);
        expect([...(await a!.store.cluster.liveNodes())].sort()).toEqual(
          [a!.store.nodeId, b!.store.nodeId].sort(),
        );
        const heard: string[] = [];
        const signals: string[] = [];
        a!.store.cluster.watchNodes((node) => heard.push(node));
        a!.store.cluster.onSignal('hello', (p) => signals.push(p));
        await sleep(50); // the subscription is under way
        await b!.store.cluster.signal('hello', 'from b');
        await a!.store.putMeta('will/x', { n: 1 });
        const taken = await Promise.all([a!.store.takeMeta('will/x'), b!.store.takeMeta('will/x')]);
        expect(taken.filter((v) => v !== undefined)).toEqual([{ n: 1 }]);
        await b!.store.abandon();
        await until(() => heard.length > 0);
        expect(heard).toContain(b!.store.nodeId);
        expect(signals).toEqual(['from b']);
        expect([...(await a!.store.cluster.liveNodes())]).toEqual([a!.store.nodeId]);
      });

      it('publishers are paced to a consumer with room: confirms do not run ahead of deliveries', async () => {
        const [a] = await nodes(1);
        await a!.vh.declareQueue('paced');
        let handled = 0;
        a!.vh.consume(
          'paced',
          (d) => {
            handled++;
            void a!.vh.ack(d);
          },
          { prefetch: 20 },
        );
        const total = 3_000;
        let next = 0;
        const publisher = async () => {
          while (next < total) {
            next++;
            await a!.vh.send('paced', { body: Buffer.alloc(64) });
          }
        };
        await Promise.all(Array.from({ length: 64 }, publisher));
        // Every send is confirmed; without pacing most of them would still be waiting in the queue.
        const { ready } = await a!.vh.count('paced');
        expect(ready).toBeLessThan(total / 4);
        await until(() => handled === total, 10_000);
        expect(handled).toBe(total);
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
}
