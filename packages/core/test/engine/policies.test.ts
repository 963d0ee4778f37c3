// Issue 16, item 7: policies set queue behaviour by name pattern, live, without redeclaring;
// the highest priority wins; limits merge as the lower of policy and declaration, a declared
// dead-letter target or overflow wins; kept in the store across a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Broker,
  deadLetterToQueue,
  InvalidArgumentError,
  LmdbStore,
  type QueuePolicy,
} from '../../src/index.js';
import { advance, fakeClock, openBroker, text } from './broker-fixture.js';

function policy(
  name: string,
  pattern: string,
  definition: QueuePolicy['definition'],
  more = {},
): QueuePolicy {
  return { name, pattern, applyTo: 'queues', priority: 0, definition, ...more };
}

describe('policies', () => {
  it('a message TTL policy expires what is published after it, on a queue declared without one', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('orders.eu');
    await vh.send('orders.eu', { body: 'before' });
    await vh.setPolicy(policy('ttl', '^orders\\.', { messageTtlMs: 1000 }));
    await vh.send('orders.eu', { body: 'after' });
    await advance(1500);
    const left = await vh.receive('orders.eu', { max: 5 });
    expect(left.map((d) => text(d.message.body))).toEqual(['before']);
    const info = await vh.queueInfo('orders.eu');
    expect(info.policy).toBe('ttl');
    expect(info.options.messageTtlMs).toBeUndefined(); // what it was declared with
    expect(info.effectiveOptions.messageTtlMs).toBe(1000);
  });

  it('max-length: the lower of policy and declaration; removing the policy restores the declaration', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('jobs', { maxLength: 5, overflow: 'reject-publish' });
    await vh.setPolicy(policy('short', '^jobs$', { maxLength: 2 }));
    await vh.send('jobs', { body: '1' });
    await vh.send('jobs', { body: '2' });
    expect((await vh.send('jobs', { body: '3' })).rejected).toEqual(['jobs']);
    await vh.setPolicy(policy('short', '^jobs$', { maxLength: 50 }));
    expect((await vh.send('jobs', { body: '3' })).rejected).toEqual([]);
    expect((await vh.queueInfo('jobs')).effectiveOptions.maxLength).toBe(5);
    expect(await vh.deletePolicy('short')).toBe(true);
    expect(await vh.deletePolicy('short')).toBe(false);
    expect((await vh.queueInfo('jobs')).policy).toBeUndefined();
    // A redeclare compares with the declaration, not with what a policy made of it.
    await vh.declareQueue('jobs', { maxLength: 5, overflow: 'reject-publish' });
  });

  it('dead-letter target: the policy gives one to a queue without; a declared one wins', async () => {
    const { vh } = await openBroker();
    for (const q of ['dlq-policy', 'dlq-declared', 'plain.a', 'plain.b']) await vh.declareQueue(q);
    await vh.declareQueue('own.a', { deadLetter: deadLetterToQueue('dlq-declared') });
    await vh.setPolicy(
      policy('dlx', '^(plain|own)\\.', { deadLetter: deadLetterToQueue('dlq-policy'), maxDeliveries: 1 }),
    );
    for (const q of ['plain.a', 'own.a']) {
      await vh.send(q, { body: q });
      const [d] = await vh.receive(q);
      await vh.nack(d!, { requeue: false });
    }
    expect((await vh.receive('dlq-policy')).map((d) => text(d.message.body))).toEqual(['plain.a']);
    expect((await vh.receive('dlq-declared')).map((d) => text(d.message.body))).toEqual(['own.a']);
    // The policy's delivery limit: one delivery, then dead-lettered at the next.
    await vh.send('plain.b', { body: 'poison' });
    const [first] = await vh.receive('plain.b');
    await vh.nack(first!);
    expect(await vh.receive('plain.b', { waitMs: 0 })).toEqual([]);
    expect((await vh.receive('dlq-policy')).map((d) => text(d.message.body))).toEqual(['poison']);
  });

  it('the highest priority of the matching policies wins; one for exchanges does not touch queues', async () => {
    const { vh } = await openBroker();
    await vh.setPolicy(policy('broad', '.*', { maxLength: 10 }, { priority: 1 }));
    await vh.setPolicy(policy('narrow', '^billing', { maxLength: 3 }, { priority: 5 }));
    await vh.setPolicy(
      policy('exchanges-only', '.*', { maxLength: 1 }, { applyTo: 'exchanges', priority: 9 }),
    );
    // A queue declared after the policies gets its policy at once.
    await vh.declareQueue('billing');
    await vh.declareQueue('shipping');
    expect((await vh.queueInfo('billing')).policy).toBe('narrow');
    expect((await vh.queueInfo('shipping')).policy).toBe('broad');
    // Equal priorities: the first name, the same on every node.
    await vh.setPolicy(policy('another', '^shipping', { maxLength: 4 }, { priority: 1 }));
    expect((await vh.queueInfo('shipping')).policy).toBe('another');
    expect(vh.policies().map((p) => p.name)).toEqual(['another', 'broad', 'exchanges-only', 'narrow']);
  });

  it('an expiry from a policy deletes the unused queue; once the policy is gone, it does not', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('temp.a');
    await vh.declareQueue('temp.b');
    await vh.setPolicy(policy('expire', '^temp\\.', { expiresMs: 1000 }));
    await vh.setPolicy(policy('keep-b', '^temp\\.b$', { maxLength: 10 }, { priority: 1 }));
    await advance(1500);
    expect(vh.hasQueue('temp.a')).toBe(false);
    expect(vh.hasQueue('temp.b')).toBe(true); // its policy (the higher priority) has no expiry
  });

  it('a bad policy is refused before anything changes', async () => {
    const { vh } = await openBroker();
    await expect(vh.setPolicy(policy('bad', '(', { maxLength: 1 }))).rejects.toThrow(InvalidArgumentError);
    await expect(vh.setPolicy(policy('neg', '.*', { messageTtlMs: -5 }))).rejects.toThrow(
      /policy 'neg': messageTtlMs must be a whole number of at least 1/,
    );
    expect(vh.policies()).toEqual([]);
  });

  it('policies are kept in the store and apply again after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-policies-'));
    try {
      let broker = await Broker.open({ store: new LmdbStore({ path: dir }) });
      await broker.vhost().declareQueue('kept', { durable: true });
      await broker.vhost().setPolicy(policy('limit', '^kept$', { maxLength: 1, overflow: 'reject-publish' }));
      await broker.close();
      broker = await Broker.open({ store: new LmdbStore({ path: dir }) });
      try {
        const vh = broker.vhost();
        expect(vh.policies().map((p) => p.name)).toEqual(['limit']);
        expect((await vh.queueInfo('kept')).policy).toBe('limit');
        await vh.send('kept', { body: 'one', persistent: true });
        expect((await vh.send('kept', { body: 'two', persistent: true })).rejected).toEqual(['kept']);
      } finally {
        await broker.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
