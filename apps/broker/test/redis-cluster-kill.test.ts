// Issue 17's crash test for moves between shards: three `conveyor start` nodes over a 3-master
// Redis Cluster the test starts, a work queue that dead-letters into a queue on another master,
// consumers rejecting everything, the rejecting node SIGKILLed mid-way. Each rejection is a
// four-step move between shards; whatever the dead node left half-done is finished by a survivor's
// sweep. Every confirmed message must reach the dead-letter queue exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import {
  clusterUnavailable,
  queueHome,
  startCluster,
  type TestCluster,
} from '../../../packages/store-redis/test/redis-cluster-fixture.js';

const TOTAL = 3_000;
const KILL_AFTER_REJECTS = 800;
const NODES = [0, 1, 2];
const VICTIM = 2;
const WORK = 'xshard-work';

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const skip = clusterUnavailable();

describe.skipIf(skip !== undefined)(
  `SIGKILL during moves between Cluster shards${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const prefix = `conveyor-e2e-xshard:${randomUUID().slice(0, 8)}:`;
    let cluster: TestCluster;
    let dir: string;
    let nodes: RunningCli[] = [];

    beforeAll(async () => {
      cluster = await startCluster();
      dir = mkdtempSync(join(tmpdir(), 'conveyor-cluster-kill-'));
      const store = `${cluster.url}?prefix=${encodeURIComponent(prefix)}&holderTtlMs=1000`;
      nodes = await Promise.all(
        NODES.map(() => startCli([...EPHEMERAL_PORTS, '--store', store, '--log-level', 'warn'], dir)),
      );
    }, 90_000);

    afterAll(async () => {
      for (const node of nodes) if (node.child.exitCode === null) await node.stop('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
      await cluster?.stop();
    });

    it('every confirmed message reaches the dead-letter queue on the other shard exactly once', async () => {
      const url = (k: number) => `amqp://guest:guest@127.0.0.1:${nodes[k]!.ports.get('amqp')}`;
      const connections: ChannelModel[] = [];
      const errors: string[] = [];
      const connect = async (k: number) => {
        const c = await amqp.connect(url(k));
        c.on('error', (e: Error) => k !== VICTIM && errors.push(`node ${k}: ${e.message}`));
        connections.push(c);
        return c;
      };
      try {
        const admin = await (await connect(0)).createChannel();
        await admin.assertQueue(WORK, { durable: true });
        // A dead-letter queue whose slot a different master serves than the work queue's.
        const workMaster = (await queueHome(cluster, prefix, WORK))?.master;
        expect(workMaster).toBeDefined();
        let dead = '';
        for (let i = 0; dead === ''; i++) {
          const name = `xshard-dead-${i}`;
          await admin.assertQueue(name, { durable: true });
          if ((await queueHome(cluster, prefix, name))?.master !== workMaster) dead = name;
        }
        // Declared anew with its dead-letter target: every node must follow the new definition.
        await admin.deleteQueue(WORK);
        await admin.assertQueue(WORK, {
          durable: true,
          arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead },
        });

        const confirmed = new Set<string>();
        const publisher = await (await connect(0)).createConfirmChannel();
        for (let i = 0; i < TOTAL; i++) {
          const id = `m-${i}`;
          publisher.publish('', WORK, Buffer.from(id), { persistent: true, messageId: id }, (err) => {
            if (!err) confirmed.add(id);
          });
        }
        await publisher.waitForConfirms();
        expect(confirmed.size).toBe(TOTAL);

        // The victim rejects alone until it is killed, so it dies in the middle of a move; the
        // survivors take over the rest.
        let rejects = 0;
        let killing: Promise<unknown> | undefined;
        const rejectAll = async (k: number) => {
          const channel = await (await connect(k)).createChannel();
          channel.on('error', (e: Error) => k !== VICTIM && errors.push(`consumer ${k}: ${e.message}`));
          await channel.prefetch(50);
          await channel.consume(WORK, (msg) => {
            if (!msg || (k === VICTIM && killing)) return;
            channel.nack(msg, false, false); // to the dead-letter queue, across shards
            if (k === VICTIM && ++rejects >= KILL_AFTER_REJECTS) killing = nodes[VICTIM]!.stop('SIGKILL');
          });
        };
        await rejectAll(VICTIM);
        await waitUntil(
          () => killing !== undefined,
          60_000,
          () => `${KILL_AFTER_REJECTS} rejects (at ${rejects})`,
        );
        await killing;
        for (const k of NODES) if (k !== VICTIM) await rejectAll(k);

        const arrived = new Map<string, number>();
        const reader = await (await connect(0)).createChannel();
        await reader.consume(dead, (msg) => {
          if (!msg) return;
          const id = msg.properties.messageId as string;
          arrived.set(id, (arrived.get(id) ?? 0) + 1);
          reader.ack(msg);
        });
        await waitUntil(
          () => arrived.size >= TOTAL,
          30_000,
          () => `${TOTAL} dead letters (at ${arrived.size})`,
        );
        // Time for a duplicate to show, and for the work queue to be seen empty.
        await new Promise((r) => setTimeout(r, 1_500));
        const work = await admin.checkQueue(WORK);
        expect(work.messageCount).toBe(0);
        expect([...confirmed].filter((id) => !arrived.has(id))).toEqual([]);
        expect([...arrived].filter(([, n]) => n > 1)).toEqual([]);
        expect(arrived.size).toBe(TOTAL);
        expect(errors).toEqual([]);
      } finally {
        for (const c of connections) await c.close().catch((err: unknown) => errors.push(String(err)));
      }
    }, 180_000);
  },
);
