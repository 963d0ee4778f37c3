/**
 * The conformance cases of priority ordering (`priority` on records), run by
 * `describeStoreConformance` for stores that declare `priorities`; skipped for the others.
 */
import { describe, expect, it } from 'vitest';
import type { QueueRecordInput } from '../message.js';
import type { ConformanceSuite } from './store-conformance-cluster.js';
import { record } from './store-conformance.js';

const text = (m: { message: { body: Uint8Array } }): string => Buffer.from(m.message.body).toString();
const H1 = 'holder-1';

export function describePriorityConformance(suite: ConformanceSuite): void {
  describe('priorities (priority queues)', () => {
    const at = (priority: number | undefined, body: string): QueueRecordInput =>
      priority === undefined ? record(body) : record(body, { priority });
    const take = (max: number) => suite.store().take('q1', max, { holder: H1, now: Date.now() });

    it('hands out higher priorities first, FIFO within a level, no priority as 0', async (ctx) => {
      if (suite.store().priorities !== true) return ctx.skip();
      await suite
        .store()
        .enqueue('q1', [
          at(undefined, 'a0'),
          at(2, 'b2'),
          at(5, 'c5'),
          at(2, 'd2'),
          at(undefined, 'e0'),
          at(5, 'f5'),
        ]);
      expect((await take(2)).map(text)).toEqual(['c5', 'f5']);
      expect((await take(10)).map(text)).toEqual(['b2', 'd2', 'a0', 'e0']);
    });

    it('a released message goes back to its place within its level; peek shows delivery order', async (ctx) => {
      if (suite.store().priorities !== true) return ctx.skip();
      const store = suite.store();
      const ids = await store.enqueue('q1', [at(1, 'a1'), at(3, 'b3'), at(undefined, 'c0'), at(3, 'd3')]);
      expect((await take(2)).map(text)).toEqual(['b3', 'd3']);
      await store.release('q1', [ids[1]!], H1);
      await store.enqueue('q1', [at(3, 'e3')]);
      const peeked = await store.peek('q1', 10, { includeInFlight: true });
      expect(peeked.map((m) => [text(m), m.state])).toEqual([
        ['b3', 'ready'],
        ['e3', 'ready'],
        ['a1', 'ready'],
        ['c0', 'ready'],
        ['d3', 'in-flight'],
      ]);
      expect(peeked[0]?.priority).toBe(3);
      expect((await take(10)).map(text)).toEqual(['b3', 'e3', 'a1', 'c0']);
    });

    it('a delayed message joins its level when its time comes', async (ctx) => {
      if (suite.store().priorities !== true) return ctx.skip();
      const store = suite.store();
      const now = Date.now();
      await store.enqueue('q1', [at(1, 'a1'), record('late9', { priority: 9, readyAt: now + 1_000 })]);
      const early = await store.take('q1', 1, { holder: H1, now });
      expect(early.map(text)).toEqual(['a1']);
      await store.enqueue('q1', [at(1, 'b1')]);
      const later = await store.take('q1', 10, { holder: H1, now: now + 1_000 });
      expect(later.map(text)).toEqual(['late9', 'b1']);
    });

    it('keeps priorities across a restart', async (ctx) => {
      const harness = suite.harness();
      if (suite.store().priorities !== true || harness.reopen === undefined) return ctx.skip();
      await suite.store().enqueue('q1', [at(undefined, 'a0'), at(4, 'b4'), at(9, 'c9'), at(4, 'd4')]);
      await suite.reopen();
      expect((await take(10)).map(text)).toEqual(['c9', 'b4', 'd4', 'a0']);
    });
  });
}
