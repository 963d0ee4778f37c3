import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStore } from '@conveyor/core';
import { afterAll, expect, test } from 'vitest';
import { collect, connect, connectCollecting, startConveyor, uid } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-mqtt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a broker restart keeps retained messages, persistent sessions and their queued QoS 1 messages', async () => {
  const clientId = uid();
  const opts = {
    protocolVersion: 5 as const,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
  };
  const before = await startConveyor({}, { store: new LmdbStore({ path: dir }) });
  const first = await connect(before.url, opts);
  await first.subscribeAsync('restart/+', { qos: 1 });
  await first.endAsync();
  const pub = await connect(before.url, { protocolVersion: 5 });
  await pub.publishAsync('restart/r', 'retained', { qos: 1, retain: true });
  await pub.publishAsync('restart/q', 'queued', { qos: 1 });
  await pub.endAsync();
  await before.close();

  const after = await startConveyor({}, { store: new LmdbStore({ path: dir }) });
  const { client, got, connack } = connectCollecting(after.url, opts);
  expect((await connack).sessionPresent).toBe(true);
  expect((await got.next(2)).map((m) => m.payload)).toEqual(['retained', 'queued']);
  const fresh = await connect(after.url, { protocolVersion: 5 });
  const freshGot = collect(fresh);
  await fresh.subscribeAsync('restart/r', { qos: 1 });
  expect((await freshGot.next(1))[0]!.packet.retain).toBe(true);
  await client.endAsync();
  await fresh.endAsync();
  await after.close();
});

test('[MQTT-4.7.2-1] a filter starting with a wildcard does not match a $-topic', async () => {
  const target = await startConveyor();
  const sub = await connect(target.url, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync(['#', '+/x', '$dollar/#'], { qos: 0 });
  const pub = await connect(target.url, { protocolVersion: 5 });
  await pub.publishAsync('$dollar/x', 'only once', { qos: 1 });
  await pub.publishAsync('plain/x', 'plain', { qos: 1 });
  await got.next(2);
  await new Promise((r) => setTimeout(r, 100));
  expect(got.all.map((m) => m.topic).sort()).toEqual(['$dollar/x', 'plain/x']);
  sub.end();
  pub.end();
  await target.close();
});
