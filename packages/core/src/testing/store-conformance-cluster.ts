/**
 * The conformance cases of a shared store's `cluster` (node ids, liveness, signals, metadata and
 * queue notes between nodes), run by `describeStoreConformance` for stores whose harness has a
 * `peer`; skipped for the others.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MessageStore } from '../store/message-store.js';
import { record, type StoreHarness } from './store-conformance.js';

/** The suite's current store and harness (they change per test), and its enqueue helper. */
export interface ConformanceSuite {
  harness(): StoreHarness;
  store(): MessageStore;
  fill(queue: string, ...bodies: string[]): Promise<unknown>;
  /** Closes the store and opens it again over the same storage (durable stores). */
  reopen(): Promise<void>;
}

export function describeClusterConformance(suite: ConformanceSuite): void {
  describe('cluster (shared stores)', () => {
    let peer: MessageStore | undefined;
    const cluster = () => {
      const c = suite.store().cluster;
      if (!c) throw new Error('a store with a peer must have a cluster');
      return c;
    };
    const peerCluster = async () => {
      peer ??= suite.harness().peer?.();
      if (!peer) throw new Error('no peer');
      await peer.open();
      const c = peer.cluster;
      if (!c) throw new Error('the peer has no cluster');
      return c;
    };
    afterEach(async () => {
      await peer?.close();
      peer = undefined;
    });

    it('a store without a peer has no cluster; with one, a cluster', (ctx) => {
      if (!suite.harness().peer) {
        expect(suite.store().cluster).toBeUndefined();
        return ctx.skip();
      }
      expect(cluster().nodeId).toMatch(/\S/);
    });

    it('each node has its own id, and both are live', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      expect(other.nodeId).not.toBe(cluster().nodeId);
      const live = await cluster().liveNodes();
      expect(live.has(cluster().nodeId) && live.has(other.nodeId)).toBe(true);
    });

    it('signals reach every node, the sender included', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      const here: string[] = [];
      const there: string[] = [];
      const offHere = cluster().onSignal('t', (p) => here.push(p));
      const offThere = other.onSignal('t', (p) => there.push(p));
      // A subscription is in place once a note of its own comes back.
      await vi.waitFor(async () => {
        await cluster().signal('t', 'ping');
        expect(here.length > 0 && there.length > 0).toBe(true);
      });
      offHere();
      offThere();
    });

    it('a metadata change is told to the other node with its key', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      const keys: string[] = [];
      const off = other.watchMeta((key) => keys.push(key));
      await suite.store().putMeta('queue/m1', { n: 1 });
      await vi.waitFor(() => expect(keys).toContain('queue/m1'));
      keys.length = 0;
      await suite.store().deleteMeta('queue/m1');
      await vi.waitFor(() => expect(keys).toContain('queue/m1'));
      off();
    });

    it('a send on one node wakes the queue on the other (after the wake that says the subscription is in place)', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      let woken = 0;
      const off = other.subscribe('q1', () => woken++);
      await vi.waitFor(() => expect(woken).toBe(1));
      await new Promise((r) => setTimeout(r, 50));
      expect(woken).toBe(1); // once, not again without a send
      woken = 0;
      await vi.waitFor(async () => {
        await suite.fill('q1', 'x');
        expect(woken).toBeGreaterThan(0);
      });
      off();
    });

    // Only the node that delayed them has a timer for them: the others arm theirs from the note.
    it('a delayed send or return on one node wakes the other with when the first falls due', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      const dues: (number | undefined)[] = [];
      const off = other.subscribe('q1', (dueAt) => dues.push(dueAt));
      await vi.waitFor(() => expect(dues).toEqual([undefined])); // subscribed
      const store = suite.store();
      const now = Date.now();
      await store.enqueue('q1', [
        record('late', { readyAt: now + 60_000 }),
        record('sooner', { readyAt: now + 30_000 }),
        record('now'),
      ]);
      await vi.waitFor(() => expect(dues).toEqual([undefined, now + 30_000]));
      const [taken] = await store.take('q1', 1, { holder: 'h', now });
      await store.release('q1', [taken!.id], 'h', { readyAt: now + 5_000 });
      await vi.waitFor(() => expect(dues).toEqual([undefined, now + 30_000, now + 5_000]));
      await store.release('q1', [], 'h'); // nothing returned: no note
      await suite.fill('q1', 'ready');
      await vi.waitFor(() => expect(dues).toEqual([undefined, now + 30_000, now + 5_000, undefined]));
      off();
    });

    // A node with room takes its own sends: the others hear only of what its take leaves.
    it('an enqueue with taking wakes no other node; its take with wakeRest wakes them for what is left; wake wakes them', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      let woken = 0;
      const off = other.subscribe('q1', () => woken++);
      await vi.waitFor(() => expect(woken).toBe(1)); // subscribed
      const store = suite.store();
      const now = Date.now();
      await store.enqueue('q1', [record('a'), record('b')], { taking: true });
      await store.take('q1', 2, { holder: 'h', now, wakeRest: true }); // all of them: none left
      await new Promise((r) => setTimeout(r, 100));
      expect(woken).toBe(1);
      await store.enqueue('q1', [record('c'), record('d')], { taking: true });
      await new Promise((r) => setTimeout(r, 100));
      expect(woken).toBe(1);
      await store.take('q1', 1, { holder: 'h', now, wakeRest: true }); // one left
      await vi.waitFor(() => expect(woken).toBe(2));
      await store.take('q1', 1, { holder: 'h', now }); // without wakeRest: no note
      await store.enqueue('q1', [record('e')], { taking: true });
      await cluster().wake('q1');
      await vi.waitFor(() => expect(woken).toBe(3));
      await new Promise((r) => setTimeout(r, 100));
      expect(woken).toBe(3);
      off();
    });

    it('a node that closes is told to the others', async (ctx) => {
      if (!suite.harness().peer) return ctx.skip();
      const other = await peerCluster();
      const gone: string[] = [];
      cluster().watchNodes((node) => gone.push(node));
      const leaving = other.nodeId;
      await peer?.close();
      peer = undefined;
      await vi.waitFor(() => expect(gone).toContain(leaving));
      expect((await cluster().liveNodes()).has(leaving)).toBe(false);
    });
  });
}
