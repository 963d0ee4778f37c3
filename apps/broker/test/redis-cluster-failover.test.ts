// Issue 17: two `conveyor start` nodes over a 3-master Redis Cluster with a replica per master,
// confirms waiting for one replica. An AMQP publisher on one node and a consumer on the other run
// while the master of their queue's slot is SIGKILLed; its replica takes over, and the old master
// comes back as the new one's replica. The clients reconnect as real applications do. Every
// message confirmed at any point is consumed, and the nodes serve throughout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import {
  clusterUnavailable,
  masterOfSlot,
  queueHome,
  startCluster,
  type TestCluster,
} from '../../../packages/store-redis/test/redis-cluster-fixture.js';

const QUEUE = 'failover-work';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(50);
  }
}

const skip = clusterUnavailable();

describe.skipIf(skip !== undefined)(
  `AMQP clients through a Redis Cluster master's failover${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const prefix = `conveyor-e2e-failover:${randomUUID().slice(0, 8)}:`;
    let cluster: TestCluster;
    let dir: string;
    let nodes: RunningCli[] = [];

    beforeAll(async () => {
      cluster = await startCluster({ replicas: 1 });
      dir = mkdtempSync(join(tmpdir(), 'conveyor-cluster-failover-'));
      const store = `${cluster.url}?prefix=${encodeURIComponent(prefix)}&wait=replicas:1&waitTimeoutMs=2000`;
      nodes = await Promise.all(
        [0, 1].map(() => startCli([...EPHEMERAL_PORTS, '--store', store, '--log-level', 'warn'], dir)),
      );
    }, 90_000);

    afterAll(async () => {
      for (const node of nodes) if (node.child.exitCode === null) await node.stop('SIGTERM');
      if (dir) rmSync(dir, { recursive: true, force: true });
      await cluster?.stop();
    });

    it('every message confirmed before, during and after the failover is consumed; the nodes stay up', async () => {
      const url = (k: number) => `amqp://guest:guest@127.0.0.1:${nodes[k]!.ports.get('amqp')}`;
      const open = new Set<ChannelModel>();
      const connect = async (k: number) => {
        const c = await amqp.connect(url(k));
        c.on('error', () => {}); // a 541 while the shard is away: the loops below reconnect
        open.add(c);
        c.on('close', () => open.delete(c));
        return c;
      };
      // Declared first: a publish to a queue not yet there is unroutable, and confirmed all the same.
      const admin = await (await connect(0)).createChannel();
      await admin.assertQueue(QUEUE, { durable: true });
      await admin.close();
      const confirmed = new Set<string>();
      const consumed = new Map<string, number>();
      let stopPublishing = false;
      let stopConsuming = false;
      const lost = { publisher: 0, consumer: 0 };
      let nacked = 0;

      // A publisher that resends what was nacked and reconnects if its channel closes; each
      // message counts as confirmed only on its own ack.
      const publishing = (async () => {
        let next = 0;
        let resend: string[] = [];
        while (!stopPublishing) {
          try {
            const channel = await (await connect(0)).createConfirmChannel();
            let open = true;
            channel.on('error', () => {});
            channel.on('close', () => (open = false));
            while (!stopPublishing && open) {
              const ids = resend.length > 0 ? resend : Array.from({ length: 20 }, () => `m-${next++}`);
              resend = [];
              for (const id of ids)
                channel.publish('', QUEUE, Buffer.from(id), { persistent: true, messageId: id }, (err) => {
                  if (!err) return void confirmed.add(id);
                  nacked += 1;
                  resend.push(id);
                });
              // Rejects when any was nacked: resent next round, on the same channel.
              await channel.waitForConfirms().catch(() => sleep(100));
            }
            if (open) await channel.close();
            else lost.publisher += 1;
          } catch {
            lost.publisher += 1;
            await sleep(200);
          }
        }
      })();
      // A consumer on the other node that reconnects.
      const consuming = (async () => {
        while (!stopConsuming) {
          try {
            const connection = await connect(1);
            const closed = new Promise((resolve) => connection.once('close', resolve));
            const channel = await connection.createChannel();
            channel.on('error', () => {});
            await channel.prefetch(50);
            await channel.consume(QUEUE, (msg) => {
              if (!msg) return;
              const id = msg.properties.messageId as string;
              consumed.set(id, (consumed.get(id) ?? 0) + 1);
              channel.ack(msg);
            });
            while (!stopConsuming && open.has(connection)) await sleep(50);
            if (open.has(connection)) await connection.close();
            await closed;
          } catch {
            lost.consumer += 1;
            await sleep(200);
          }
        }
      })();

      try {
        await waitUntil(
          () => confirmed.size >= 500,
          30_000,
          () => `500 confirms (at ${confirmed.size})`,
        );

        const home = await queueHome(cluster, prefix, QUEUE);
        expect(home, 'a master holds the queue').toBeDefined();
        const { master, slot } = home!;
        const other = cluster.ports.find((p) => p !== master) as number;
        await cluster.kill(master);
        await waitUntil(
          async () => ((await masterOfSlot(other, slot)) ?? master) !== master,
          30_000,
          () => 'a replica to take over the slot',
        );
        // The promoted replica has no replica of its own until the old master is back.
        cluster.restart(master);
        const resumed = confirmed.size;
        await waitUntil(
          () => confirmed.size >= resumed + 500,
          45_000,
          () => `500 confirms after the failover (${confirmed.size - resumed})`,
        );
        stopPublishing = true;
        await publishing;
        await waitUntil(
          () => [...confirmed].every((id) => consumed.has(id)),
          30_000,
          () =>
            `every confirmed message consumed (${[...confirmed].filter((id) => !consumed.has(id)).length} left)`,
        );
      } finally {
        stopPublishing = true;
        stopConsuming = true;
        await Promise.all([publishing, consuming]);
        for (const c of open) await c.close().catch((err: unknown) => console.error('close', err));
      }
      // Both nodes are still running. While the shard could not confirm, the publisher was told
      // by nacks and kept its channel (a store failure is a nack, as RabbitMQ nacks on a queue's
      // internal error).
      for (const node of nodes) expect(node.child.exitCode).toBeNull();
      expect(nacked).toBeGreaterThan(0);
      expect(lost.publisher).toBe(0);
      const doubled = [...consumed].filter(([, n]) => n > 1).length;
      expect(doubled).toBeLessThan(confirmed.size / 10); // at least once: a few redelivered
    }, 180_000);
  },
);
