import { QueueNotFoundError, StoreError, type QueueRecordInput } from '@conveyor/core';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index.js';
import { keySlot } from './key-slot.js';
import { keysUnder, REDIS_URL, redisStore, redisUnavailable, storesPerTest } from './redis-fixture.js';

const skip = await redisUnavailable();

const record = (body: string, extra: Partial<QueueRecordInput> = {}): QueueRecordInput => ({
  message: { exchange: 'ex', routingKey: 'rk', properties: {}, body: Buffer.from(body) },
  enqueuedAt: 1,
  durable: true,
  ...extra,
});

describe.skipIf(skip !== undefined)(`RedisStore specifics${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { open, closeAfter, fresh } = storesPerTest();

  /** Leaves keys of every kind in q1 and q2: messages, ready, delayed, in flight, leases, holders, dedupe. */
  async function exercise(store: RedisStore): Promise<void> {
    for (const q of ['q1', 'q2']) await store.createQueue(q);
    await store.enqueue('q1', [record('a'), record('b'), record('c', { readyAt: Date.now() + 60_000 })]);
    const [a] = await store.take('q1', 1, { holder: 'h', now: Date.now(), leaseUntil: Date.now() + 60_000 });
    await store.remember('q1', 'dup', 60_000, Date.now());
    await store.take('q1', 1, { holder: 'h2', now: Date.now() });
    await store.move('q1', [a?.id ?? ''], 'h', 'q2', [record('A')]);
    await store.take('q2', 1, { holder: 'h', now: Date.now() });
  }

  it('keeps every key of a queue in one Cluster slot (per-queue hash tags)', async () => {
    const prefix = fresh();
    await exercise(await open(prefix));
    for (const q of ['q1', 'q2']) {
      const keys = await keysUnder(`${prefix}{q:${q}}:*`);
      expect(keys.length).toBeGreaterThanOrEqual(5);
      expect(new Set(keys.map(keySlot)).size).toBe(1);
    }
    // The two queues are spread over different slots: move between them is cross-slot.
    expect(keySlot(`${prefix}{q:q1}:ready`)).not.toBe(keySlot(`${prefix}{q:q2}:ready`));
  });

  it('singleSlot: every key of the store, both queues and the store-wide ones, in one slot (atomic moves in Cluster)', async () => {
    const prefix = fresh();
    const store = await open(prefix, { singleSlot: true });
    await exercise(store);
    const keys = await keysUnder(`{${prefix}}*`);
    expect(keys.some((k) => k.includes('q:q1:')) && keys.some((k) => k.includes('q:q2:'))).toBe(true);
    expect(keys).toContain(`{${prefix}}queues`);
    expect(keys).toContain(`{${prefix}}nodes`);
    expect(new Set(keys.map(keySlot)).size).toBe(1);
    expect(await keysUnder(`${prefix}*`)).toEqual([]);
    expect(await store.counts('q2')).toMatchObject({ inFlight: 1 });
  });

  it('round-trips headers with bytes, bigints, dates, nesting and tag-like objects', async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    const headers = {
      bytes: new Uint8Array([0, 255, 7]),
      big: 12345678901234567890n,
      when: new Date('2026-01-02T03:04:05.678Z'),
      list: [1, 'two', null, { deep: Buffer.from('x') }],
      looksTagged: { $b: 'not base64 data' },
      flag: false,
    };
    await store.enqueue('q', [
      record('x', {
        message: {
          exchange: '',
          routingKey: 'q',
          properties: { headers, priority: 3 },
          body: Buffer.alloc(0),
        },
      }),
    ]);
    const [m] = await store.take('q', 1, { holder: 'h', now: Date.now() });
    const got = m?.message.properties.headers ?? {};
    expect(Buffer.from(got.bytes as Uint8Array)).toEqual(Buffer.from([0, 255, 7]));
    expect(got.big).toBe(12345678901234567890n);
    expect(got.when).toEqual(new Date('2026-01-02T03:04:05.678Z'));
    expect((got.list as unknown[])[3]).toEqual({ deep: Buffer.from('x') });
    expect(got.looksTagged).toEqual({ $b: 'not base64 data' });
    expect(got.flag).toBe(false);
    expect(m?.message.properties.priority).toBe(3);
    expect(m?.message.body.byteLength).toBe(0);
  });

  it('reports what Redis keeps on disk, with a warning when it keeps nothing', async () => {
    const store = await open(fresh());
    const probe = new Redis(REDIS_URL);
    const [, appendonly] = (await probe.config('GET', 'appendonly')) as string[];
    const [, save] = (await probe.config('GET', 'save')) as string[];
    probe.disconnect();
    expect(store.persistence?.appendonly).toBe(appendonly === 'yes');
    expect(store.persistence?.save).toBe(save);
    if (appendonly !== 'yes' && save === '')
      expect(store.persistence?.warning).toMatch(/keeps nothing on disk/);
    if (appendonly === 'yes') expect(store.persistence?.warning).toBeUndefined();
  });

  it('wait: a durable queue, enqueue or metadata write fails with StoreError when the replicas do not confirm; transient ones do not wait', async () => {
    const probe = new Redis(REDIS_URL);
    const replicas = Number(/connected_slaves:(\d+)/.exec(await probe.info('replication'))?.[1] ?? 0);
    probe.disconnect();
    const store = await open(fresh(), { wait: { replicas: replicas + 1, timeoutMs: 20 } });
    // The queue is written, but its creation is not confirmed (durable is the default).
    await expect(store.createQueue('q')).rejects.toThrow(/WAIT: \d+ of \d+ replicas/);
    await expect(store.createQueue('q', { durable: true })).rejects.toBeInstanceOf(StoreError);
    await store.createQueue('t', { durable: false });
    await expect(store.enqueue('q', [record('a')])).rejects.toBeInstanceOf(StoreError);
    expect(await store.enqueue('q', [record('t', { durable: false })])).toHaveLength(1);
    expect(await store.enqueue('t', [record('t', { durable: false })])).toHaveLength(1);
    // Metadata likewise: a durable entry (the default) is written but unconfirmed; a transient one is confirmed.
    await expect(store.putMeta('k/durable', { v: 1 })).rejects.toThrow(/WAIT: \d+ of \d+ replicas/);
    expect(await store.getMeta('k/durable')).toEqual({ v: 1 });
    await store.putMeta('k/transient', { v: 2 }, { durable: false });
    expect(await store.getMeta('k/transient')).toEqual({ v: 2 });
    await store.deleteMeta('k/transient', { durable: false });
    expect(await store.getMeta('k/transient')).toBeUndefined();
    await expect(store.deleteMeta('k/durable')).rejects.toBeInstanceOf(StoreError);
    const ok = await open(fresh(), { wait: { replicas, timeoutMs: 20 } });
    await ok.createQueue('q');
    expect(await ok.enqueue('q', [record('a')])).toHaveLength(1);
  });

  it('wait for the AOF needs Redis 7.2 (WAITAOF); older servers refuse at open', async () => {
    const probe = redisStore(fresh());
    await probe.open();
    const version = probe.persistence?.version ?? '0';
    await probe.close();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    const store = redisStore(fresh(), { wait: { aof: true, timeoutMs: 50 } });
    if (major < 7 || (major === 7 && minor < 2)) {
      await expect(store.open()).rejects.toThrow(/WAITAOF needs Redis 7.2/);
    } else {
      closeAfter(store);
      await store.open();
    }
  });

  it('holders are per node: the same holder id on another node cannot ack, renew or release', async () => {
    const prefix = fresh();
    const a = await open(prefix);
    const b = await open(prefix);
    await a.createQueue('q');
    const [id] = await a.enqueue('q', [record('x')]);
    await a.take('q', 1, { holder: 'pull:1', now: Date.now() });
    expect(await b.ack('q', [id as string], 'pull:1')).toEqual([]);
    expect(await b.renew('q', [id as string], 'pull:1', Date.now() + 10)).toEqual([]);
    expect(await b.release('q', [id as string], 'pull:1')).toEqual([]);
    expect(await b.releaseHolder('pull:1')).toBe(0);
    expect(await a.ack('q', [id as string], 'pull:1')).toEqual([id]);
  });

  it('a batch of plain records and a mixed one both keep their order, counts, sizes and bytes', async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    // Plain (ready now, never delivered): one argument per record; its bytes given as one sum.
    await store.enqueue('q', [record('a'), record('bb'), record('ccc')]);
    expect(await store.counts('q')).toMatchObject({ ready: 3, bytes: 6 });
    // Mixed: a redelivered and a due record among plain ones go the general way, in order.
    await store.enqueue('q', [
      record('dddd'),
      record('eeeee', { deliveryCount: 2 }),
      record('f', { readyAt: Date.now() - 1 }),
      record('gg'),
    ]);
    expect(await store.counts('q')).toMatchObject({ ready: 7, delayed: 0, bytes: 18 });
    const taken = await store.take('q', 10, { holder: 'h', now: Date.now() });
    expect(taken.map((m) => m.message.body.toString())).toEqual([
      'a',
      'bb',
      'ccc',
      'dddd',
      'eeeee',
      'f',
      'gg',
    ]);
    expect(taken.map((m) => m.deliveryCount)).toEqual([1, 1, 1, 1, 3, 1, 1]);
    const ids = taken.map((m) => BigInt(m.id));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
    expect(
      await store.ack(
        'q',
        taken.map((m) => m.id),
        'h',
      ),
    ).toHaveLength(7);
    expect(await store.counts('q')).toMatchObject({ ready: 0, inFlight: 0, bytes: 0 });
  });

  it("the ids a batch's script writes are the consecutive ones its reply promises, across hundreds and in small batches", async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    for (const n of [250, 5, 16, 100]) {
      const bodies = Array.from({ length: n }, (_, i) => `m${i}`);
      const ids = (await store.enqueue(
        'q',
        bodies.map((b) => record(b)),
      )) as string[];
      expect(ids.map((id) => BigInt(id) - BigInt(ids[0] as string))).toEqual(bodies.map((_, i) => BigInt(i)));
      // The take reads the ids Redis stored and their records: each must be the one promised.
      const taken = await store.take('q', n, { holder: 'h', now: Date.now() });
      expect(taken.map((m) => [m.id, m.message.body.toString()])).toEqual(
        ids.map((id, i) => [id, bodies[i]]),
      );
      expect(await store.ack('q', ids, 'h')).toEqual(ids);
    }
    expect(await store.counts('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
  });

  it('acks of one turn share a script call: each caller gets only the ids its holder held, once', async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    await store.enqueue('q', [record('a'), record('b'), record('c'), record('d')]);
    const mine = (await store.take('q', 2, { holder: 'h1', now: Date.now() })).map((d) => d.id);
    const theirs = (await store.take('q', 1, { holder: 'h2', now: Date.now() })).map((d) => d.id);
    const [m1 = '', m2 = ''] = mine;
    const [t1 = ''] = theirs;
    // Issued in one event-loop iteration, so the AckBatcher settles them in one `ack` call.
    const [first, repeat, wrongHolder, second, unknown] = await Promise.all([
      store.ack('q', [m1, m1, t1], 'h1'),
      store.ack('q', [m1], 'h1'),
      store.ack('q', [m2], 'h2'),
      store.ack('q', [t1, m2], 'h2'),
      store.ack('q', ['999999'], 'h1'),
    ]);
    expect(first).toEqual([m1]);
    expect(repeat).toEqual([]);
    expect(wrongHolder).toEqual([]);
    expect(second).toEqual([t1]);
    expect(unknown).toEqual([]);
    expect(await store.counts('q')).toMatchObject({ ready: 1, inFlight: 1 });
    // m2 is still h1's, and acking it settles the last in-flight message and its bytes.
    expect(await store.ack('q', [m2], 'h1')).toEqual([m2]);
    expect(await store.counts('q')).toMatchObject({ ready: 1, inFlight: 0, bytes: 1 });
  });

  /** Two nodes on one prefix with queue q; the survivor listens on it (its first wake-up seen). */
  async function survivorListening() {
    const prefix = fresh();
    const dying = await open(prefix, { holderTtlMs: 300 });
    const survivor = await open(prefix, { holderTtlMs: 300 });
    await survivor.createQueue('q');
    let woken = 0;
    survivor.cluster.subscribe('q', () => woken++);
    const wakes = () => woken;
    await expect.poll(wakes).toBe(1); // the subscription is in place
    return { dying, survivor, wakes };
  }

  it("a node is not woken by its own calls (its engine made the change), but is by its sweep of a dead node's deliveries", async () => {
    const { dying, survivor, wakes } = await survivorListening();
    await survivor.enqueue('q', [record('a'), record('b')]);
    const [mine] = await survivor.take('q', 1, { holder: 'h', now: Date.now() });
    await survivor.release('q', [mine!.id], 'h');
    await dying.take('q', 2, { holder: 'c', now: Date.now() });
    await sleep(100);
    expect(wakes()).toBe(1); // its own enqueue and release: nothing
    await dying.abandon();
    // Its sweep returned the dead node's two, one wake-up (the departure itself wakes nobody).
    await expect.poll(wakes, { timeout: 3_000 }).toBe(2);
    await sleep(100);
    expect(wakes()).toBe(2);
    expect(await survivor.counts('q')).toMatchObject({ ready: 2, inFlight: 0 });
  });

  it('a node that dies between an enqueue that woke nobody and its take: the others look again once it is found gone', async () => {
    const { dying, survivor, wakes } = await survivorListening();
    await dying.enqueue('q', [record('a')], { taking: true });
    await sleep(100);
    expect(wakes()).toBe(1);
    // Holding nothing, its sweep returns nothing; but the queue is in its listing (taking lists
    // it before the enqueue) and holds ready messages, so the sweep wakes its listeners.
    await dying.abandon();
    await expect.poll(wakes, { timeout: 3_000 }).toBe(2);
    expect(await survivor.counts('q')).toMatchObject({ ready: 1 });
  });

  it('a departure wakes only the queues the node worked on, not every queue the others listen on', async () => {
    const { dying, survivor, wakes } = await survivorListening();
    await survivor.createQueue('other');
    let otherWoken = 0;
    survivor.cluster.subscribe('other', () => otherWoken++);
    await expect.poll(() => otherWoken).toBe(1); // the subscription is in place
    await survivor.enqueue('other', [record('x')]); // ready there, but the dying node never came near it
    await dying.enqueue('q', [record('a')], { taking: true });
    await dying.abandon();
    await expect.poll(wakes, { timeout: 3_000 }).toBe(2);
    await sleep(200); // its sweep is done: a wake-up of 'other' would have come with it
    expect(otherWoken).toBe(1);
  });

  it('a node that closes between an enqueue that woke nobody and its take wakes the others itself', async () => {
    const { dying, survivor, wakes } = await survivorListening();
    await dying.enqueue('q', [record('a')], { taking: true });
    await dying.close(); // returns what it holds (nothing) from each queue it listed
    await expect.poll(wakes, { timeout: 3_000 }).toBe(2);
    expect(await survivor.counts('q')).toMatchObject({ ready: 1 });
  });

  it('an enqueue waits behind the listing a taking enqueue started, so a publisher keeps its order', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    await store.createQueue('q');
    const first = store.enqueue('q', [record('1')], { taking: true }); // lists q first
    const second = store.enqueue('q', [record('2')]);
    const [[a], [b]] = await Promise.all([first, second]);
    expect(Number(b)).toBeGreaterThan(Number(a));
    const taken = await store.take('q', 2, { holder: 'h', now: Date.now() });
    expect(taken.map((m) => m.message.body.toString())).toEqual(['1', '2']);
  });

  it("a dead node's deliveries come back, count raised, once its liveness key lapses", async () => {
    const prefix = fresh();
    const dying = await open(prefix, { holderTtlMs: 300 });
    const survivor = await open(prefix, { holderTtlMs: 300 });
    await survivor.createQueue('q');
    await survivor.createQueue('other');
    await survivor.enqueue('q', [record('a'), record('b'), record('c')]);
    await survivor.enqueue('other', [record('d')]);
    await dying.take('q', 2, { holder: 'consumer:1', now: Date.now() }); // push: no lease deadline
    await dying.take('other', 1, { holder: 'consumer:2', now: Date.now() });
    await dying.abandon();
    expect(await survivor.sweepDeadNodes()).toBe(0); // its key has not lapsed yet
    expect(await survivor.counts('q')).toMatchObject({ ready: 1, inFlight: 2 });
    // The survivor's own liveness timer sweeps (every ttl/3) once the key has lapsed.
    const deadline = Date.now() + 3_000;
    while ((await survivor.counts('q')).inFlight > 0 && Date.now() < deadline) await sleep(50);
    expect(await survivor.counts('q')).toMatchObject({ ready: 3, inFlight: 0 });
    expect(await survivor.counts('other')).toMatchObject({ ready: 1, inFlight: 0 });
    const again = await survivor.take('q', 3, { holder: 'h', now: Date.now() });
    expect(again.map((m) => [m.message.body.toString(), m.deliveryCount])).toEqual([
      ['a', 2],
      ['b', 2],
      ['c', 1],
    ]);
  });

  it('a closing node returns what it holds at once', async () => {
    const prefix = fresh();
    const a = redisStore(prefix);
    await a.open();
    const b = await open(prefix);
    await b.createQueue('q');
    await b.enqueue('q', [record('a')]);
    await a.take('q', 1, { holder: 'consumer:1', now: Date.now(), leaseUntil: Date.now() + 60_000 });
    await a.close();
    expect(await b.counts('q')).toMatchObject({ ready: 1, inFlight: 0 });
    expect(await b.nextWakeAt('q')).toBeUndefined();
  });

  it("cluster.subscribe: wakes once when the subscription is in place, then on another node's sends, delayed sends and returns; unsubscribe stops it", async () => {
    const prefix = fresh();
    const a = await open(prefix);
    const b = await open(prefix);
    await b.createQueue('q');
    await b.createQueue('other');
    let wakes = 0;
    const stop = a.cluster.subscribe('q', () => wakes++);
    await subscribers(`${prefix}{q:q}:wake`, 1); // SUBSCRIBE reached Redis
    const until = async (n: number) => {
      const deadline = Date.now() + 2_000;
      while (wakes < n && Date.now() < deadline) await sleep(5);
      expect(wakes).toBe(n);
    };
    await until(1); // the subscription is in place
    await b.enqueue('q', [record('a')]);
    await until(2);
    await b.enqueue('other', [record('elsewhere')]);
    await b.enqueue('q', [record('later', { readyAt: Date.now() + 60_000 })]);
    await until(3);
    const [m] = await b.take('q', 1, { holder: 'h', now: Date.now() });
    expect(wakes).toBe(3); // a take makes nothing ready
    await b.release('q', [m?.id ?? ''], 'h');
    await until(4);
    stop();
    await subscribers(`${prefix}{q:q}:wake`, 0);
    await b.enqueue('q', [record('unheard')]);
    await sleep(100);
    expect(wakes).toBe(4);
  });

  it('takes the prefix from a ?prefix= URL parameter (conveyor start --store)', async () => {
    const prefix = fresh();
    const viaUrl = new RedisStore({ url: `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}` });
    closeAfter(viaUrl);
    await viaUrl.open();
    await viaUrl.createQueue('q');
    expect(await keysUnder(`${prefix}{q:q}:*`)).toHaveLength(1);
  });

  it('takes wait from the URL (?wait=replicas:N&waitTimeoutMs=, ?wait=aof) and refuses a malformed one', async () => {
    const probe = new Redis(REDIS_URL);
    const replicas = Number(/connected_slaves:(\d+)/.exec(await probe.info('replication'))?.[1] ?? 0);
    probe.disconnect();
    const prefix = fresh();
    const short = new RedisStore({
      url: `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}&wait=replicas:${replicas + 1}&waitTimeoutMs=20`,
    });
    closeAfter(short);
    await short.open();
    await short.createQueue('q', { durable: false });
    await expect(short.enqueue('q', [record('a')])).rejects.toBeInstanceOf(StoreError);
    expect(() => new RedisStore({ url: `${REDIS_URL}?wait=always` })).toThrow(
      /wait must be 'aof' or 'replicas:N'/,
    );
    expect(() => new RedisStore({ url: `${REDIS_URL}?waitTimeoutMs=5` })).toThrow(/waitTimeoutMs needs wait/);
    const aof = new RedisStore({ url: `${REDIS_URL}?prefix=${encodeURIComponent(fresh())}&wait=aof` });
    const version = short.persistence?.version ?? '0';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 7 || (major === 7 && minor < 2))
      await expect(aof.open()).rejects.toThrow(/WAITAOF needs Redis 7.2/);
    else {
      closeAfter(aof);
      await aof.open();
    }
  });

  it('a lease renewed to Infinity never expires and reads back as Infinity', async () => {
    const store = await open(fresh());
    await store.createQueue('q');
    const [id] = await store.enqueue('q', [record('a')]);
    await store.take('q', 1, { holder: 'h', now: Date.now(), leaseUntil: Date.now() + 10 });
    expect(await store.renew('q', [id as string], 'h', Number.POSITIVE_INFINITY)).toEqual([id]);
    expect(await store.nextWakeAt('q')).toBe(Number.POSITIVE_INFINITY);
    expect(await store.expireLeases('q', Date.now() + 1e12)).toBe(0);
  });

  it('packed records: names, properties, times and flags round-trip; the queue keeps them in records, size and count (readyAt when delayed) in meta', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    await store.createQueue('q');
    const enqueuedAt = 1_700_000_000_123;
    const body = Buffer.from([0, 1, 2, 255]);
    const [id, later] = await store.enqueue('q', [
      {
        message: { exchange: 'ëx/€', routingKey: 'a.b.ç', properties: { headers: { n: 1n } }, body },
        enqueuedAt,
        expiresAt: enqueuedAt + 5_000_000_000_000,
        deliveryCount: 2,
        durable: false,
      },
      record('later', { readyAt: Date.now() + 60_000 }),
    ]);
    const redis = new Redis(REDIS_URL);
    try {
      expect((await redis.hkeys(`${prefix}{q:q}:records`)).sort()).toEqual(['', id, later].sort());
      expect(await redis.hget(`${prefix}{q:q}:meta`, id as string)).toBe('4 2');
      expect(await redis.hget(`${prefix}{q:q}:meta`, later as string)).toMatch(/^5 0 \d+$/);
      expect(await keysUnder(`${prefix}{q:q}:m:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    const [m] = await store.take('q', 1, { holder: 'h', now: Date.now() });
    expect(m).toEqual({
      id,
      message: { exchange: 'ëx/€', routingKey: 'a.b.ç', properties: { headers: { n: 1n } }, body },
      enqueuedAt,
      expiresAt: enqueuedAt + 5_000_000_000_000,
      deliveryCount: 3,
      durable: false,
    });
    const peeked = await store.peek('q', 10, { includeDelayed: true, includeInFlight: true });
    expect(peeked.map((p) => [p.id, p.state, p.deliveryCount, p.readyAt !== undefined])).toEqual([
      [id, 'in-flight', 3, false],
      [later, 'delayed', 0, true],
    ]);
    expect((await store.counts('q')).bytes).toBe(4 + 5);
  });

  it("housekeeping forgets a holder's queues where it holds nothing any more, and keeps those where it still holds", async () => {
    const prefix = fresh();
    const store = await open(prefix, { holderTtlMs: 300 });
    await store.createQueue('q1');
    await store.createQueue('q2');
    await store.enqueue('q1', [record('kept')]);
    const [done] = await store.enqueue('q2', [record('acked')]);
    await store.take('q1', 1, { holder: 'h', now: Date.now() });
    await store.take('q2', 1, { holder: 'h', now: Date.now() });
    expect(await store.ack('q2', [done as string], 'h')).toEqual([done]);
    // A minute on: the next liveness ticks (every 100 ms) re-check both entries.
    const realNow = Date.now.bind(Date);
    const later = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      later.mockRestore();
    }
    expect(await store.releaseHolder('h')).toBe(1);
    expect(await store.counts('q1')).toMatchObject({ ready: 1, inFlight: 0 });
  });

  it('sparse meta (store format 4): a message without a delivery count or readyAt has no meta value, its body size read from the packed record', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    await store.createQueue('q');
    const body = Buffer.alloc(70_000, 7); // past 65,535: every byte of the u32 lengths counts
    const big: QueueRecordInput = {
      message: {
        exchange: 'x'.repeat(300),
        routingKey: 'ключ',
        properties: { headers: { h: 'v'.repeat(500) } },
        body,
      },
      enqueuedAt: Date.now(),
      durable: true,
    };
    const [a, b] = await store.enqueue('q', [big, record('hello')]);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.exists(`${prefix}{q:q}:meta`)).toBe(0);
      expect((await store.counts('q')).bytes).toBe(70_000 + 5);
      const taken = await store.take('q', 2, { holder: 'h', now: Date.now() });
      expect(taken.map((m) => [m.id, m.deliveryCount, m.message.body.byteLength])).toEqual([
        [a, 1, 70_000],
        [b, 1, 5],
      ]);
      // The size went into inflight at the take: the ack counts the bytes back out.
      expect(await store.ack('q', [a as string], 'h')).toEqual([a]);
      expect((await store.counts('q')).bytes).toBe(5);
      // Released, b keeps its count in a meta value; dropped by purge, its size comes from there.
      expect(await store.release('q', [b as string], 'h')).toEqual([b]);
      expect(await redis.hget(`${prefix}{q:q}:meta`, b as string)).toBe('5 1');
      const [again] = await store.take('q', 1, { holder: 'h', now: Date.now() });
      expect(again?.deliveryCount).toBe(2);
      expect(await store.release('q', [b as string], 'h')).toEqual([b]);
      expect(await store.purge('q')).toBe(1);
      expect(await store.counts('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
      // Purged without a meta value: the size comes from the record.
      await store.enqueue('q', [big]);
      expect(await store.purge('q')).toBe(1);
      expect((await store.counts('q')).bytes).toBe(0);
      expect(await redis.hkeys(`${prefix}{q:q}:meta`)).toEqual(['']);
    } finally {
      redis.disconnect();
    }
  });

  it('ack: an id goes only to the holder its inflight value names exactly, in format 2 and in format 1 (bare holder)', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    await store.createQueue('q');
    const ids = (await store.enqueue(
      'q',
      ['one', 'two', 'three', 'four'].map((t) => record(t)),
    )) as string[];
    const [one, two, three, four] = ids as [string, string, string, string];
    const now = Date.now();
    // Tags may hold spaces and digits: '7 b' is one holder, 'b' another, '1 2 b' a third.
    for (const tag of ['7 b', 'b', '1 2 b']) await store.take('q', 1, { holder: tag, now });
    await store.take('q', 1, { holder: 'f', now });
    const redis = new Redis(REDIS_URL);
    try {
      const inflight = `${prefix}{q:q}:inflight`;
      // The size as the packed record holds it, ten digits.
      expect(await redis.hget(inflight, one)).toBe(`1 0000000003 ${store.nodeId}/7 b`);
      // four as format 1 left a held message: the holder alone (its size read from the record).
      await redis.hset(inflight, four, `${store.nodeId}/f`);
      for (const wrong of ['7', ' b', '2 b', 'b ', 'f ', ''])
        expect(await store.ack('q', ids, wrong)).toEqual([]);
      expect(await store.ack('q', ids, 'b')).toEqual([two]);
      expect(await store.ack('q', ids, '1 2 b')).toEqual([three]);
      expect(await store.ack('q', ids, 'f')).toEqual([four]);
      expect(await store.counts('q')).toEqual({ ready: 0, inFlight: 1, delayed: 0, bytes: 3 });
      expect(await store.ack('q', [one, one], '7 b')).toEqual([one]);
      expect(await store.counts('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
    } finally {
      redis.disconnect();
    }
  });

  it("keeps a queue's inflight, records and meta hashes in the hashtable encoding, their pad fields out of peek, purge and delete", async () => {
    const prefix = fresh();
    const store = await open(prefix);
    await store.createQueue('q');
    const [id] = await store.enqueue('q', [record('a')]);
    await store.take('q', 1, { holder: 'h', now: Date.now() });
    const redis = new Redis(REDIS_URL);
    try {
      const key = `${prefix}{q:q}:inflight`;
      expect(await redis.object('ENCODING', key)).toBe('hashtable');
      expect((await redis.hkeys(key)).sort()).toEqual(['', id]);
      // Small messages: records and meta would otherwise be listpacks, scanned on every lookup.
      // A message gets a meta value once it has a delivery count to keep (released here).
      expect(await redis.object('ENCODING', `${prefix}{q:q}:records`)).toBe('hashtable');
      expect(await redis.exists(`${prefix}{q:q}:meta`)).toBe(0);
      expect(await store.release('q', [id as string], 'h')).toEqual([id]);
      expect(await redis.object('ENCODING', `${prefix}{q:q}:meta`)).toBe('hashtable');
      expect(await redis.hget(`${prefix}{q:q}:meta`, id as string)).toBe('1 1');
      await store.take('q', 1, { holder: 'h', now: Date.now() });
      expect((await store.peek('q', 10, { includeInFlight: true })).map((m) => m.id)).toEqual([id]);
      const [other] = await store.enqueue('q', [record('b')]);
      expect((await store.peek('q', 10)).map((m) => m.id)).toEqual([other]);
      expect(await store.purge('q')).toBe(1);
      expect(await store.counts('q')).toMatchObject({ ready: 0, bytes: 1 });
      await store.deleteQueue('q');
      expect(await keysUnder(`${prefix}{q:q}:*`)).toEqual([`${prefix}{q:q}:seq`]);
    } finally {
      redis.disconnect();
    }
  });

  it('store format: marks the store and its liveness key with format 5; refuses a live node of format 4 and data of a newer format', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.get(`${prefix}format`)).toBe('5');
      expect(await redis.get(`${prefix}node:${store.nodeId}`)).toBe('5');
      // A node of the earlier format, alive: a second node must not join it.
      await redis.sadd(`${prefix}nodes`, 'old-node');
      await redis.set(`${prefix}node:old-node`, '4', 'PX', 10_000);
      const beside = await redisStore(prefix)
        .open()
        .catch((e: unknown) => e);
      expect(beside).toBeInstanceOf(StoreError);
      expect(String(beside)).toMatch(/node old-node uses this Redis store in format 4 and this one in 5/);
      // Once it is gone (its liveness key lapsed), a node opens; data of a newer format refuses it.
      await redis.del(`${prefix}node:old-node`);
      await open(prefix);
      await redis.set(`${prefix}format`, '6');
      const newer = await redisStore(prefix)
        .open()
        .catch((e: unknown) => e);
      expect(newer).toBeInstanceOf(StoreError);
      expect(String(newer)).toMatch(/written by a newer Conveyor \(store format 6/);
    } finally {
      redis.disconnect();
    }
  });

  it('a record packed by format 4 (version 1: no body size in its head) is taken, its size read from its parts, and acked', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    const redis = new Redis(REDIS_URL);
    try {
      await store.createQueue('q');
      const [id = ''] = await store.enqueue('q', [record('hello')]);
      const key = `${prefix}{q:q}:records`;
      const packed = (await redis.hgetBuffer(key, id)) as Buffer;
      expect(packed[0]).toBe(2);
      expect(packed.toString('latin1', 18, 28)).toBe('0000000005');
      // The same record as version 1 wrote it: the ten digits left out.
      const v1 = Buffer.concat([packed.subarray(0, 18), packed.subarray(28)]);
      v1[0] = 1;
      await redis.hset(key, id, v1);
      const [taken] = await store.take('q', 1, { holder: 'h', now: Date.now() });
      expect(taken?.message.body.toString()).toBe('hello');
      expect(taken?.message.exchange).toBe('ex');
      // Released, it has a meta value (its count): taken again beside a first delivery, the reply
      // carries a head per message (takeIds), the version-1 record among them.
      await store.release('q', [id], 'h');
      await store.enqueue('q', [record('fresh')]);
      const again = await store.take('q', 2, { holder: 'h', now: Date.now() });
      expect(again.map((m) => [m.message.body.toString(), m.deliveryCount])).toEqual([
        ['hello', 2],
        ['fresh', 1],
      ]);
      await store.ack('q', [again[1]?.id ?? ''], 'h');
      expect(await store.ack('q', [id], 'h')).toEqual([id]);
      expect(await store.counts('q')).toMatchObject({ ready: 0, inFlight: 0, bytes: 0 });
    } finally {
      redis.disconnect();
    }
  });

  it('upgrade: a node of format 4 pads the dense meta hashes format 3 wrote and reads their counts; per-holder sets become counts', async () => {
    const prefix = fresh();
    const a = await open(prefix);
    await a.createQueue('q');
    const [id, held] = await a.enqueue('q', [record('three'), record('held')]);
    await a.close();
    const redis = new Redis(REDIS_URL);
    const base = `${prefix}{q:q}:`;
    try {
      // As format 3 left it: a meta value for each message, no pad field; a message held by a
      // node that is gone, in its holder's set.
      await redis.hset(`${base}meta`, id as string, '5 2', held as string, '4 1');
      await redis.lrem(`${base}fresh`, 1, held as string);
      await redis.hset(`${base}inflight`, held as string, '1 4 gone-node/h');
      await redis.hincrby(`${base}counts`, 'ready', -1);
      await redis.hincrby(`${base}counts`, 'inFlight', 1);
      await redis.sadd(`${base}holders`, 'gone-node/h');
      await redis.sadd(`${base}h:gone-node/h`, held as string);
      await redis.set(`${prefix}format`, '3');
      const b = await open(prefix);
      expect(await redis.get(`${prefix}format`)).toBe('5');
      expect((await redis.hkeys(`${base}meta`)).sort()).toEqual(['', id, held].sort());
      expect(await redis.hgetall(`${base}holding`)).toEqual({ 'gone-node/h': '1' });
      expect(await redis.exists(`${base}holders`, `${base}h:gone-node/h`)).toBe(0);
      expect(await b.counts('q')).toMatchObject({ ready: 1, inFlight: 1 });
      await redis.hdel(`${base}inflight`, held as string);
      await redis.hdel(`${base}holding`, 'gone-node/h');
      await redis.hincrby(`${base}counts`, 'inFlight', -1);
      const [m] = await b.take('q', 1, { holder: 'h', now: Date.now() });
      expect(m?.deliveryCount).toBe(3);
      expect(await redis.hgetall(`${base}holding`)).toEqual({ [`${b.nodeId}/h`]: '1' });
      expect(await b.ack('q', [id as string], 'h')).toEqual([id]);
      expect(await redis.exists(`${base}holding`)).toBe(0);
      await redis.hdel(`${base}meta`, held as string);
      expect(await redis.hkeys(`${base}meta`)).toEqual(['']);
    } finally {
      redis.disconnect();
    }
  });

  it('upgrade: a node of format 4 moves records of formats 1 and 2 (a hash per message) into the queue hashes, then reads, redelivers and acks them', async () => {
    const prefix = fresh();
    const a = await open(prefix);
    await a.createQueue('q');
    const ids = (await a.enqueue('q', [
      record('old one'),
      record('old two'),
      record('two three'),
    ])) as string[];
    const [one, two, three] = ids as [string, string, string];
    await a.take('q', 1, { holder: 'h', now: Date.now() });
    const redis = new Redis(REDIS_URL);
    const base = `${prefix}{q:q}:`;
    try {
      // Rewrite the store as formats 1 (one, held as format 1 held: bare holder, raised count in
      // the record; two) and 2 (three) wrote it.
      const format1 = (text: string, count: string) => ({
        e: 'ex',
        k: 'rk',
        p: '{"headers":{"h":"v"}}',
        b: text,
        t: '42',
        x: '9999999999999',
        c: count,
        d: '1',
        s: String(text.length),
      });
      await redis.hset(`${base}m:${one}`, format1('old one', '1'));
      await redis.hset(`${base}inflight`, one, `${a.nodeId}/h`);
      await redis.hset(`${base}m:${two}`, format1('old two', '0'));
      const packed = await redis.hgetBuffer(`${base}records`, three);
      await redis.hset(`${base}m:${three}`, { v: packed!, s: '9', c: '0' });
      await redis.hdel(`${base}records`, ...ids);
      await redis.hdel(`${base}meta`, ...ids);
      await redis.set(`${prefix}format`, '2');

      const b = await open(prefix);
      expect(await redis.get(`${prefix}format`)).toBe('5');
      expect(await keysUnder(`${base}m:*`)).toEqual([]);
      // '' is the pad field the enqueue above wrote (see prelude.ts).
      expect((await redis.hkeys(`${base}records`)).sort()).toEqual(['', ...ids].sort());
      expect(
        (await b.peek('q', 3, { includeInFlight: true })).map((m) => [m.id, m.state, m.deliveryCount]),
      ).toEqual([
        [one, 'in-flight', 1],
        [two, 'ready', 0],
        [three, 'ready', 0],
      ]);
      expect(await a.release('q', [one], 'h')).toEqual([one]);
      const taken = await b.take('q', 3, { holder: 'h2', now: Date.now() });
      expect(taken[0]).toEqual({
        id: one,
        message: {
          exchange: 'ex',
          routingKey: 'rk',
          properties: { headers: { h: 'v' } },
          body: Buffer.from('old one'),
        },
        enqueuedAt: 42,
        expiresAt: 9999999999999,
        deliveryCount: 2,
        durable: true,
      });
      expect(taken.map((m) => [m.id, m.deliveryCount, Buffer.from(m.message.body).toString()])).toEqual([
        [one, 2, 'old one'],
        [two, 1, 'old two'],
        [three, 1, 'two three'],
      ]);
      expect(await b.counts('q')).toEqual({ ready: 0, inFlight: 3, delayed: 0, bytes: 7 + 7 + 9 });
      expect(await b.ack('q', ids, 'h2')).toEqual(ids);
      expect(await b.counts('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, bytes: 0 });
      // Nothing is left but the pad fields.
      for (const hash of ['records', 'meta']) expect(await redis.hkeys(`${base}${hash}`)).toEqual(['']);
    } finally {
      redis.disconnect();
    }
  });

  it('a delivery count raised while held returns to the meta hash when the message does (nack, lease expiry, holder gone)', async () => {
    const prefix = fresh();
    const store = await open(prefix);
    await store.createQueue('q');
    const [id] = (await store.enqueue('q', [record('a')])) as [string];
    const redis = new Redis(REDIS_URL);
    try {
      const take = async () =>
        (await store.take('q', 1, { holder: 'h', now: Date.now(), leaseUntil: Date.now() + 50 }))[0];
      expect((await take())?.deliveryCount).toBe(1);
      await store.release('q', [id], 'h', { readyAt: Date.now() - 1 });
      expect(await redis.hget(`${prefix}{q:q}:meta`, id)).toMatch(/^1 1 \d+$/);
      expect((await take())?.deliveryCount).toBe(2);
      expect(await store.expireLeases('q', Date.now() + 1_000)).toBe(1);
      expect((await take())?.deliveryCount).toBe(3);
      expect(await store.releaseHolder('h')).toBe(1);
      expect((await store.peek('q', 1))[0]?.deliveryCount).toBe(3);
      expect((await take())?.deliveryCount).toBe(4);
    } finally {
      redis.disconnect();
    }
  });

  it('maps a missing queue to QueueNotFoundError with its name', async () => {
    const store = await open(fresh());
    const err = await store.counts('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueNotFoundError);
    expect((err as QueueNotFoundError).queue).toBe('nope');
  });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `channel` has `n` subscribers in Redis. */
async function subscribers(channel: string, n: number): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const deadline = Date.now() + 3_000;
    for (;;) {
      const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(count) === n || Date.now() > deadline) return;
      await sleep(5);
    }
  } finally {
    redis.disconnect();
  }
}

describe('RedisStore connection errors', () => {
  it("reports its connection's errors through onError, not ioredis's own print past the log", async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const reported: unknown[] = [];
    // Port 1: nothing listens, so every connect is refused.
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', onError: (err) => reported.push(err) });
    try {
      await expect(store.open()).rejects.toBeInstanceOf(StoreError);
      expect(reported.length).toBeGreaterThan(0);
      expect(String(reported[0])).toMatch(/ECONNREFUSED/);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
      await store.close().catch((err: unknown) => reported.push(err));
    }
  });

  it.skipIf(skip !== undefined)(
    'a store that refuses at open (data of a newer format) reports no outage: the disconnect is its own',
    async () => {
      const prefix = `conveyor-test-refuse:${randomUUID().slice(0, 8)}:`;
      const redis = new Redis(REDIS_URL);
      const outages: unknown[] = [];
      try {
        await redis.set(`${prefix}format`, '999');
        const store = new RedisStore({
          url: REDIS_URL,
          prefix,
          onConnection: (event) => outages.push(event),
          onError: () => {},
        });
        await expect(store.open()).rejects.toThrow(/newer Conveyor/);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(outages).toEqual([]);
      } finally {
        await redis.del(`${prefix}format`);
        redis.disconnect();
      }
    },
  );
});
