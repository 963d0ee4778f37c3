// Three `conveyor start --store redis://…` processes over one Redis, AMQP clients on different nodes.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';
import { api } from './support/http-api.js';
import {
  deletePrefix,
  REDIS_URL,
  redisUnavailable,
} from '../../../packages/store-redis/test/redis-fixture.js';

const skip = await redisUnavailable();

describe.skipIf(skip !== undefined)(`three nodes over one Redis${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const prefix = `conveyor-e2e:${randomUUID().slice(0, 8)}:`;
  // A short liveness TTL so a killed node's deliveries come back within the test.
  const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}&holderTtlMs=600`;
  let dir: string;
  let nodes: RunningCli[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-nodes-'));
    nodes = await Promise.all(
      [0, 1, 2].map(() => startCli([...EPHEMERAL_PORTS, '--store', store, '--log-level', 'warn'], dir)),
    );
  });

  afterAll(async () => {
    for (const node of nodes) if (node.child.exitCode === null) await node.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  it("logs Redis's persistence warning at start", async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    redis.disconnect();
    const expected =
      appendonly === 'yes' ? undefined : save === '' ? /keeps nothing on disk/ : /keeps only RDB snapshots/;
    for (const node of nodes) {
      if (expected) expect(node.stderr()).toMatch(expected);
      else expect(node.stderr()).not.toMatch(/keeps (nothing|only)/);
    }
  });

  it('competing AMQP consumers on three nodes handle every message confirmed on one node exactly once', async () => {
    const amqp = await import('amqplib');
    const connections = await Promise.all(
      nodes.map((n) => amqp.connect(`amqp://guest:guest@127.0.0.1:${n.ports.get('amqp')}`)),
    );
    try {
      const total = 500;
      const publisher = await connections[0]!.createConfirmChannel();
      await publisher.assertQueue('work', { durable: true });
      for (let i = 0; i < total; i++)
        publisher.sendToQueue('work', Buffer.from(String(i)), { persistent: true });
      await publisher.waitForConfirms();
      const seen = new Map<string, number>();
      const perNode = [0, 0, 0];
      await Promise.all(
        connections.map(async (connection, k) => {
          const channel = await connection.createChannel();
          await channel.assertQueue('work', { durable: true });
          await channel.prefetch(10);
          await channel.consume('work', (msg) => {
            if (!msg) return;
            const body = msg.content.toString();
            seen.set(body, (seen.get(body) ?? 0) + 1);
            perNode[k]!++;
            channel.ack(msg);
          });
        }),
      );
      const deadline = Date.now() + 15_000;
      while (seen.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.size).toBe(total);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    } finally {
      for (const c of connections) await c.close();
    }
  });

  it('a message sent on one node is peeked on a second and taken by id on the third (operator commands)', async () => {
    const conveyor = (node: RunningCli, ...args: string[]) =>
      runCli([...args, '--url', `http://127.0.0.1:${node.ports.get('http')}`], dir);
    const declared = await api(nodes[0]!.ports.get('http')!).call('PUT', '/api/queues/%2F/inspect', {
      durable: true,
    });
    expect(declared.status).toBeLessThan(300);
    expect((await conveyor(nodes[0]!, 'send', 'inspect', 'first')).code).toBe(0);
    expect((await conveyor(nodes[0]!, 'send', 'inspect', 'second')).code).toBe(0);
    const peek = await conveyor(nodes[1]!, 'peek', 'inspect', '-n', '5', '--json');
    expect(peek.code).toBe(0);
    const peeked = JSON.parse(peek.stdout) as { id: string }[];
    expect(peeked).toHaveLength(2);
    const take = await conveyor(nodes[2]!, 'take', 'inspect', peeked[1]!.id, '--ack');
    expect(take.code).toBe(0);
    expect(take.stdout).toContain('\nsecond\nacked\n');
    const left = JSON.parse((await conveyor(nodes[1]!, 'count', 'inspect', '--json')).stdout) as {
      ready: number;
      inFlight: number;
    };
    expect(left).toMatchObject({ ready: 1, inFlight: 0 });
  });

  it('deliveries held by a SIGKILLed node come back on another node, redelivered', async () => {
    const amqp = await import('amqplib');
    const [survivor, victim] = [nodes[0]!, nodes[2]!];
    const a = await amqp.connect(`amqp://guest:guest@127.0.0.1:${survivor.ports.get('amqp')}`);
    const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${victim.ports.get('amqp')}`);
    c.on('error', () => undefined); // its node is killed below
    try {
      const publisher = await a.createConfirmChannel();
      await publisher.assertQueue('held', { durable: true });
      for (let i = 0; i < 5; i++) publisher.sendToQueue('held', Buffer.from(`m${i}`), { persistent: true });
      await publisher.waitForConfirms();
      const consumer = await c.createChannel();
      await consumer.assertQueue('held', { durable: true });
      await consumer.prefetch(5);
      let held = 0;
      await consumer.consume('held', () => void held++); // never acks
      while (held < 5) await new Promise((r) => setTimeout(r, 10));
      await victim.stop('SIGKILL');
      const getter = await a.createChannel();
      expect(await getter.get('held')).toBe(false); // all five are still held by the dead node
      const back: { body: string; redelivered: boolean }[] = [];
      const deadline = Date.now() + 10_000;
      while (back.length < 5 && Date.now() < deadline) {
        const msg = await getter.get('held', { noAck: true });
        if (msg) back.push({ body: msg.content.toString(), redelivered: msg.fields.redelivered });
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(back).toEqual([0, 1, 2, 3, 4].map((i) => ({ body: `m${i}`, redelivered: true })));
    } finally {
      await a.close();
      await c.close().catch(() => undefined);
    }
  });
});
