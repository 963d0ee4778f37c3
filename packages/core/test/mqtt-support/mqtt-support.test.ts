import { describe, expect, test } from 'vitest';
import { MemoryStore, MqttSessionStore, RetainedStore, mqttTopicMatches } from '../../src/index.js';

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
