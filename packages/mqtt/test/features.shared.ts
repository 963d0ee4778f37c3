import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import {
  MOSQUITTO_URL,
  collect,
  connect,
  connectCollecting,
  kill,
  prefix,
  reachable,
  sleep,
  startConveyor,
  uid,
} from './helpers.js';

/**
 * Feature tests that run unchanged against Conveyor and against the real Mosquitto (MQTT_URL).
 * Where Mosquitto behaves differently, the test says so and asserts each one's behaviour.
 */
export function sharedFeatureSuite(targetName: 'conveyor' | 'mosquitto'): void {
  let url = '';
  let closeTarget: (() => Promise<void>) | undefined;
  let skipReason: string | undefined;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    if (targetName === 'conveyor') {
      const c = await startConveyor();
      url = c.url;
      closeTarget = () => c.close();
      return;
    }
    url = MOSQUITTO_URL;
    if (!(await reachable(url))) {
      if (process.env.CI === 'true')
        throw new Error(`Mosquitto is not reachable at ${url} (CI=true: the parity run is required)`);
      skipReason = `Mosquitto not reachable at ${url}; parity tests skipped (set MQTT_URL or start mosquitto)`;
      console.warn(skipReason);
    }
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await closeTarget?.();
  });

  const client = async (options: Parameters<typeof connect>[1] = {}) => {
    const c = await connect(url, options);
    clients.push(c);
    return c;
  };
  const it = (name: string, fn: () => Promise<void>) =>
    test(name, async (ctx) => {
      if (skipReason) ctx.skip(skipReason);
      await fn();
    });

  describe(`${targetName}: features`, () => {
    for (const protocolVersion of [4, 5] as const) {
      it(`[MQTT-4.3] v${protocolVersion} QoS 0, 1 and 2 publish and deliver with the lower QoS`, async () => {
        const p = prefix();
        const sub = await client({ protocolVersion });
        const got = collect(sub);
        await sub.subscribeAsync(`${p}/q`, { qos: 1 });
        const pub = await client({ protocolVersion });
        await pub.publishAsync(`${p}/q`, 'zero', { qos: 0 });
        await pub.publishAsync(`${p}/q`, 'one', { qos: 1 });
        await pub.publishAsync(`${p}/q`, 'two', { qos: 2 });
        const msgs = await got.next(3);
        expect(msgs.map((m) => m.payload)).toEqual(['zero', 'one', 'two']);
        expect(msgs.map((m) => m.packet.qos)).toEqual([0, 1, 1]);
      });

      it(`[MQTT-4.7] v${protocolVersion} wildcards + and #, and $-topics are not matched by a leading wildcard`, async () => {
        const p = prefix();
        const sub = await client({ protocolVersion });
        const got = collect(sub);
        await sub.subscribeAsync([`${p}/+/c`, `${p}/x/#`, '#'].slice(0, 2), { qos: 1 });
        const pub = await client({ protocolVersion });
        for (const t of [`${p}/b/c`, `${p}/b/d`, `${p}/x`, `${p}/x/y/z`, `${p}/b/c/d`])
          await pub.publishAsync(t, t, { qos: 1 });
        await sleep(150);
        expect(got.all.map((m) => m.topic).sort()).toEqual([`${p}/b/c`, `${p}/x`, `${p}/x/y/z`].sort());
      });

      it(`[MQTT-3.3.1-5] v${protocolVersion} retained message delivered on subscribe and cleared by an empty payload`, async () => {
        const p = prefix();
        const pub = await client({ protocolVersion });
        await pub.publishAsync(`${p}/r`, 'kept', { qos: 1, retain: true });
        const sub = await client({ protocolVersion });
        const got = collect(sub);
        await sub.subscribeAsync(`${p}/#`, { qos: 1 });
        const [m] = await got.next(1);
        expect(m).toMatchObject({ topic: `${p}/r`, payload: 'kept' });
        expect(m!.packet.retain).toBe(true);
        await pub.publishAsync(`${p}/r`, '', { qos: 1, retain: true });
        const sub2 = await client({ protocolVersion });
        const got2 = collect(sub2);
        await sub2.subscribeAsync(`${p}/#`, { qos: 1 });
        await sleep(150);
        expect(got2.all).toEqual([]);
      });

      it(`[MQTT-3.1.2-4] v${protocolVersion} a persistent session gets the QoS 1 messages sent while it was away`, async () => {
        const p = prefix();
        const clientId = uid();
        const opts =
          protocolVersion === 5
            ? { protocolVersion, clientId, clean: false, properties: { sessionExpiryInterval: 60 } }
            : { protocolVersion, clientId, clean: false };
        const first = await client(opts);
        await first.subscribeAsync(`${p}/s`, { qos: 1 });
        await first.endAsync();
        const pub = await client({ protocolVersion });
        for (let i = 0; i < 5; i++) await pub.publishAsync(`${p}/s`, `m${i}`, { qos: 1 });
        const { client: again, got, connack } = connectCollecting(url, opts);
        clients.push(again);
        expect((await connack).sessionPresent).toBe(true);
        expect((await got.next(5)).map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
        // Clean up the session on the shared broker.
        await again.endAsync();
        const cleaner = await client({ protocolVersion, clientId, clean: true });
        await cleaner.endAsync();
      });

      it(`[MQTT-3.1.2-8] v${protocolVersion} the will is published when the connection drops, not after DISCONNECT`, async () => {
        const p = prefix();
        const watcher = await client({ protocolVersion });
        const got = collect(watcher);
        await watcher.subscribeAsync(`${p}/will/#`, { qos: 1 });
        const dying = await client({
          protocolVersion,
          will: { topic: `${p}/will/a`, payload: Buffer.from('gone'), qos: 1, retain: false },
        });
        const polite = await client({
          protocolVersion,
          will: { topic: `${p}/will/b`, payload: Buffer.from('never'), qos: 1, retain: false },
        });
        await polite.endAsync();
        kill(dying);
        const [m] = await got.next(1);
        expect(m).toMatchObject({ topic: `${p}/will/a`, payload: 'gone' });
        await sleep(100);
        expect(got.all).toHaveLength(1);
      });
    }

    it('[MQTT-3.1.4-3] v5 client id takeover: the old connection is closed (Conveyor: with DISCONNECT 0x8E)', async () => {
      const clientId = uid();
      const old = await client({ protocolVersion: 5, clientId });
      const reason = new Promise<number | undefined>((r) => {
        old.once('disconnect', (packet) => r(packet.reasonCode));
        old.once('close', () => r(undefined));
      });
      await client({ protocolVersion: 5, clientId });
      // Difference: this Mosquitto closes the old socket without a DISCONNECT packet.
      expect(await reason).toBe(targetName === 'conveyor' ? 0x8e : undefined);
    });

    it('[MQTT-3.2.2-16] v5 an empty client id gets an assigned one', async () => {
      const { client: c, connack } = connectCollecting(url, {
        protocolVersion: 5,
        clientId: '',
        clean: true,
      });
      clients.push(c);
      const assigned = (await connack).properties?.assignedClientIdentifier;
      expect(assigned).toMatch(/.+/);
    });

    it('[MQTT-3.8.3-3] v5 no-local: own messages are not delivered back', async () => {
      const p = prefix();
      const c = await client({ protocolVersion: 5 });
      const got = collect(c);
      await c.subscribeAsync(`${p}/nl`, { qos: 1, nl: true });
      await c.publishAsync(`${p}/nl`, 'mine', { qos: 1 });
      const other = await client({ protocolVersion: 5 });
      await other.publishAsync(`${p}/nl`, 'theirs', { qos: 1 });
      const [m] = await got.next(1);
      expect(m!.payload).toBe('theirs');
      await sleep(100);
      expect(got.all).toHaveLength(1);
    });

    it('[MQTT-3.3.1-12] v5 retain-as-published keeps the RETAIN flag on live messages; without it the flag is 0', async () => {
      const p = prefix();
      const c = await client({ protocolVersion: 5 });
      const got = collect(c);
      await c.subscribeAsync(`${p}/rap`, { qos: 1, rap: true });
      await c.subscribeAsync(`${p}/plain`, { qos: 1 });
      const pub = await client({ protocolVersion: 5 });
      await pub.publishAsync(`${p}/rap`, 'a', { qos: 1, retain: true });
      await pub.publishAsync(`${p}/plain`, 'b', { qos: 1, retain: true });
      const msgs = await got.next(2);
      expect(Object.fromEntries(msgs.map((m) => [m.payload, m.packet.retain]))).toEqual({
        a: true,
        b: false,
      });
      await pub.publishAsync(`${p}/rap`, '', { qos: 1, retain: true });
      await pub.publishAsync(`${p}/plain`, '', { qos: 1, retain: true });
    });

    it('[MQTT-3.3.1-9..11] v5 retain handling 1 sends retained only for a new subscription, 2 never', async () => {
      const p = prefix();
      const pub = await client({ protocolVersion: 5 });
      await pub.publishAsync(`${p}/rh`, 'r', { qos: 1, retain: true });
      const c = await client({ protocolVersion: 5 });
      const got = collect(c);
      await c.subscribeAsync(`${p}/rh`, { qos: 1, rh: 1 });
      await got.next(1);
      await c.subscribeAsync(`${p}/rh`, { qos: 1, rh: 1 });
      await c.subscribeAsync(`${p}/+`, { qos: 1, rh: 2 });
      await sleep(150);
      expect(got.all).toHaveLength(1);
      await pub.publishAsync(`${p}/rh`, '', { qos: 1, retain: true });
    });

    it('[MQTT-3.3.4-3] v5 subscription identifiers come back with matching messages', async () => {
      const p = prefix();
      const c = await client({ protocolVersion: 5 });
      const got = collect(c);
      await c.subscribeAsync(`${p}/id/#`, { qos: 1, properties: { subscriptionIdentifier: 42 } });
      const pub = await client({ protocolVersion: 5 });
      await pub.publishAsync(`${p}/id/x`, 'x', { qos: 1 });
      const [m] = await got.next(1);
      const ids = m!.packet.properties?.subscriptionIdentifier;
      expect(Array.isArray(ids) ? ids : [ids]).toEqual([42]);
    });

    it('[MQTT-4.8.2] v5 $share/group/filter: members compete, each message goes to one of them', async () => {
      const p = prefix();
      const a = await client({ protocolVersion: 5 });
      const b = await client({ protocolVersion: 5 });
      const ga = collect(a);
      const gb = collect(b);
      await a.subscribeAsync(`$share/g1/${p}/work`, { qos: 1 });
      await b.subscribeAsync(`$share/g1/${p}/work`, { qos: 1 });
      const pub = await client({ protocolVersion: 5 });
      for (let i = 0; i < 20; i++) await pub.publishAsync(`${p}/work`, `${i}`, { qos: 1 });
      await sleep(300);
      const all = [...ga.all, ...gb.all].map((m) => Number(m.payload)).sort((x, y) => x - y);
      expect(all).toEqual([...Array(20).keys()]);
      expect(ga.all.length).toBeGreaterThan(0);
      expect(gb.all.length).toBeGreaterThan(0);
    });

    it('[MQTT-3.3.2-12] v5 inbound topic aliases', async () => {
      const p = prefix();
      const sub = await client({ protocolVersion: 5 });
      const got = collect(sub);
      await sub.subscribeAsync(`${p}/alias`, { qos: 1 });
      const pub = await client({ protocolVersion: 5, properties: { topicAliasMaximum: 0 } });
      await pub.publishAsync(`${p}/alias`, 'first', { qos: 1, properties: { topicAlias: 3 } });
      await pub.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 3 } });
      expect((await got.next(2)).map((m) => `${m.topic}:${m.payload}`)).toEqual([
        `${p}/alias:first`,
        `${p}/alias:second`,
      ]);
    });

    it('[MQTT-3.3.2] v5 properties pass through: user properties, content type, response topic, binary correlation data', async () => {
      const p = prefix();
      const sub = await client({ protocolVersion: 5 });
      const got = collect(sub);
      await sub.subscribeAsync(`${p}/props`, { qos: 1 });
      const pub = await client({ protocolVersion: 5 });
      const correlationData = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
      await pub.publishAsync(`${p}/props`, '{}', {
        qos: 1,
        properties: {
          userProperties: { k: 'v' },
          contentType: 'application/json',
          responseTopic: `${p}/reply`,
          correlationData,
          payloadFormatIndicator: true,
        },
      });
      const [m] = await got.next(1);
      const props = m!.packet.properties!;
      expect(props.userProperties).toEqual({ k: 'v' });
      expect(props.contentType).toBe('application/json');
      expect(props.responseTopic).toBe(`${p}/reply`);
      expect(Buffer.from(props.correlationData!).equals(correlationData)).toBe(true);
      expect(props.payloadFormatIndicator).toBe(true);
    });

    it('[MQTT-3.3.2-5] v5 an expired message is not delivered to a session that was away', async () => {
      const p = prefix();
      const clientId = uid();
      const opts = {
        protocolVersion: 5 as const,
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: 30 },
      };
      const first = await client(opts);
      await first.subscribeAsync(`${p}/exp`, { qos: 1 });
      await first.endAsync();
      const pub = await client({ protocolVersion: 5 });
      await pub.publishAsync(`${p}/exp`, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await pub.publishAsync(`${p}/exp`, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
      await sleep(2100);
      const { client: again, got } = connectCollecting(url, opts);
      clients.push(again);
      const [m] = await got.next(1);
      expect(m!.payload).toBe('long');
      expect(m!.packet.properties?.messageExpiryInterval).toBeLessThanOrEqual(60);
      await sleep(100);
      expect(got.all).toHaveLength(1);
      await again.endAsync();
      (await client({ protocolVersion: 5, clientId, clean: true })).end();
    });

    it('[MQTT-3.11.3] v5 UNSUBACK says 0x11 for a filter with no subscription; PUBACK 0x10 with no subscribers', async () => {
      const p = prefix();
      const c = await client({ protocolVersion: 5 });
      const unsuback = await c.unsubscribeAsync(`${p}/never`);
      expect((unsuback as { reasonCode?: number; granted?: number[] } | undefined)?.granted ?? []).toEqual([
        0x11,
      ]);
      const puback = new Promise<number | undefined>((r) =>
        c.on('packetreceive', (pk) => pk.cmd === 'puback' && r(pk.reasonCode)),
      );
      await c.publishAsync(`${p}/nobody`, 'x', { qos: 1 });
      expect(await puback).toBe(0x10);
    });

    it('[MQTT-3.1.2-11] v5 will delay: a client that comes back within the delay suppresses its will', async () => {
      const p = prefix();
      const clientId = uid();
      const watcher = await client({ protocolVersion: 5 });
      const got = collect(watcher);
      await watcher.subscribeAsync(`${p}/wd`, { qos: 1 });
      const opts = {
        protocolVersion: 5 as const,
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: 30 },
        will: {
          topic: `${p}/wd`,
          payload: Buffer.from('late'),
          qos: 1 as const,
          retain: false,
          properties: { willDelayInterval: 2 },
        },
      };
      kill(await client(opts));
      await sleep(300);
      const back = await client(opts);
      await sleep(2200);
      expect(got.all).toEqual([]);
      kill(back);
      const [m] = await got.next(1, 4000);
      expect(m!.payload).toBe('late');
      (await client({ protocolVersion: 5, clientId, clean: true })).end();
    });
  });
}
