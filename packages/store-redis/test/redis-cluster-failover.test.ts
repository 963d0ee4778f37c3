// A master of a Redis Cluster crashes under load and its replica takes over (issue 17): what was
// confirmed (WAIT for one replica) is there on the promoted replica; with no replica left there,
// confirms are refused until the old master is back as its replica; then the store serves again,
// and another node's wake-ups come from the new master.
import { StoreError, type QueueRecordInput } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyLayout, RedisStore } from '../src/index.js';
import {
  clusterUnavailable,
  masterOfSlot,
  masterPortOf,
  slotOf,
  startCluster,
  type TestCluster,
} from './redis-cluster-fixture.js';
import { uniquePrefix } from './redis-fixture.js';

const skip = clusterUnavailable();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const record = (body: string, readyAt?: number): QueueRecordInput => ({
  message: { exchange: '', routingKey: 'q', properties: {}, body: Buffer.from(body) },
  enqueuedAt: Date.now(),
  durable: true,
  ...(readyAt === undefined ? {} : { readyAt }),
});

describe.skipIf(skip !== undefined)(
  `RedisStore through a Redis Cluster failover${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster({ replicas: 1 });
    }, 90_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it("a queue's master crashes mid-load: every confirmed send is on the promoted replica, once; confirms wait for a replica again; the other node is woken by the new master", async () => {
      const prefix = uniquePrefix();
      const options = {
        url: cluster.url,
        prefix,
        wait: { replicas: 1, timeoutMs: 2_000 },
        onError: () => {},
        onConnection: () => {},
      };
      const a = new RedisStore(options);
      const b = new RedisStore(options);
      await a.open();
      await b.open();
      try {
        await a.createQueue('q');
        const base = keyLayout(prefix, false).queueBase('q');
        const master = await masterPortOf(cluster, base);
        const other = cluster.ports.find((p) => p !== master) as number;
        const slot = await slotOf(cluster, base);
        // B's wake-ups that carry a due time: those of an enqueue of a delayed record, not the
        // re-check its subscription makes by itself when it is back.
        const dueWakes: number[] = [];
        b.cluster.subscribe('q', (dueAt) => {
          if (dueAt !== undefined) dueWakes.push(dueAt);
        });
        await sleep(200);

        const confirmed: string[] = [];
        let failed = 0;
        let sent = 0;
        const batch = async () => {
          const bodies = Array.from({ length: 10 }, () => `m${sent++}`);
          try {
            await a.enqueue(
              'q',
              bodies.map((body) => record(body)),
            );
            confirmed.push(...bodies);
          } catch (err) {
            expect(err).toBeInstanceOf(StoreError); // never anything else, never a hang
            failed += 1;
            await sleep(50);
          }
        };
        for (let i = 0; i < 20; i++) await batch();
        const beforeCrash = confirmed.length;
        await cluster.kill(master);
        // Sends go on through the failover. Once the replica is master its shard has no replica
        // left, so WAIT refuses every confirm ('0 of 1 replicas'): one copy is not what was asked.
        let deadline = Date.now() + 30_000;
        let promoted: number | undefined;
        while (promoted === undefined && Date.now() < deadline) {
          await batch();
          promoted = await masterOfSlot(other, slot).then((p) => (p === master ? undefined : p));
        }
        expect(promoted, 'a replica took over the slot').toBeDefined();
        const failedBefore = failed;
        for (let i = 0; i < 3; i++) await batch();
        expect(failed - failedBefore).toBe(3);
        // The crashed master comes back as the new master's replica; confirms resume.
        cluster.restart(master);
        deadline = Date.now() + 45_000;
        const resumedFrom = confirmed.length;
        while (Date.now() < deadline && confirmed.length < resumedFrom + 200) await batch();
        expect(confirmed.length).toBeGreaterThanOrEqual(resumedFrom + 200);
        expect(resumedFrom).toBeGreaterThanOrEqual(beforeCrash);

        // Every confirmed body is on the new master, none twice; of the failed batches, any part
        // may be there (the outcome of a call whose reply was lost is unknown), but only once.
        const taken = await b.take('q', Number.POSITIVE_INFINITY, { holder: 'reader', now: Date.now() });
        const got = taken.map((m) => Buffer.from(m.message.body).toString());
        expect(new Set(got).size).toBe(got.length);
        const missing = confirmed.filter((body) => !got.includes(body));
        expect(missing).toEqual([]);
        await b.ack(
          'q',
          taken.map((m) => m.id),
          'reader',
        );
        expect(await b.counts('q')).toMatchObject({ ready: 0, inFlight: 0 });

        // The other node's subscription moved to the new master: a delayed send there wakes it.
        const due = Date.now() + 60_000;
        await expect
          .poll(
            async () => {
              await a.enqueue('q', [record('later', due)]);
              return dueWakes.includes(due);
            },
            { timeout: 20_000, interval: 500 },
          )
          .toBe(true);
      } finally {
        await a.close().catch(() => a.abandon());
        await b.close().catch(() => b.abandon());
      }
    }, 90_000);
  },
);
