// A `conveyor start --store redis://…` node whose Redis becomes unreachable for a while: its log
// says so once and says when it is back, and the node serves again.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import { cuttingProxy } from '../../../packages/store-redis/test/cutting-proxy.js';
import {
  deletePrefix,
  REDIS_URL,
  redisUnavailable,
} from '../../../packages/store-redis/test/redis-fixture.js';

const skip = await redisUnavailable();

/** The node's JSON log lines with this `msg`. */
const logged = (node: RunningCli, msg: string): Record<string, unknown>[] =>
  node
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === msg);

describe.skipIf(skip !== undefined)(
  `a node whose Redis goes away${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const prefix = `conveyor-outage:${randomUUID().slice(0, 8)}:`;
    let dir: string;
    let proxy: Awaited<ReturnType<typeof cuttingProxy>>;
    let node: RunningCli;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-outage-'));
      proxy = await cuttingProxy(REDIS_URL);
      const store = `${proxy.url}?prefix=${encodeURIComponent(prefix)}`;
      node = await startCli([...EPHEMERAL_PORTS, '--store', store, '--log-level', 'info'], dir);
    });

    afterAll(async () => {
      if (node?.child.exitCode === null) await node.stop('SIGTERM');
      await proxy?.close();
      rmSync(dir, { recursive: true, force: true });
      await deletePrefix(prefix);
    });

    it('logs the loss once per connection however many reconnects fail, logs when it is back, and serves again', async () => {
      await proxy.refuse();
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const lost = logged(node, 'redis connection lost, reconnecting');
      expect(lost.map((e) => [e.level, e.connection]).sort()).toEqual([
        [50, 'commands'],
        [50, 'subscriptions'],
      ]);
      expect(logged(node, 'redis store')).toEqual([]); // no line per failed reconnect
      await proxy.accept();
      await expect.poll(() => logged(node, 'redis connection restored').length, { timeout: 10_000 }).toBe(2);
      for (const back of logged(node, 'redis connection restored')) {
        expect(back.level).toBe(30);
        expect(back.failedReconnects).toBeGreaterThanOrEqual(3);
      }
      const amqp = await import('amqplib');
      const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${node.ports.get('amqp')}`);
      try {
        const channel = await connection.createConfirmChannel();
        await channel.assertQueue('after-outage', { durable: true });
        channel.sendToQueue('after-outage', Buffer.from('back'), { persistent: true });
        await channel.waitForConfirms();
        const got = await channel.get('after-outage', { noAck: true });
        expect(got && got.content.toString()).toBe('back');
      } finally {
        await connection.close();
      }
      expect(logged(node, 'redis connection lost, reconnecting')).toHaveLength(2);
    });
  },
);
