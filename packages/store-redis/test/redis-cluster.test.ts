// What only a Redis Cluster shows (issue 17): the cluster refuses a script that leaves its slot,
// queues spread over the masters, and a move between shards that its node abandoned half-way
// (after any of its four steps) is completed by the sweep exactly once.
import { Broker, QueueNotFoundError, StoreError, type QueueRecordInput } from '@conveyor/core';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyLayout, RedisStore } from '../src/index.js';
import { recordArgs } from '../src/record-codec.js';
import { splitUrl } from '../src/redis-url.js';
import { queueScripts, type ScriptName } from '../src/scripts/queue-scripts.js';
import { clusterUnavailable, masterPortOf, startCluster, type TestCluster } from './redis-cluster-fixture.js';
import { uniquePrefix } from './redis-fixture.js';

const skip = clusterUnavailable();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const record = (body: string): QueueRecordInput => ({
  message: { exchange: 'ex', routingKey: 'rk', properties: {}, body: Buffer.from(body) },
  enqueuedAt: 1,
  durable: true,
});
const bodies = (ms: { message: { body: Uint8Array } }[]) =>
  ms.map((m) => Buffer.from(m.message.body).toString());

/** How many WAIT calls each port's Redis has run (INFO commandstats). */
async function waitCalls(ports: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const port of ports) {
    const node = new Redis({ host: '127.0.0.1', port });
    try {
      const stats = await node.info('commandstats');
      out.set(port, Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0));
    } finally {
      node.disconnect();
    }
  }
  return out;
}

/** Per port, how many WAIT calls ran between two readings. */
const waitsBetween = (before: Map<number, number>, after: Map<number, number>) =>
  new Map([...after].map(([port, n]) => [port, n - (before.get(port) ?? 0)]));

describe('redis+cluster:// URLs', () => {
  it('name the seed nodes, credentials and TLS, and keep our own query options', () => {
    expect(splitUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]?prefix=app:&holderTtlMs=500')).toEqual(
      {
        url: '',
        prefix: 'app:',
        holderTtlMs: 500,
        cluster: {
          nodes: [
            { host: '10.0.0.1', port: 7000 },
            { host: '10.0.0.2', port: 7001 },
            { host: '::1', port: 6379 },
          ],
          tls: false,
        },
      },
    );
    expect(splitUrl('rediss+cluster://app:s%40cret@h1:7000').cluster).toEqual({
      nodes: [{ host: 'h1', port: 7000 }],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
    expect(() => splitUrl('redis+cluster://h1:7000,:x')).toThrow(StoreError);
  });
});

describe.skipIf(skip !== undefined)(
  `RedisStore over a Redis Cluster${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let cluster: TestCluster;
    let raw: Cluster;
    const stores: RedisStore[] = [];
    beforeAll(async () => {
      cluster = await startCluster();
      raw = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
      for (const [name, def] of Object.entries(queueScripts('cluster'))) raw.defineCommand(name, def);
    }, 60_000);
    afterAll(async () => {
      raw?.disconnect();
      await cluster?.stop();
    });
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close();
    });
    const open = async (prefix: string, holderTtlMs = 10_000) => {
      const store = new RedisStore({ url: cluster.url, prefix, holderTtlMs });
      stores.push(store);
      await store.open();
      return store;
    };

    /** Runs one queue script as a node would, outside any store (a node caught between two steps). */
    const script = (prefix: string, name: ScriptName, queue: string, args: (string | number | Buffer)[]) => {
      const keys = keyLayout(prefix, false);
      const fn = (raw as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
      return fn!.call(raw, ...keys.queueKeys(queue), keys.global, keys.queueBase(queue), queue, ...args);
    };

    it('refuses a script with a shebang that touches a key outside its slot, even on the same shard', async () => {
      // Two hash tags in different slots served by one master: without the shebang Redis runs it.
      const owner = async (tag: string) => {
        const slot = Number(await raw.cluster('KEYSLOT', `{${tag}}`));
        const ranges = (await raw.cluster('SLOTS')) as [number, number, [string, number]][];
        return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
      };
      const first = await owner('t0');
      let other = '';
      for (let i = 1; other === ''; i++) if ((await owner(`t${i}`)) === first) other = `t${i}`;
      const body = "redis.call('SET', KEYS[1], '1')\nredis.call('SET', ARGV[1], '1')\nreturn 1";
      await expect(raw.eval(body, 1, '{t0}x', `{${other}}y`)).resolves.toBe(1);
      await expect(raw.eval(`#!lua\n${body}`, 1, '{t0}x', '{t0}y')).resolves.toBe(1);
      await expect(raw.eval(`#!lua\n${body}`, 1, '{t0}x', `{${other}}y`)).rejects.toThrow(/slot/i);
    });

    it('spreads queues over every master', async () => {
      const prefix = uniquePrefix();
      const store = await open(prefix);
      for (let i = 0; i < 12; i++) {
        await store.createQueue(`spread-${i}`);
        await store.enqueue(`spread-${i}`, [record('x')]);
      }
      const perMaster = await Promise.all(
        cluster.ports.map(async (port) => {
          const node = new Redis({ host: '127.0.0.1', port });
          try {
            const [, keys] = await node.scan('0', 'MATCH', `${prefix}{q:spread-*}:counts`, 'COUNT', 10_000);
            return keys.length;
          } finally {
            node.disconnect();
          }
        }),
      );
      expect(perMaster.reduce((a, b) => a + b, 0)).toBe(12);
      expect(perMaster.every((n) => n > 0)).toBe(true);
    });

    it('a move its node abandoned after any of its four steps is finished by the sweep, once', async () => {
      const prefix = uniquePrefix();
      const dying = await open(prefix, 300);
      const survivor = await open(prefix, 300);
      await survivor.createQueue('work');
      await survivor.createQueue('dead');
      await survivor.enqueue('work', ['s1', 's2', 's3', 's4', 'keep'].map(record));
      const held = await dying.take('work', 5, { holder: 'c', now: Date.now() });
      const holder = `${dying.nodeId}/c`;
      const [m1, m2, m3, m4] = held;
      const out = (m: (typeof held)[number], body: string) =>
        script(prefix, 'moveOut', 'work', [holder, 'dead', 1, m.id, ...recordArgs(record(body))]);
      const into = (m: (typeof held)[number], body: string) =>
        script(prefix, 'moveIn', 'dead', ['work', Date.now(), 1, m.id, ...recordArgs(record(body))]);
      await out(m1!, 'd1'); // after step 1
      await out(m2!, 'd2');
      await into(m2!, 'd2'); // after step 2
      await out(m3!, 'd3');
      await into(m3!, 'd3');
      await script(prefix, 'moveDone', 'work', [1, m3!.id]); // after step 3 (the mark and a note are left)
      await out(m4!, 'd4');
      await into(m4!, 'd4');
      await script(prefix, 'moveDone', 'work', [1, m4!.id]);
      await script(prefix, 'moveForget', 'dead', ['work', m4!.id]); // all four: a finished move
      expect(await survivor.counts('work')).toMatchObject({ ready: 0, inFlight: 3 }); // m1, m2 moving; 'keep' held
      await dying.abandon();
      const deadline = Date.now() + 5_000;
      while ((await survivor.counts('work')).inFlight > 0 && Date.now() < deadline) await sleep(50);
      expect(await survivor.counts('work')).toMatchObject({ ready: 1, inFlight: 0, delayed: 0 });
      expect(bodies(await survivor.take('work', 10, { holder: 'h', now: Date.now() }))).toEqual(['keep']);
      expect(await survivor.counts('dead')).toMatchObject({ ready: 4, inFlight: 0 });
      expect(bodies(await survivor.take('dead', 10, { holder: 'h', now: Date.now() })).sort()).toEqual([
        'd1',
        'd2',
        'd3',
        'd4',
      ]);
      // No mark outlives its move, whichever step the node died after.
      const layout = keyLayout(prefix, false);
      expect(await raw.hlen(`${layout.queueBase('dead')}movedIn`)).toBe(0);
      expect(await raw.hlen(`${layout.queueBase('work')}landed`)).toBe(0);
      expect(await raw.hlen(`${layout.queueBase('work')}moving`)).toBe(0);
    });

    it("a live node's cross-slot moves keep no more than the last batch's notes, and none once it closes", async () => {
      const prefix = uniquePrefix();
      const store = await open(prefix);
      const layout = keyLayout(prefix, false);
      const to = 'dl'; // over a Cluster every move takes the four steps, whichever masters serve the two
      await store.createQueue('src');
      await store.createQueue(to);
      await store.enqueue('src', ['a', 'b', 'c'].map(record));
      for (const body of ['a', 'b', 'c']) {
        const [held] = await store.take('src', 1, { holder: 'c', now: Date.now() });
        expect(await store.move('src', [held!.id], 'c', to, [record(`dl-${body}`)])).toEqual([held!.id]);
        expect(await raw.hlen(`${layout.queueBase(to)}movedIn`)).toBe(0);
        expect(await raw.hlen(`${layout.queueBase('src')}landed`)).toBe(1);
      }
      expect(bodies(await store.take(to, 10, { holder: 'h', now: Date.now() }))).toEqual([
        'dl-a',
        'dl-b',
        'dl-c',
      ]);
      await store.close();
      expect(await raw.hlen(`${layout.queueBase('src')}landed`)).toBe(0);
    });

    // Two sweepers replaying one dead node's moves could double a message: one works from intents
    // it read before the other finished those moves and dropped their marks. A claim keeps it to one.
    it('one node at a time sweeps a dead node: nothing while another holds the claim, each message once when two sweep at once', async () => {
      const prefix = uniquePrefix();
      const dying = await open(prefix, 300);
      const [a, b] = [await open(prefix, 60_000), await open(prefix, 60_000)];
      const targets = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
      for (const q of ['work', ...targets]) await a.createQueue(q);
      await a.enqueue('work', targets.map(record));
      const held = await dying.take('work', targets.length, { holder: 'c', now: Date.now() });
      for (const [i, m] of held.entries())
        await script(prefix, 'moveOut', 'work', [
          `${dying.nodeId}/c`,
          targets[i]!,
          1,
          m.id,
          ...recordArgs(record(`moved-${i}`)),
        ]);
      await dying.abandon();
      await sleep(400); // its liveness key lapses
      const claim = `${keyLayout(prefix, false).global}sweeping:${dying.nodeId}`;
      await raw.set(claim, 'another-node', 'PX', 60_000);
      expect(await a.sweepDeadNodes()).toBe(0);
      expect(await a.counts('work')).toMatchObject({ ready: 0, inFlight: 6 });
      for (const q of targets) expect((await a.counts(q)).ready).toBe(0);
      await raw.del(claim);
      const swept = await Promise.all([a.sweepDeadNodes(), b.sweepDeadNodes()]);
      expect(swept.sort()).toEqual([0, 6]);
      expect(await a.counts('work')).toMatchObject({ ready: 0, inFlight: 0 });
      for (const [i, q] of targets.entries())
        expect(bodies(await a.take(q, 10, { holder: 'h', now: Date.now() }))).toEqual([`moved-${i}`]);
    });

    it('a move whose target is gone leaves the message with its holder; a replay whose target is gone returns it to ready', async () => {
      const prefix = uniquePrefix();
      const a = await open(prefix, 300);
      const b = await open(prefix, 300);
      await a.createQueue('work');
      await a.createQueue('dead');
      await a.enqueue('work', [record('x'), record('y')]);
      const [x, y] = await a.take('work', 2, {
        holder: 'c',
        now: Date.now(),
        leaseUntil: Date.now() + 60_000,
      });
      await a.deleteQueue('dead');
      await expect(a.move('work', [x!.id], 'c', 'dead', [record('dx')])).rejects.toBeInstanceOf(
        QueueNotFoundError,
      );
      expect(await a.ack('work', [x!.id], 'c')).toEqual([x!.id]); // still held by c
      await a.createQueue('dead');
      await script(prefix, 'moveOut', 'work', [
        `${a.nodeId}/c`,
        'dead',
        1,
        y!.id,
        ...recordArgs(record('dy')),
      ]);
      await b.deleteQueue('dead');
      await a.abandon();
      const deadline = Date.now() + 5_000;
      while ((await b.counts('work')).ready < 1 && Date.now() < deadline) await sleep(50);
      expect(await b.counts('work')).toMatchObject({ ready: 1, inFlight: 0 });
      expect(bodies(await b.take('work', 10, { holder: 'h', now: Date.now() }))).toEqual(['y']);
    });

    it('a wake-up published in a queue slot on one shard reaches a node subscribed through another', async () => {
      const prefix = uniquePrefix();
      const a = await open(prefix);
      const b = await open(prefix);
      await a.createQueue('w');
      let woken = 0;
      const stop = b.cluster.subscribe('w', () => woken++);
      await sleep(200); // SSUBSCRIBE is under way
      await a.enqueue('w', [record('x')]);
      const deadline = Date.now() + 3_000;
      while (woken === 0 && Date.now() < deadline) await sleep(20);
      stop();
      expect(woken).toBeGreaterThan(0);
    });

    it('sends WAIT to the master that took the write, and refuses the confirm when that shard has too few replicas', async () => {
      const prefix = uniquePrefix();
      const store = new RedisStore({ url: cluster.url, prefix, wait: { replicas: 1, timeoutMs: 100 } });
      stores.push(store);
      await store.open();
      const master = await masterPortOf(cluster, keyLayout(prefix, false).queueBase('w'));
      // No master here has a replica: each write is in, but unconfirmed. A durable queue's
      // creation waits on its own shard, not only on the metadata's.
      for (const act of [() => store.createQueue('w'), () => store.enqueue('w', [record('x')])]) {
        const before = await waitCalls(cluster.ports);
        await expect(act()).rejects.toThrow(/WAIT: 0 of 1 replicas/);
        const waits = waitsBetween(before, await waitCalls(cluster.ports));
        expect(waits.get(master)).toBe(1);
        for (const [port, n] of waits) if (port !== master) expect(n).toBe(0);
      }
      expect(await store.counts('w')).toMatchObject({ ready: 1 });
    });
  },
);

describe.skipIf(skip !== undefined)(
  `RedisStore over a Redis Cluster with a replica per master${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let cluster: TestCluster;
    const stores: RedisStore[] = [];
    beforeAll(async () => {
      cluster = await startCluster({ replicas: 1 });
    }, 90_000);
    afterAll(async () => {
      for (const s of stores.splice(0)) await s.close();
      await cluster?.stop();
    });

    it("confirms a send once the replica of its queue's shard has it, on every master, and a dead-letter move across shards too", async () => {
      const prefix = uniquePrefix();
      const store = new RedisStore({ url: cluster.url, prefix, wait: { replicas: 1, timeoutMs: 5_000 } });
      stores.push(store);
      await store.open();
      const layout = keyLayout(prefix, false);
      // Queues until every master serves one.
      const byMaster = new Map<number, string>();
      for (let i = 0; byMaster.size < 3; i++) {
        const port = await masterPortOf(cluster, layout.queueBase(`q${i}`));
        if (!byMaster.has(port)) byMaster.set(port, `q${i}`);
      }
      const before = await waitCalls(cluster.ports);
      for (const queue of byMaster.values()) {
        await store.createQueue(queue);
        await store.enqueue(queue, [record(queue)]);
      }
      let waits = waitsBetween(before, await waitCalls(cluster.ports));
      // On each queue's master: one WAIT for the queue's creation, one for the send.
      for (const port of byMaster.keys()) expect(waits.get(port)).toBe(2);
      // A move from one master's queue to another's waits on the target's shard before the source lets go.
      const [[, from], [toPort, to]] = [...byMaster];
      const [held] = await store.take(from!, 1, { holder: 'c', now: Date.now() });
      const beforeMove = await waitCalls(cluster.ports);
      expect(await store.move(from!, [held!.id], 'c', to!, [record('moved')])).toEqual([held!.id]);
      waits = waitsBetween(beforeMove, await waitCalls(cluster.ports));
      expect(waits.get(toPort)).toBe(1);
      expect(bodies(await store.take(to!, 10, { holder: 'h', now: Date.now() })).sort()).toEqual([
        'moved',
        to!,
      ]);
      expect(await store.counts(from!)).toMatchObject({ ready: 0, inFlight: 0 });
    });

    // Over a shared store every declaration is recorded, so that all nodes route alike; a
    // transient queue's records die with its node anyway, so they need not reach a replica.
    it('a transient queue and its binding are recorded and removed without WAIT; a durable one waits', async () => {
      const store = new RedisStore({
        url: cluster.url,
        prefix: uniquePrefix(),
        wait: { replicas: 1, timeoutMs: 5_000 },
      });
      const broker = await Broker.open({ store });
      try {
        const vh = broker.vhost();
        const total = async () => [...(await waitCalls(cluster.ports)).values()].reduce((a, b) => a + b, 0);
        let before = await total();
        await vh.declareQueue('t', { durable: false });
        await vh.bindQueue('t', 'amq.topic', 'sensors.#');
        await vh.declareExchange('tx', 'fanout', { durable: false });
        await vh.bindQueue('t', 'tx', '');
        const recorded = (await store.loadMeta('')).length;
        await vh.unbindQueue('t', 'amq.topic', 'sensors.#');
        await vh.bindQueue('t', 'amq.topic', 'other.#');
        await vh.deleteExchange('tx');
        await vh.deleteQueue('t');
        // An exclusive queue ends with its connection: durable or not, it and its bindings are transient.
        await vh.declareQueue('x', { durable: true, exclusive: true }, { owner: 'c1' });
        await vh.bindQueue('x', 'amq.topic', 'sensors.#', {}, 'c1');
        await vh.deleteQueue('x', { owner: 'c1' });
        expect(await total()).toBe(before);
        expect(recorded).toBeGreaterThanOrEqual(4); // recorded all the same: queue, exchange, two bindings
        // A durable queue: its creation and its record wait, and so does its binding's record.
        before = await total();
        await vh.declareQueue('d');
        await vh.bindQueue('d', 'amq.topic', 'sensors.#');
        expect((await total()) - before).toBe(3);
        before = await total();
        await vh.deleteQueue('d');
        expect((await total()) - before).toBe(2); // the queue's record and its binding's
      } finally {
        await broker.close();
      }
    });
  },
);
