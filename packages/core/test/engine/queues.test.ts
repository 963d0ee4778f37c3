import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MemoryStore,
  PreconditionFailedError,
  QueueInUseError,
  QueueNotEmptyError,
  QueueNotFoundError,
  ResourceLockedError,
} from '../../src/index.js';
import { advance, fakeClock, openBroker, sleep } from './broker-fixture.js';

describe('queue declaration', () => {
  it('is idempotent when options match and reports the ready count', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q', { maxDeliveries: 3 });
    await vh.send('q', { body: 'a' });
    const again = await vh.declareQueue('q', { maxDeliveries: 3 });
    expect(again.messageCount).toBe(1);
    expect(again.name).toBe('q');
  });

  it('raises a typed conflict error when options differ', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q', { maxDeliveries: 3 });
    const err = await vh.declareQueue('q', { maxDeliveries: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreconditionFailedError);
    expect((err as PreconditionFailedError).code).toBe('PRECONDITION_FAILED');
    // Which option and both values, for the doors to name it their way (the AMQP 406 moved to @conveyor/amqp).
    expect(err).toMatchObject({ option: 'maxDeliveries', declared: 3, requested: 4 });
    expect(String((err as Error).message)).toContain('maxDeliveries');
  });

  it('passive declare of an unknown queue fails with QueueNotFoundError', async () => {
    const { vh } = await openBroker();
    await expect(vh.declareQueue('nope', {}, { passive: true })).rejects.toBeInstanceOf(QueueNotFoundError);
  });

  it('rejects invalid options', async () => {
    const { vh } = await openBroker();
    await expect(vh.declareQueue('q', { maxDeliveries: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(vh.declareQueue('q', { maxLength: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(vh.hasQueue('q')).toBe(false);
  });

  // A store that confirms durable writes only once replicated (Redis `wait`) confirms a durable
  // queue's creation that way too, and need not for a transient or exclusive one.
  it('tells the store whether a queue outlives its node (durable by default, not when exclusive)', async () => {
    const store = new MemoryStore();
    const created: [string, boolean | undefined][] = [];
    const createQueue = store.createQueue.bind(store);
    store.createQueue = (queue, options) => {
      created.push([queue, options?.durable]);
      return createQueue(queue, options);
    };
    const { vh } = await openBroker({ store });
    await vh.declareQueue('d');
    await vh.declareQueue('t', { durable: false });
    await vh.declareQueue('e', { durable: true, exclusive: true }, { owner: 'c1' });
    expect(created.map(([q, durable]) => [q.split('/').pop(), durable])).toEqual([
      ['d', true],
      ['t', false],
      ['e', false], // exclusive: it ends with its connection
    ]);
  });

  // Neither is restored after a restart, so a record of either would only dangle.
  it('does not record an exclusive queue nor its bindings, durable or not', async () => {
    const store = new MemoryStore();
    const { vh } = await openBroker({ store });
    await vh.declareQueue('e', { durable: true, exclusive: true }, { owner: 'c1' });
    await vh.bindQueue('e', 'amq.topic', 'a.#', {}, 'c1');
    await vh.declareQueue('d');
    await vh.bindQueue('d', 'amq.topic', 'a.#');
    const keys = (await store.loadMeta('')).map((m) => m.key);
    expect(keys.filter((k) => k.includes('/e'))).toEqual([]);
    expect(keys.filter((k) => k.includes('/d')).length).toBe(2); // the queue and its binding
  });

  it('names a queue declared with an empty name', async () => {
    const { vh } = await openBroker();
    const info = await vh.declareQueue('', { durable: false });
    expect(info.name).toMatch(/^amq\.gen-/);
    expect(vh.hasQueue(info.name)).toBe(true);
  });

  it('lists queues with counts', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('a');
    await vh.declareQueue('b');
    await vh.send('b', { body: 'x' });
    const list = await vh.listQueues();
    expect(list.map((q) => [q.name, q.messageCount]).sort()).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
  });
});

describe('queue deletion and purge', () => {
  it('deletes with its messages; if-unused and if-empty guard it', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'a' });
    await expect(vh.deleteQueue('q', { ifEmpty: true })).rejects.toBeInstanceOf(QueueNotEmptyError);
    const consumer = vh.consume('q', () => undefined);
    await expect(vh.deleteQueue('q', { ifUnused: true })).rejects.toBeInstanceOf(QueueInUseError);
    await consumer.cancel();
    expect(await vh.deleteQueue('q')).toBe(1);
    expect(vh.hasQueue('q')).toBe(false);
    await expect(vh.send('q', { body: 'b' })).rejects.toBeInstanceOf(QueueNotFoundError);
  });

  it('tells consumers when their queue is deleted', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const reasons: string[] = [];
    vh.consume('q', () => undefined, { onCancel: (r) => reasons.push(r) });
    await vh.deleteQueue('q');
    expect(reasons).toEqual(['queue-deleted']);
  });

  it('purges ready messages and leaves in-flight ones', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (const b of ['a', 'b', 'c']) await vh.send('q', { body: b });
    const [held] = await vh.receive('q');
    expect(await vh.purgeQueue('q')).toBe(2);
    const stats = await vh.count('q');
    expect(stats.ready).toBe(0);
    expect(stats.inFlight).toBe(1);
    await vh.ack(held!);
    expect((await vh.count('q')).inFlight).toBe(0);
  });
});

describe('exclusive, auto-delete and expiring queues', () => {
  it('an exclusive queue is locked to its owner and goes with it', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('x', { exclusive: true, durable: false }, { owner: 'conn-1' });
    await expect(
      vh.declareQueue('x', { exclusive: true, durable: false }, { owner: 'conn-2' }),
    ).rejects.toBeInstanceOf(ResourceLockedError);
    expect(() => vh.consume('x', () => undefined, { owner: 'conn-2' })).toThrow(ResourceLockedError);
    await vh.releaseOwner('conn-1');
    expect(vh.hasQueue('x')).toBe(false);
  });

  it('an auto-delete queue goes when its last consumer leaves', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('ad', { autoDelete: true, durable: false });
    const c1 = vh.consume('ad', () => undefined);
    const c2 = vh.consume('ad', () => undefined);
    await c1.cancel();
    expect(vh.hasQueue('ad')).toBe(true);
    await c2.cancel();
    await sleep(5);
    expect(vh.hasQueue('ad')).toBe(false);
  });

  it('an unused queue expires', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('exp', { expiresMs: 40_000 });
    await advance(20_000);
    await vh.declareQueue('exp', { expiresMs: 40_000 }); // redeclare counts as use
    await advance(25_000);
    expect(vh.hasQueue('exp')).toBe(true);
    await advance(16_000);
    expect(vh.hasQueue('exp')).toBe(false);
  });

  it('tracks consumer counts', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    const c = vh.consume('q', () => undefined);
    expect((await vh.queueInfo('q')).consumerCount).toBe(1);
    expect((await vh.count('q')).consumers).toBe(1);
    await c.cancel();
    expect((await vh.queueInfo('q')).consumerCount).toBe(0);
  });
});
