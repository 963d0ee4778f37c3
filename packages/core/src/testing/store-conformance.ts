/**
 * The behaviour every `MessageStore` owes the engine, as a vitest suite
 * (`@conveyor/core/testing/store`): a store's own test file calls `describeStoreConformance`
 * with a factory. The memory, LMDB and Redis stores all run it unchanged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerClosedError, QueueNotFoundError } from '../errors.js';
import type { QueueRecordInput } from '../message.js';
import type { MessageStore } from '../store/message-store.js';
import { describeClusterConformance } from './store-conformance-cluster.js';
import { describePriorityConformance } from './store-conformance-priority.js';

/** What a store's test file hands the suite: a store that is not yet open, and how to reopen it. */
export interface StoreHarness {
  store: MessageStore;
  /** A new, unopened store over the same storage (durable stores only); the suite closes the old one. */
  reopen?: () => MessageStore;
  /**
   * Shared stores (with a `cluster`): another unopened store over the same storage, as a second
   * node would open it. The storage outlives each store, so a reopen is one node restarting:
   * transient records and queues without durable messages stay.
   */
  peer?: () => MessageStore;
  /**
   * Ids are unique and grow within each queue only (a sharded store keeps no store-wide counter);
   * the engine names a message by queue and id. Otherwise they also grow across queues.
   */
  idsPerQueue?: boolean;
  cleanup(): Promise<void>;
}

export type StoreFactory = () => StoreHarness | Promise<StoreHarness>;

export function record(body: string, extra: Partial<QueueRecordInput> = {}): QueueRecordInput {
  return {
    message: { exchange: 'ex', routingKey: 'rk', properties: {}, body: Buffer.from(body) },
    enqueuedAt: 1_000,
    durable: true,
    ...extra,
  };
}

const text = (m: { message: { body: Uint8Array } }): string => Buffer.from(m.message.body).toString();
const H1 = 'holder-1';
const H2 = 'holder-2';

export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`MessageStore conformance: ${name}`, () => {
    let harness: StoreHarness;
    let store: MessageStore;
    let now = Date.now();
    const take = (q: string, max: number, holder = H1, leaseUntil?: number, at = now) =>
      store.take(q, max, { holder, leaseUntil, now: at });
    const fill = async (q: string, ...bodies: string[]) =>
      store.enqueue(
        q,
        bodies.map((b) => record(b)),
      );

    beforeEach(async () => {
      now = Date.now();
      harness = await factory();
      store = harness.store;
      await store.open();
      await store.createQueue('q1');
      await store.createQueue('q2');
    });

    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it('hands out ready messages in FIFO order and raises the delivery count at delivery', async () => {
      const ids = await fill('q1', 'a', 'b', 'c');
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      const first = await take('q1', 2);
      expect(first.map(text)).toEqual(['a', 'b']);
      expect(first.map((m) => m.id)).toEqual(ids.slice(0, 2));
      expect(first.map((m) => m.deliveryCount)).toEqual([1, 1]);
      expect((await take('q1', 10)).map(text)).toEqual(['c']);
      expect(await take('q1', 10)).toEqual([]);
    });

    it('assigns ids that grow numerically (across queues unless the store keeps them per queue)', async () => {
      const a = await fill('q1', 'a');
      const b = await fill('q2', 'b', 'c');
      const a2 = await fill('q1', 'd', 'e');
      const grows = (ids: string[]) => {
        const n = ids.map(Number);
        expect(n.every((x) => Number.isSafeInteger(x))).toBe(true);
        expect(n).toEqual([...n].sort((x, y) => x - y));
        expect(new Set(n).size).toBe(n.length);
      };
      grows([...a, ...a2]);
      grows(b);
      if (!harness.idsPerQueue) grows([...a, ...b, ...a2]);
    });

    it("gives a recreated queue ids above its predecessor's (a stale ack cannot hit a new message)", async () => {
      const before = await fill('q1', 'a', 'b');
      await store.deleteQueue('q1');
      await store.createQueue('q1');
      const after = await fill('q1', 'c');
      expect(Number(after[0])).toBeGreaterThan(Math.max(...before.map(Number)));
    });

    it('keeps the record as enqueued: properties, times, carried delivery count', async () => {
      const body = Buffer.from([0, 1, 2, 255]);
      await store.enqueue('q1', [
        {
          message: {
            exchange: 'x',
            routingKey: 'a.b',
            properties: {
              contentType: 'application/octet-stream',
              headers: { n: 1, s: 'v', nested: { ok: true } },
              persistent: true,
            },
            body,
          },
          enqueuedAt: 1234,
          expiresAt: now + 99_000,
          deliveryCount: 3,
          durable: true,
        },
      ]);
      const [m] = await take('q1', 1);
      expect(m?.message.exchange).toBe('x');
      expect(m?.message.routingKey).toBe('a.b');
      expect(m?.message.properties).toEqual({
        contentType: 'application/octet-stream',
        headers: { n: 1, s: 'v', nested: { ok: true } },
        persistent: true,
      });
      expect(Buffer.from(m?.message.body ?? []).equals(body)).toBe(true);
      expect(m?.enqueuedAt).toBe(1234);
      expect(m?.expiresAt).toBe(now + 99_000);
      expect(m?.deliveryCount).toBe(4);
      expect(m?.durable).toBe(true);
    });

    it('acks only what the holder holds', async () => {
      const [a, b] = await fill('q1', 'a', 'b');
      await take('q1', 1, H1);
      await take('q1', 1, H2);
      expect(await store.ack('q1', [a as string, b as string, 'nope', '999999'], H1)).toEqual([a]);
      expect(await store.ack('q1', [a as string], H1)).toEqual([]);
      expect((await store.counts('q1')).inFlight).toBe(1);
      expect(await store.ack('q1', [b as string], H2)).toEqual([b]);
      expect(await store.counts('q1')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
    });

    // A store may settle acks issued together in one batch (the Redis store does): each caller still
    // gets only what its holder held, and a missing queue fails only its own callers.
    it('answers acks issued together each for its own holder and queue', async () => {
      const [a, b, c] = await fill('q1', 'a', 'b', 'c');
      const [d] = await fill('q2', 'd');
      await take('q1', 1, H1);
      await take('q1', 2, H2);
      await take('q2', 1, H1);
      const answers = await Promise.allSettled([
        store.ack('q1', [a as string, b as string], H1),
        store.ack('q1', [b as string, c as string, a as string], H2),
        store.ack('q1', [a as string], H1),
        store.ack('q2', [d as string], H1),
        store.ack('nope', [a as string], H1),
      ]);
      expect(answers.slice(0, 4).map((x) => (x.status === 'fulfilled' ? [...x.value].sort() : x))).toEqual([
        [a],
        [b, c].sort(),
        [],
        [d],
      ]);
      expect(answers[4].status === 'rejected' && answers[4].reason).toBeInstanceOf(QueueNotFoundError);
      expect(await store.counts('q1')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
      expect((await store.counts('q2')).inFlight).toBe(0);
    });

    it('returns a released message to its original position with its count raised', async () => {
      const ids = await fill('q1', 'a', 'b', 'c', 'd', 'e');
      await take('q1', 3);
      expect(await store.release('q1', [ids[1] as string, 'unknown'], H1)).toEqual([ids[1]]);
      expect(await store.release('q1', [ids[0] as string], H2)).toEqual([]);
      const next = await take('q1', 2, H2);
      expect(next.map(text)).toEqual(['b', 'd']);
      expect(next.map((m) => m.deliveryCount)).toEqual([2, 1]);
      // Several returned ones come back in id order, ahead of never-delivered ones.
      await store.release('q1', [ids[3] as string], H2);
      await store.release('q1', [ids[2] as string, ids[0] as string], H1);
      expect((await take('q1', 10, H2)).map(text)).toEqual(['a', 'c', 'd', 'e']);
    });

    it('releases with readyAt to delayed, then ready again at its position', async () => {
      const ids = await fill('q1', 'a', 'b');
      await take('q1', 1);
      const readyAt = now + 60_000;
      expect(await store.release('q1', [ids[0] as string], H1, { readyAt })).toEqual([ids[0]]);
      expect(await store.counts('q1')).toMatchObject({ ready: 1, inFlight: 0, delayed: 1 });
      expect(await store.nextWakeAt('q1')).toBe(readyAt);
      expect((await take('q1', 10, H2, undefined, readyAt - 1)).map(text)).toEqual(['b']);
      await store.release('q1', [ids[1] as string], H2);
      const later = await take('q1', 10, H2, undefined, readyAt);
      expect(later.map(text)).toEqual(['a', 'b']);
      expect(later[0]?.readyAt).toBe(readyAt);
      expect(later[0]?.deliveryCount).toBe(2);
    });

    it('holds a record enqueued with a future readyAt as delayed until then', async () => {
      const readyAt = now + 30_000;
      await store.enqueue('q1', [record('late', { readyAt }), record('now')]);
      expect(await store.counts('q1')).toMatchObject({ ready: 1, delayed: 1 });
      expect((await take('q1', 10)).map(text)).toEqual(['now']);
      expect(await store.nextWakeAt('q1')).toBe(readyAt);
      expect((await take('q1', 10, H1, undefined, readyAt)).map(text)).toEqual(['late']);
      // A readyAt already passed counts as ready straight away.
      await store.enqueue('q2', [record('past', { readyAt: now - 1 })]);
      expect(await store.counts('q2')).toMatchObject({ ready: 1, delayed: 0 });
    });

    it('renews leases only for the holder', async () => {
      const ids = await fill('q1', 'a', 'b');
      await take('q1', 2, H1, now + 100);
      expect(await store.renew('q1', [ids[0] as string], H2, now + 500)).toEqual([]);
      expect(await store.renew('q1', [ids[0] as string, 'x'], H1, now + 500)).toEqual([ids[0]]);
      expect(await store.nextWakeAt('q1')).toBe(now + 100);
      expect(await store.expireLeases('q1', now + 100)).toBe(1);
      expect(await store.nextWakeAt('q1')).toBe(now + 500);
      expect(await store.expireLeases('q1', now + 499)).toBe(0);
      expect(await store.expireLeases('q1', now + 500)).toBe(1);
      expect(await store.nextWakeAt('q1')).toBeUndefined();
    });

    it('gives a lease to a push delivery by renew, and ends it by expireLeases', async () => {
      const ids = await fill('q1', 'a');
      await take('q1', 1, H1);
      expect(await store.expireLeases('q1', now + 1e9)).toBe(0);
      await store.renew('q1', ids, H1, now + 10);
      expect(await store.expireLeases('q1', now + 10)).toBe(1);
    });

    it('expires leases at their deadline: ready again, count raised, old holder can no longer ack', async () => {
      const ids = await fill('q1', 'a', 'b', 'c');
      await take('q1', 2, H1, now + 1_000);
      expect(await store.expireLeases('q1', now + 999)).toBe(0);
      expect(await store.expireLeases('q1', now + 1_000)).toBe(2);
      expect(await store.counts('q1')).toMatchObject({ ready: 3, inFlight: 0 });
      expect(await store.ack('q1', ids, H1)).toEqual([]);
      const again = await take('q1', 3, H2);
      expect(again.map(text)).toEqual(['a', 'b', 'c']);
      expect(again.map((m) => m.deliveryCount)).toEqual([2, 2, 1]);
    });

    it('releases everything a holder holds in every queue', async () => {
      await fill('q1', 'a', 'b');
      await fill('q2', 'c');
      await take('q1', 1, H1, now + 5_000);
      await take('q1', 1, H2);
      await take('q2', 1, H1);
      expect(await store.releaseHolder(H1)).toBe(2);
      expect(await store.releaseHolder(H1)).toBe(0);
      expect(await store.releaseHolder('nobody')).toBe(0);
      expect(await store.counts('q1')).toMatchObject({ ready: 1, inFlight: 1 });
      expect(await store.counts('q2')).toMatchObject({ ready: 1, inFlight: 0 });
      expect(await store.nextWakeAt('q1')).toBeUndefined();
      const q1 = await take('q1', 5, H2);
      expect(q1.map((m) => [text(m), m.deliveryCount])).toEqual([['a', 2]]);
      expect((await take('q2', 5, H2)).map((m) => m.deliveryCount)).toEqual([2]);
    });

    it('takes by id only what is ready', async () => {
      const ids = (await fill('q1', 'a', 'b', 'c', 'd')) as [string, string, string, string];
      const b = await store.takeById('q1', ids[1], { holder: H1, now });
      expect(b && text(b)).toBe('b');
      expect(b?.deliveryCount).toBe(1);
      expect(await store.takeById('q1', ids[1], { holder: H2, now })).toBeUndefined();
      await store.ack('q1', [ids[1]], H1);
      expect(await store.takeById('q1', ids[1], { holder: H2, now })).toBeUndefined();
      expect(await store.takeById('q1', 'garbage', { holder: H2, now })).toBeUndefined();
      // A returned message can be taken by id too, and FIFO take never hands out one twice.
      await take('q1', 1, H1);
      await store.release('q1', [ids[0]], H1);
      const a = await store.takeById('q1', ids[0], { holder: H2, now, leaseUntil: now + 10 });
      expect(a?.deliveryCount).toBe(2);
      expect(await store.nextWakeAt('q1')).toBe(now + 10);
      expect((await take('q1', 10)).map(text)).toEqual(['c', 'd']);
      expect(await store.counts('q1')).toMatchObject({ ready: 0, inFlight: 3 });
      // Delayed messages are not ready.
      const [late] = await store.enqueue('q2', [record('late', { readyAt: now + 1_000 })]);
      expect(await store.takeById('q2', late as string, { holder: H1, now })).toBeUndefined();
      expect(await store.takeById('q2', late as string, { holder: H1, now: now + 1_000 })).toBeDefined();
    });

    it('moves only held messages, atomically, to the target queue', async () => {
      const ids = (await fill('q1', 'a', 'b', 'c', 'd')) as [string, string, string, string];
      await take('q1', 2, H1);
      await take('q1', 1, H2);
      const moved = await store.move('q1', [ids[0], ids[2], ids[1], ids[3]], H1, 'q2', [
        record('A', { deliveryCount: 1 }),
        record('C'),
        record('B'),
        record('D'),
      ]);
      expect(moved).toEqual([ids[0], ids[1]]);
      expect(await store.counts('q1')).toEqual({ ready: 1, inFlight: 1, delayed: 0, bytes: 2 });
      const inTarget = await take('q2', 10, H2);
      expect(inTarget.map(text)).toEqual(['A', 'B']);
      expect(inTarget.map((m) => m.deliveryCount)).toEqual([2, 1]);
      expect(await store.move('q1', [ids[2]], H1, 'q2', [record('x')])).toEqual([]);
      expect(await store.counts('q2')).toMatchObject({ ready: 0, inFlight: 2 });
    });

    it('peeks in delivery order without leasing, with states on request', async () => {
      const ids = (await fill('q1', 'a', 'b', 'c')) as [string, string, string];
      await store.enqueue('q1', [record('d', { readyAt: now + 60_000 })]);
      await take('q1', 2);
      await store.release('q1', [ids[0]], H1);
      const ready = await store.peek('q1', 10);
      expect(ready.map((m) => [text(m), m.state])).toEqual([
        ['a', 'ready'],
        ['c', 'ready'],
      ]);
      expect(ready[0]?.deliveryCount).toBe(1);
      expect((await store.peek('q1', 1)).map(text)).toEqual(['a']);
      expect((await store.peek('q1', 10, { includeInFlight: true })).map((m) => [text(m), m.state])).toEqual([
        ['a', 'ready'],
        ['b', 'in-flight'],
        ['c', 'ready'],
      ]);
      expect(
        (await store.peek('q1', 10, { includeInFlight: true, includeDelayed: true })).map((m) => m.state),
      ).toEqual(['ready', 'in-flight', 'ready', 'delayed']);
      expect((await store.peek('q1', 10, { includeDelayed: true })).map(text)).toEqual(['a', 'c', 'd']);
      expect(await store.counts('q1')).toMatchObject({ ready: 2, inFlight: 1, delayed: 1 });
      expect((await take('q1', 10)).map(text)).toEqual(['a', 'c']);
    });

    it('keeps counts and bytes right through every transition', async () => {
      const ids = (await store.enqueue('q1', [
        record('aa'),
        record('bbb'),
        record('c', { readyAt: now + 1_000 }),
      ])) as [string, string, string];
      expect(await store.counts('q1')).toEqual({ ready: 2, inFlight: 0, delayed: 1, bytes: 6 });
      await take('q1', 1, H1, now + 100);
      expect(await store.counts('q1')).toEqual({ ready: 1, inFlight: 1, delayed: 1, bytes: 6 });
      await store.release('q1', [ids[0]], H1, { readyAt: now + 2_000 });
      expect(await store.counts('q1')).toEqual({ ready: 1, inFlight: 0, delayed: 2, bytes: 6 });
      await take('q1', 5, H1, now + 100, now + 1_000);
      expect(await store.counts('q1')).toEqual({ ready: 0, inFlight: 2, delayed: 1, bytes: 6 });
      expect(await store.expireLeases('q1', now + 100)).toBe(2);
      expect(await store.counts('q1')).toEqual({ ready: 2, inFlight: 0, delayed: 1, bytes: 6 });
      await take('q1', 1, H2);
      await store.ack('q1', [ids[1]], H2);
      expect(await store.counts('q1')).toEqual({ ready: 1, inFlight: 0, delayed: 1, bytes: 3 });
      await take('q1', 1, H2);
      expect(await store.purge('q1')).toBe(1);
      expect(await store.counts('q1')).toEqual({ ready: 0, inFlight: 1, delayed: 0, bytes: 1 });
      await store.releaseHolder(H2);
      expect(await store.counts('q1')).toEqual({ ready: 1, inFlight: 0, delayed: 0, bytes: 1 });
    });

    it('purges ready and delayed messages and leaves in-flight ones ackable', async () => {
      const ids = await fill('q1', 'a', 'b', 'c');
      await store.enqueue('q1', [record('d', { readyAt: now + 1_000 })]);
      await take('q1', 1);
      expect(await store.purge('q1')).toBe(3);
      expect(await store.peek('q1', 10, { includeDelayed: true })).toEqual([]);
      expect(await store.nextWakeAt('q1')).toBeUndefined();
      expect(await store.ack('q1', [ids[0] as string], H1)).toEqual([ids[0]]);
      expect(await store.counts('q1')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
      await fill('q1', 'e');
      expect((await take('q1', 5)).map(text)).toEqual(['e']);
    });

    it('creates queues idempotently, lists them and deletes them with their messages', async () => {
      await fill('q1', 'a');
      await store.createQueue('q1');
      expect(await store.counts('q1')).toMatchObject({ ready: 1 });
      expect((await store.listQueues()).sort()).toEqual(['q1', 'q2']);
      await take('q1', 1, H1);
      await store.deleteQueue('q1');
      await store.deleteQueue('q1');
      expect(await store.listQueues()).toEqual(['q2']);
      await expect(store.counts('q1')).rejects.toBeInstanceOf(QueueNotFoundError);
      expect(await store.releaseHolder(H1)).toBe(0);
      await store.createQueue('q1');
      expect(await store.counts('q1')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
    });

    it('rejects operations on a queue it does not have', async () => {
      await expect(store.enqueue('nope', [record('a')])).rejects.toBeInstanceOf(QueueNotFoundError);
      await expect(take('nope', 1)).rejects.toBeInstanceOf(QueueNotFoundError);
      await expect(store.move('q1', [], H1, 'nope', [])).rejects.toBeInstanceOf(QueueNotFoundError);
    });

    it('remembers dedupe keys for their window, per queue', async () => {
      expect(await store.remember('q1', 'k', 1_000, now)).toBe(true);
      expect(await store.remember('q1', 'k', 1_000, now + 999)).toBe(false);
      expect(await store.remember('q2', 'k', 1_000, now)).toBe(true);
      expect(await store.remember('q1', 'other', 1_000, now)).toBe(true);
      // The window runs from the first sighting; a duplicate does not extend it.
      expect(await store.remember('q1', 'k', 1_000, now + 1_000)).toBe(true);
      expect(await store.remember('q1', 'k', 1_000, now + 1_500)).toBe(false);
      // Many keys pass through without losing live ones.
      for (let i = 0; i < 50; i++) expect(await store.remember('q2', `x${i}`, 10, now + i)).toBe(true);
      expect(await store.remember('q2', 'x49', 10, now + 50)).toBe(false);
      expect(await store.remember('q2', 'x0', 10, now + 50)).toBe(true);
    });

    it('reports the next wake time from delays and leases', async () => {
      expect(await store.nextWakeAt('q1')).toBeUndefined();
      await store.enqueue('q1', [record('a', { readyAt: now + 30_000 }), record('b')]);
      expect(await store.nextWakeAt('q1')).toBe(now + 30_000);
      await take('q1', 1, H1, now + 20_000);
      expect(await store.nextWakeAt('q1')).toBe(now + 20_000);
      await store.ack(
        'q1',
        (await store.peek('q1', 1, { includeInFlight: true })).map((m) => m.id),
        H1,
      );
      expect(await store.nextWakeAt('q1')).toBe(now + 30_000);
    });

    it('puts, loads by prefix in key order, and deletes metadata', async () => {
      await store.putMeta('queue/b', { durable: true, args: { n: 1 } });
      await store.putMeta('queue/a', { durable: false });
      await store.putMeta('exchange/x', 'topic');
      await store.putMeta('queue/a', { durable: true });
      expect(await store.loadMeta('queue/')).toEqual([
        { key: 'queue/a', value: { durable: true } },
        { key: 'queue/b', value: { durable: true, args: { n: 1 } } },
      ]);
      expect(await store.getMeta('queue/b')).toEqual({ durable: true, args: { n: 1 } });
      expect(await store.getMeta('queue/')).toBeUndefined(); // exact keys, not prefixes
      await store.deleteMeta('queue/a');
      await store.deleteMeta('queue/none');
      expect(await store.getMeta('queue/a')).toBeUndefined();
      expect((await store.loadMeta('')).map((e) => e.key)).toEqual(['exchange/x', 'queue/b']);
    });

    it('takes a metadata entry once: of concurrent takers exactly one gets the value', async () => {
      await store.putMeta('will/a', { topic: 't', n: 1 });
      const taken = await Promise.all([
        store.takeMeta('will/a'),
        store.takeMeta('will/a'),
        store.takeMeta('will/a'),
      ]);
      expect(taken.filter((v) => v !== undefined)).toEqual([{ topic: 't', n: 1 }]);
      expect(await store.loadMeta('will/')).toEqual([]);
      expect(await store.takeMeta('will/none')).toBeUndefined();
    });

    it('rejects every operation after close with BrokerClosedError', async () => {
      const [id] = await fill('q1', 'a');
      await store.close();
      const calls: Promise<unknown>[] = [
        store.loadMeta(''),
        store.putMeta('k', 1),
        store.deleteMeta('k'),
        store.takeMeta('k'),
        store.getMeta('k'),
        store.createQueue('q3'),
        store.deleteQueue('q1'),
        store.listQueues(),
        store.enqueue('q1', [record('x')]),
        take('q1', 1),
        store.takeById('q1', id as string, { holder: H1, now }),
        store.ack('q1', [], H1),
        store.release('q1', [], H1),
        store.renew('q1', [], H1, now),
        store.releaseHolder(H1),
        store.expireLeases('q1', now),
        store.move('q1', [], H1, 'q2', []),
        store.peek('q1', 1),
        store.counts('q1'),
        store.purge('q1'),
        store.remember('q1', 'k', 1, now),
        store.nextWakeAt('q1'),
      ];
      for (const call of calls) await expect(call).rejects.toBeInstanceOf(BrokerClosedError);
      await store.close();
    });

    describe('durable', () => {
      const reopen = async (): Promise<void> => {
        if (harness.reopen === undefined) return;
        await store.close();
        store = harness.reopen();
        await store.open();
      };

      it('reports durability honestly', () => {
        expect(store.durable).toBe(harness.reopen !== undefined);
      });

      it('restores messages in order with their counts, delays and expiry', async (ctx) => {
        if (harness.reopen === undefined) return ctx.skip();
        const ids = await store.enqueue('q1', [
          record('a', { expiresAt: now + 50_000 }),
          record('b'),
          record('c', { readyAt: now + 60_000 }),
          record('d'),
        ]);
        await take('q1', 2, H1);
        await store.release('q1', [ids[1] as string], H1, { readyAt: now + 70_000 });
        await store.release('q1', [ids[0] as string], H1);
        await take('q1', 1, H2); // a again: count 2
        await store.release('q1', [ids[0] as string], H2);
        await reopen();
        expect(await store.counts('q1')).toEqual({ ready: 2, inFlight: 0, delayed: 2, bytes: 4 });
        const peeked = await store.peek('q1', 10, { includeDelayed: true });
        expect(peeked.map((m) => [m.id, text(m), m.state, m.deliveryCount])).toEqual([
          [ids[0], 'a', 'ready', 2],
          [ids[1], 'b', 'delayed', 1],
          [ids[2], 'c', 'delayed', 0],
          [ids[3], 'd', 'ready', 0],
        ]);
        expect(peeked[0]?.expiresAt).toBe(now + 50_000);
        expect(await store.nextWakeAt('q1')).toBe(now + 60_000);
        const all = await take('q1', 10, H1, undefined, now + 70_000);
        expect(all.map(text)).toEqual(['a', 'b', 'c', 'd']);
      });

      it('makes everything that was in flight ready again, count kept', async (ctx) => {
        if (harness.reopen === undefined) return ctx.skip();
        await fill('q1', 'a', 'b', 'c');
        await take('q1', 2, H1, now + 10_000);
        await reopen();
        expect(await store.counts('q1')).toMatchObject({ ready: 3, inFlight: 0 });
        expect(await store.nextWakeAt('q1')).toBeUndefined();
        expect((await take('q1', 5)).map((m) => [text(m), m.deliveryCount])).toEqual([
          ['a', 2],
          ['b', 2],
          ['c', 1],
        ]);
      });

      it('keeps acks, purges and deleted queues, and drops transient records (a shared store keeps them)', async (ctx) => {
        if (harness.reopen === undefined) return ctx.skip();
        const ids = await store.enqueue('q1', [
          record('a'),
          record('t', { durable: false }),
          record('b'),
          record('c'),
        ]);
        await fill('q2', 'gone');
        await store.createQueue('q3');
        await fill('q3', 'x');
        await take('q1', 1);
        await store.ack('q1', [ids[0] as string], H1);
        await take('q2', 1);
        await store.deleteQueue('q2');
        await store.purge('q3');
        await reopen();
        if (harness.peer) {
          expect((await store.listQueues()).sort()).toEqual(['q1', 'q3']);
          expect((await take('q1', 10)).map(text)).toEqual(['t', 'b', 'c']);
          expect(await store.counts('q3')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
          return;
        }
        expect((await store.listQueues()).sort()).toEqual(['q1']);
        expect((await take('q1', 10)).map(text)).toEqual(['b', 'c']);
      });

      it('never reuses ids after a restart', async (ctx) => {
        if (harness.reopen === undefined) return ctx.skip();
        const before = await fill('q1', 'a', 'b');
        await take('q1', 2);
        await store.ack('q1', before, H1);
        await reopen();
        await store.createQueue('q1');
        const after = await fill('q1', 'c');
        expect(Number(after[0])).toBeGreaterThan(Number(before[1]));
      });

      it('keeps dedupe keys and metadata across a restart', async (ctx) => {
        if (harness.reopen === undefined) return ctx.skip();
        expect(await store.remember('q1', 'k', 60_000, now)).toBe(true);
        expect(await store.remember('q1', 'short', 10, now - 100)).toBe(true);
        await store.putMeta('queue/q1', { durable: true });
        await fill('q1', 'a');
        await reopen();
        await store.createQueue('q1');
        expect(await store.remember('q1', 'k', 60_000, now + 1)).toBe(false);
        expect(await store.remember('q1', 'short', 10, now + 1)).toBe(true);
        expect(await store.loadMeta('queue/')).toEqual([{ key: 'queue/q1', value: { durable: true } }]);
      });
    });

    const suite = {
      harness: () => harness,
      store: () => store,
      fill: (q: string, ...bodies: string[]) => fill(q, ...bodies),
      reopen: async () => {
        if (harness.reopen === undefined) return;
        await store.close();
        store = harness.reopen();
        await store.open();
      },
    };
    describeClusterConformance(suite);
    describePriorityConformance(suite);
  });
}
