import { describe, expect, test } from 'vitest';
import { MemoryStore, type StoreCluster } from '@conveyor/core';
import { MqttSessionStore } from '../src/store/session-store.js';
import { RetainedStore } from '../src/store/retained-store.js';
import { mqttTopicMatches } from '../src/topic-filter.js';

describe('mqttTopicMatches', () => {
  test.each([
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/b', 'a/b/c', false],
    ['+', '', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(mqttTopicMatches(filter, topic)).toBe(expected);
  });
});

describe('RetainedStore', () => {
  test('keeps one message per topic in the store, clears on empty payload, survives reopening', async () => {
    const store = new MemoryStore();
    await store.open();
    const retained = await RetainedStore.open(store, '/');
    await retained.set({ topic: 'a/b', payload: Buffer.from('one'), qos: 1, storedAt: 1 });
    await retained.set({ topic: 'a/b', payload: Buffer.from('two'), qos: 0, storedAt: 2 });
    await retained.set({
      topic: 'a/c',
      payload: Buffer.from([0, 255]),
      qos: 2,
      storedAt: 3,
      properties: { contentType: 'x' },
    });
    expect(
      retained
        .match('a/+')
        .map((m) => m.topic)
        .sort(),
    ).toEqual(['a/b', 'a/c']);
    const reopened = await RetainedStore.open(store, '/');
    expect(Buffer.from(reopened.get('a/b')!.payload).toString()).toBe('two');
    expect([...reopened.get('a/c')!.payload]).toEqual([0, 255]);
    await reopened.set({ topic: 'a/b', payload: Buffer.alloc(0), qos: 0, storedAt: 4 });
    expect((await RetainedStore.open(store, '/')).match('#').map((m) => m.topic)).toEqual(['a/c']);
  });

  test('expired messages are not served', async () => {
    const store = new MemoryStore();
    await store.open();
    const retained = await RetainedStore.open(store);
    await retained.set({ topic: 'e', payload: Buffer.from('x'), qos: 0, storedAt: 0, expiresAt: 100 });
    expect(retained.match('e', 99)).toHaveLength(1);
    expect(retained.match('e', 100)).toHaveLength(0);
  });
});

/** A memory store with a cluster that announces metadata changes, as a shared store does (one node). */
class AnnouncingStore extends MemoryStore {
  readonly #watchers = new Set<(key: string) => void>();
  readonly cluster: StoreCluster = {
    nodeId: 'n1',
    subscribe: () => () => undefined,
    watchMeta: (onChange) => {
      this.#watchers.add(onChange);
      return () => void this.#watchers.delete(onChange);
    },
    liveNodes: () => Promise.resolve(new Set(['n1'])),
    setConsumers: () => Promise.resolve(),
    consumerCount: () => Promise.resolve(0),
    readyDepth: () => undefined,
    watchNodes: () => () => undefined,
    signal: () => Promise.resolve(),
    onSignal: () => () => undefined,
  };
  override async putMeta(key: string, value: unknown): Promise<void> {
    await super.putMeta(key, value);
    for (const w of this.#watchers) w(key);
  }
  override async deleteMeta(key: string): Promise<void> {
    await super.deleteMeta(key);
    for (const w of this.#watchers) w(key);
  }
}

describe('RetainedStore over a shared store', () => {
  const settled = () => new Promise((r) => setTimeout(r, 10));

  test('follows what another node retains and clears, and stops when closed', async () => {
    const store = new AnnouncingStore();
    await store.open();
    const here = await RetainedStore.open(store, '/');
    const there = await RetainedStore.open(store, '/');
    await there.set({ topic: 'a/b', payload: Buffer.from('one'), qos: 1, storedAt: 1 });
    await settled();
    expect(Buffer.from(here.get('a/b')!.payload).toString()).toBe('one');
    await there.set({ topic: 'a/b', payload: Buffer.alloc(0), qos: 0, storedAt: 2 });
    await settled();
    expect(here.get('a/b')).toBeUndefined();
    here.close();
    await there.set({ topic: 'a/c', payload: Buffer.from('late'), qos: 0, storedAt: 3 });
    await settled();
    expect(here.get('a/c')).toBeUndefined();
  });

  test('clearing a topic this node never heard of still clears it in the store', async () => {
    const store = new AnnouncingStore();
    await store.open();
    const here = await RetainedStore.open(store, '/');
    here.close(); // misses the next change
    const there = await RetainedStore.open(store, '/');
    await there.set({ topic: 'x', payload: Buffer.from('kept'), qos: 0, storedAt: 1 });
    await here.delete('x');
    expect((await RetainedStore.open(store, '/')).get('x')).toBeUndefined();
  });

  test('a node-local store is not watched: a second view does not follow', async () => {
    const store = new MemoryStore();
    await store.open();
    const here = await RetainedStore.open(store, '/');
    const there = await RetainedStore.open(store, '/');
    await there.set({ topic: 'a', payload: Buffer.from('one'), qos: 0, storedAt: 1 });
    await settled();
    expect(here.get('a')).toBeUndefined();
  });
});

describe('MqttSessionStore', () => {
  test('put, load one (exact id, not a prefix), load all, delete', async () => {
    const store = new MemoryStore();
    await store.open();
    const sessions = new MqttSessionStore(store, '/');
    await sessions.put({ clientId: 'a', expiryIntervalSec: 60, subscriptions: [{ filter: 'x/#', qos: 1 }] });
    await sessions.put({ clientId: 'ab', expiryIntervalSec: 0xffffffff, subscriptions: [] });
    expect((await sessions.load('a'))?.subscriptions).toEqual([{ filter: 'x/#', qos: 1 }]);
    expect(await sessions.loadAll()).toHaveLength(2);
    await sessions.delete('a');
    expect(await sessions.load('a')).toBeUndefined();
    expect((await sessions.load('ab'))?.clientId).toBe('ab');
  });
});
