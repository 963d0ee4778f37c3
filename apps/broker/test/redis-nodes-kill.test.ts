// Issue #9's crash test: three `conveyor start` nodes over one Redis, 20,000 confirmed sends and
// concurrent consumes spread over all three, one node SIGKILLed in the middle. Only what a broker
// confirmed is promised; what the dead node held must come back, redelivered, once its liveness lapses.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import { api } from './support/http-api.js';
import {
  deletePrefix,
  REDIS_URL,
  redisUnavailable,
} from '../../../packages/store-redis/test/redis-fixture.js';

const TOTAL = 20_000;
const KILL_AFTER_CONFIRMS = 8_000;
const PREFETCH = 50;
/** Unconfirmed publishes each publisher keeps in flight. */
const PUBLISH_WINDOW = 300;
/** The victim's consumer acks only its oldest deliveries, so it always holds this many when killed. */
const VICTIM_HOLDS = 40;
const QUEUE = 'crash-work';
const NODES = [0, 1, 2];
const VICTIM = 2;

interface Delivery {
  id: string;
  node: number;
  redelivered: boolean;
  afterKill: boolean;
  at: number;
}

/** What the test observes; the clients write it, the assertions read it. */
interface Observed {
  killedAt?: number;
  deliveries: Delivery[];
  /** Ids the victim's consumer held unacked when its node was killed. */
  victimHeld: Set<string>;
  /** Ids the victim's consumer sent an ack for before the kill. */
  victimAcked: Set<string>;
  confirmed: Set<string>;
  /** Per publishing node: publishes that failed (nack or channel closed) instead of being confirmed. */
  failed: number[];
  clientErrors: string[];
}

async function waitUntil(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Survivors ack at once; the victim acks its oldest deliveries only, holding the newest VICTIM_HOLDS. */
async function consume(connection: ChannelModel, node: number, seen: Observed): Promise<void> {
  const channel = await connection.createChannel();
  channel.on(
    'error',
    (e: Error) => node !== VICTIM && seen.clientErrors.push(`consumer ${node}: ${e.message}`),
  );
  await channel.prefetch(PREFETCH);
  const unacked: ConsumeMessage[] = [];
  await channel.consume(QUEUE, (msg) => {
    if (!msg) return;
    const id = msg.properties.messageId as string;
    const afterKill = seen.killedAt !== undefined;
    seen.deliveries.push({ id, node, redelivered: msg.fields.redelivered, afterKill, at: Date.now() });
    if (node !== VICTIM) return channel.ack(msg);
    if (afterKill) return; // its node is gone
    unacked.push(msg);
    seen.victimHeld.add(id);
    while (unacked.length > VICTIM_HOLDS) {
      const oldest = unacked.shift()!;
      channel.ack(oldest);
      seen.victimHeld.delete(oldest.properties.messageId as string);
      seen.victimAcked.add(oldest.properties.messageId as string);
    }
  });
}

/**
 * Publishes persistent messages with unique ids drawn from one shared counter (so the survivors send
 * what a dead publisher no longer can), at most PUBLISH_WINDOW unconfirmed at a time.
 */
async function publish(
  connection: ChannelModel,
  node: number,
  pool: { next: number },
  seen: Observed,
  onConfirm: () => void,
): Promise<void> {
  const channel = await connection.createConfirmChannel().catch(() => undefined);
  if (!channel) return;
  let closed = false;
  channel.on(
    'error',
    (e: Error) => node !== VICTIM && seen.clientErrors.push(`publisher ${node}: ${e.message}`),
  );
  channel.on('close', () => void (closed = true));
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const settled = (): void => {
    outstanding--;
    wake?.();
  };
  const window = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  while (pool.next < TOTAL && !closed) {
    if (outstanding >= PUBLISH_WINDOW) {
      await window();
      continue;
    }
    const id = `m-${pool.next++}`;
    outstanding++;
    try {
      channel.publish('', QUEUE, Buffer.from(id), { persistent: true, messageId: id }, (err) => {
        if (err === null || err === undefined) seen.confirmed.add(id);
        else seen.failed[node]!++;
        settled();
        onConfirm();
      });
    } catch {
      seen.failed[node]!++;
      settled();
      break; // the channel closed under us
    }
  }
  while (outstanding > 0 && !closed) await window();
  if (!closed) await channel.close();
}

const skip = await redisUnavailable();

describe.skipIf(skip !== undefined)(
  `SIGKILL of one of three nodes${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const prefix = `conveyor-e2e-kill:${randomUUID().slice(0, 8)}:`;
    // A short liveness TTL so the dead node's deliveries come back within the test.
    const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}&holderTtlMs=1000`;
    let dir: string;
    let nodes: RunningCli[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-kill-'));
      nodes = await Promise.all(
        NODES.map(() => startCli([...EPHEMERAL_PORTS, '--store', store, '--log-level', 'warn'], dir)),
      );
    });

    afterAll(async () => {
      for (const node of nodes) if (node.child.exitCode === null) await node.stop('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
      await deletePrefix(prefix);
    });

    it('every confirmed message is acked at least once; what the dead node held comes back redelivered', async () => {
      const url = (k: number): string => `amqp://guest:guest@127.0.0.1:${nodes[k]!.ports.get('amqp')}`;
      const seen: Observed = {
        deliveries: [],
        victimHeld: new Set(),
        victimAcked: new Set(),
        confirmed: new Set(),
        failed: [0, 0, 0],
        clientErrors: [],
      };
      // Publishers and consumers on separate connections, one of each per node.
      const connections: ChannelModel[] = [];
      const connect = async (k: number): Promise<ChannelModel> => {
        const connection = await amqp.connect(url(k));
        connections.push(connection);
        connection.on(
          'error',
          (e: Error) => k !== VICTIM && seen.clientErrors.push(`node ${k}: ${e.message}`),
        );
        return connection;
      };
      try {
        const publishers = await Promise.all(NODES.map(connect));
        const consumers = await Promise.all(NODES.map(connect));
        const setup = await publishers[0]!.createChannel();
        await setup.assertQueue(QUEUE, { durable: true });
        await setup.close();
        for (const k of NODES) await consume(consumers[k]!, k, seen);

        let killing: Promise<unknown> | undefined;
        const killWhenDue = (): void => {
          if (killing !== undefined || seen.confirmed.size < KILL_AFTER_CONFIRMS) return;
          seen.killedAt = Date.now();
          killing = nodes[VICTIM]!.stop('SIGKILL');
        };
        const startedAt = Date.now();
        const pool = { next: 0 };
        await Promise.all(NODES.map((k) => publish(publishers[k]!, k, pool, seen, killWhenDue)));
        const publishedAt = Date.now();
        expect(killing, 'the kill happened while publishing').toBeDefined();
        await killing;
        const killedAt = seen.killedAt!;

        // Every confirmed id is acked by a survivor, or was acked by the victim before it died; every
        // delivery the victim held comes back to a survivor, redelivered.
        const ackedBySurvivors = new Set<string>();
        const redeliveredToSurvivors = new Map<string, number>();
        let counted = 0;
        const tally = (): void => {
          for (; counted < seen.deliveries.length; counted++) {
            const d = seen.deliveries[counted]!;
            if (d.node === VICTIM) continue;
            ackedBySurvivors.add(d.id);
            if (d.redelivered && !redeliveredToSurvivors.has(d.id)) redeliveredToSurvivors.set(d.id, d.at);
          }
        };
        const unacked = (): string[] =>
          [...seen.confirmed].filter((id) => !ackedBySurvivors.has(id) && !seen.victimAcked.has(id));
        const notBack = (): string[] => [...seen.victimHeld].filter((id) => !redeliveredToSurvivors.has(id));
        await waitUntil(
          () => (tally(), unacked().length === 0 && notBack().length === 0),
          30_000,
          () =>
            `${unacked().length} confirmed ids never acked (e.g. ${unacked().slice(0, 3)}), ` +
            `${notBack().length} of ${seen.victimHeld.size} held ids not back`,
        );
        const allAckedAt = Date.now();
        const heldBackAt = Math.max(...[...seen.victimHeld].map((id) => redeliveredToSurvivors.get(id)!));

        // The queue drains: nothing ready, held or delayed on any node's view.
        const http = api(nodes[0]!.ports.get('http')!);
        type Stats = { ready: number; inFlight: number; delayed: number };
        let stats: Stats | undefined;
        for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
          stats = (await http.call<Stats>('GET', `/api/queues/%2F/${QUEUE}`)).body;
          if (stats.ready + stats.inFlight + stats.delayed === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(stats).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
        const probe = await consumers[1]!.createChannel();
        expect((await probe.checkQueue(QUEUE)).messageCount).toBe(0);
        tally();

        // Duplicates only among redelivered messages: per id, at most one first-time delivery.
        const firstTimeDeliveries = new Map<string, number>();
        for (const d of seen.deliveries)
          if (!d.redelivered) firstTimeDeliveries.set(d.id, (firstTimeDeliveries.get(d.id) ?? 0) + 1);
        expect([...firstTimeDeliveries].filter(([, n]) => n > 1).slice(0, 5)).toEqual([]);
        // Nobody else died: survivors see nothing redelivered before the kill.
        expect(seen.deliveries.filter((d) => d.node !== VICTIM && d.redelivered && !d.afterKill)).toEqual([]);
        // Nothing arrives that was not published.
        const ids = new Set(seen.deliveries.map((d) => d.id));
        expect([...ids].filter((id) => !/^m-\d+$/.test(id) || Number(id.slice(2)) >= TOTAL)).toEqual([]);
        // Only the victim's publisher may lose confirms.
        expect(seen.failed.filter((_, k) => k !== VICTIM)).toEqual([0, 0]);
        expect(seen.clientErrors).toEqual([]);
        expect(seen.confirmed.size).toBeGreaterThanOrEqual(TOTAL - PUBLISH_WINDOW);
        expect(seen.victimHeld.size).toBe(VICTIM_HOLDS);
        console.info(
          `kill test: ${seen.confirmed.size} of ${TOTAL} confirmed, ${seen.deliveries.length} deliveries, ` +
            `${redeliveredToSurvivors.size} redelivered to survivors; killed at ${killedAt - startedAt} ms, ` +
            `publishing done at ${publishedAt - startedAt} ms, all acked at ${allAckedAt - startedAt} ms; ` +
            `the ${VICTIM_HOLDS} held deliveries back ${heldBackAt - killedAt} ms after the kill`,
        );
      } finally {
        for (const c of connections) await c.close().catch(() => undefined);
      }
    }, 60_000);
  },
);
