import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStore, type QueueRecordInput } from '../../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('LMDB record format', () => {
  it('a record comes back from disk exactly: names, properties of every header type, body, deadlines', async () => {
    const path = await mkdtemp(join(tmpdir(), 'conveyor-record-'));
    dirs.push(path);
    const when = new Date('2026-11-25T12:00:00.000Z');
    const rich: QueueRecordInput = {
      message: {
        exchange: 'ex.ünïcode',
        routingKey: 'a.b/c#ключ',
        properties: {
          persistent: true,
          contentType: 'application/json',
          correlationId: 'c-1',
          replyTo: 'replies',
          expiration: 60_000,
          messageId: 'm-1',
          timestamp: 1_700_000_000,
          priority: 3,
          headers: {
            s: 'text',
            n: 42,
            f: 1.5,
            neg: -7,
            big: 9_007_199_254_740_993n,
            yes: true,
            none: null,
            at: when,
            bytes: new Uint8Array([1, 2, 3]),
            list: [1, 'two', { three: 3 }],
            nested: { deep: { deeper: 'x' } },
          },
        },
        body: Buffer.from('{"hello":"world"}'),
      },
      enqueuedAt: 1_000,
      expiresAt: 9_000_000_000_000,
      readyAt: 2_000,
      durable: true,
    };
    const bare: QueueRecordInput = {
      message: { exchange: '', routingKey: 'q', properties: {}, body: new Uint8Array(0) },
      enqueuedAt: 3_000,
      durable: true,
    };
    let store = new LmdbStore({ path });
    await store.open();
    await store.createQueue('q');
    await store.enqueue('q', [rich, bare]);
    await store.close();

    store = new LmdbStore({ path });
    await store.open();
    const got = await store.peek('q', 10, { includeDelayed: true });
    await store.close();
    expect(got).toHaveLength(2);
    const [a, b] = got;
    expect(a!.message.exchange).toBe('ex.ünïcode');
    expect(a!.message.routingKey).toBe('a.b/c#ключ');
    expect(Buffer.from(a!.message.body).toString()).toBe('{"hello":"world"}');
    expect(a!.enqueuedAt).toBe(1_000);
    expect(a!.expiresAt).toBe(9_000_000_000_000);
    const { headers, ...props } = a!.message.properties;
    const { headers: sentHeaders, ...sentProps } = rich.message.properties;
    expect(props).toEqual(sentProps);
    expect(headers).toEqual({ ...sentHeaders, bytes: expect.any(Uint8Array) as unknown });
    expect([...(headers!['bytes'] as Uint8Array)]).toEqual([1, 2, 3]);
    expect((headers!['at'] as Date).getTime()).toBe(when.getTime());
    expect(b!.message.properties).toEqual({});
    expect(b!.message.body.byteLength).toBe(0);
    expect(b!.expiresAt).toBeUndefined();
    expect(b!.readyAt).toBeUndefined();
  });
});
