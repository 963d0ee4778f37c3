// Priority queues in the engine (issue 16, item 2): maxPriority on a queue, a message's priority
// decides its place; peek and take by id, consumers, dead-lettering keep the order; durable over
// the LMDB store; refused on a store that cannot order by priority.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Broker,
  deadLetterToQueue,
  InvalidArgumentError,
  LmdbStore,
  MemoryStore,
  type MessageStore,
} from '../../src/index.js';
import { openBroker, text } from './broker-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const withPriority = (body: string, priority?: number) =>
  priority === undefined ? { body } : { body, properties: { priority } };

describe('priority queues', () => {
  it('receive hands out higher priorities first, FIFO within a level; above the maximum counts as it', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('jobs', { maxPriority: 3 });
    for (const [body, p] of [
      ['a', undefined],
      ['b', 2],
      ['c', 7],
      ['d', 3],
      ['e', 2],
    ] as const)
      await vh.send('jobs', withPriority(body, p));
    const got = await vh.receive('jobs', { max: 10 });
    expect(got.map((d) => text(d.message.body))).toEqual(['c', 'd', 'b', 'e', 'a']);
    // The message keeps the priority it was published with.
    expect(got[0]!.message.properties.priority).toBe(7);
  });

  it('peek shows the delivery order; a peeked message is taken by id, and a nacked one returns to its level', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('jobs', { maxPriority: 9 });
    for (const [body, p] of [
      ['low', 1],
      ['high', 9],
      ['mid', 5],
    ] as const)
      await vh.send('jobs', withPriority(body, p));
    const peeked = await vh.peek('jobs', 3);
    expect(peeked.map((m) => text(m.message.body))).toEqual(['high', 'mid', 'low']);
    const mid = await vh.take('jobs', peeked[1]!.id);
    expect(text(mid.message.body)).toBe('mid');
    const [high] = await vh.receive('jobs');
    await vh.nack(high!);
    await vh.nack(mid);
    expect((await vh.receive('jobs', { max: 5 })).map((d) => text(d.message.body))).toEqual([
      'high',
      'mid',
      'low',
    ]);
  });

  it('dead-lettered into a priority queue, a message takes its level there', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq', { maxPriority: 5 });
    await vh.declareQueue('work', { messageTtlMs: 1, deadLetter: deadLetterToQueue('dlq') });
    await vh.send('work', withPriority('p1', 1));
    await vh.send('work', withPriority('p5', 5));
    await vh.send('dlq', withPriority('p3', 3));
    await new Promise((r) => setTimeout(r, 30));
    await vh.receive('work'); // the expiry is found at delivery
    await new Promise((r) => setTimeout(r, 30));
    expect((await vh.receive('dlq', { max: 5 })).map((d) => text(d.message.body))).toEqual([
      'p5',
      'p3',
      'p1',
    ]);
  });

  it('keeps the order across a restart of the LMDB store', async () => {
    const path = await mkdtemp(join(tmpdir(), 'conveyor-priority-'));
    dirs.push(path);
    let broker = await Broker.open({ store: new LmdbStore({ path }) });
    await broker.vhost().declareQueue('jobs', { maxPriority: 10 });
    for (const [body, p] of [
      ['a', 1],
      ['b', 10],
      ['c', undefined],
      ['d', 4],
    ] as const)
      await broker
        .vhost()
        .send('jobs', { ...withPriority(body, p), properties: { persistent: true, priority: p } });
    await broker.close();
    broker = await Broker.open({ store: new LmdbStore({ path }) });
    try {
      expect((await broker.vhost().queueInfo('jobs')).options.maxPriority).toBe(10);
      const got = await broker.vhost().receive('jobs', { max: 10 });
      expect(got.map((d) => text(d.message.body))).toEqual(['b', 'd', 'a', 'c']);
    } finally {
      await broker.close();
    }
  });

  it('refuses maxPriority out of 0…255, and on a store that does not order by priority', async () => {
    const { vh } = await openBroker();
    await expect(vh.declareQueue('bad', { maxPriority: 256 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(vh.declareQueue('bad', { maxPriority: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    // A store without `priorities` (the shared Redis store, for now): refused, not silently FIFO.
    const plain: MessageStore = Object.assign(new MemoryStore(), { priorities: false });
    const { vh: other } = await openBroker({ store: plain });
    await expect(other.declareQueue('jobs', { maxPriority: 5 })).rejects.toThrow(
      /priority queues need a store that orders by priority/,
    );
    await other.declareQueue('fifo', { maxPriority: 0 });
  });
});
