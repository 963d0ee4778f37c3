// Issue 13, defect 3: the memory alarm used to stop reading every MQTT connection, so in an
// MQTT-only deployment nothing could drain the queues holding the memory (a CONNECT got no CONNACK,
// PUBACKs went unread). Now a connection is held only at its next PUBLISH, as RabbitMQ's reader does.
import { afterEach, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connect, connectCollecting, sleep, startConveyor, uid } from './helpers.js';
import { RawClient } from './raw-client.js';

const WATERMARK = 64 * 1024;
const BODY = Buffer.alloc(4 * 1024, 7);

let target: Awaited<ReturnType<typeof startConveyor>> | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

/** Publishes `count` QoS 1 messages without waiting: resolves with how many were acknowledged by then. */
function flood(
  client: MqttClient,
  topic: string,
  count: number,
): { acked: () => number; done: Promise<void> } {
  let acked = 0;
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++)
    all.push(
      client.publishAsync(topic, Buffer.concat([Buffer.from(`${i}:`), BODY]), { qos: 1 }).then(() => acked++),
    );
  return { acked: () => acked, done: Promise.all(all).then(() => undefined) };
}

describe('MQTT under the broker memory alarm', () => {
  test('an offline persistent subscriber connects and drains past the watermark; the publisher resumes; nothing is lost', async () => {
    target = await startConveyor({}, { memoryHighWatermarkBytes: WATERMARK });
    const clientId = uid();
    const options = {
      clientId,
      clean: false,
      protocolVersion: 5 as const,
      properties: { sessionExpiryInterval: 300 },
    };
    const subscriber = await connect(target.url, options);
    await subscriber.subscribeAsync('alarm/t', { qos: 1 });
    await subscriber.endAsync();

    const publisher = await connect(target.url, { protocolVersion: 5, keepalive: 1 });
    const count = 60; // 60 × 4 KiB: well past 64 KiB
    const sent = flood(publisher, 'alarm/t', count);
    await expect.poll(() => target!.broker.blocked).toBe(true);
    await sleep(300);
    const ackedWhileBlocked = sent.acked();
    expect(ackedWhileBlocked).toBeLessThan(count);

    // A new connection is read while the alarm is up: CONNECT gets its CONNACK, PUBACKs are read.
    const { client: back, got, connack } = connectCollecting(target.url, options);
    await connack;
    await got.next(count, 20_000);
    await expect.poll(() => target!.broker.blocked).toBe(false);
    await sent.done;
    // Its keep-alive of 1 s was suspended while it was held: the publisher is still connected.
    expect(publisher.connected).toBe(true);
    const seen = new Set(got.all.map((m) => m.payload.split(':')[0]));
    expect(seen.size).toBe(count);
    await back.endAsync();
    await publisher.endAsync();
  }, 30_000);

  test('a client that subscribes and publishes is held at its PUBLISH, still receives, and resumes', async () => {
    target = await startConveyor({}, { memoryHighWatermarkBytes: WATERMARK });
    const both = await RawClient.open(target.port, 5);
    await both.connect(uid());
    both.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mixed/in', qos: 0 }] });
    await both.next('suback');

    // Fill memory through an offline queue another session holds.
    const holder = uid();
    const offline = await connect(target.url, {
      clientId: holder,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
    });
    await offline.subscribeAsync('mixed/fill', { qos: 1 });
    await offline.endAsync();
    const filler = await connect(target.url, { protocolVersion: 5 });
    void flood(filler, 'mixed/fill', 40).done.catch(() => undefined);
    await expect.poll(() => target!.broker.blocked).toBe(true);

    // Its PUBLISH is held: no PUBACK while the alarm is up.
    both.send({
      cmd: 'publish',
      topic: 'mixed/out',
      payload: Buffer.from('mine'),
      qos: 1,
      messageId: 7,
      retain: false,
      dup: false,
    });
    await sleep(300);
    expect(both.packets.filter((p) => p.cmd === 'puback')).toEqual([]);
    // The others drain the memory; then its PUBLISH goes through and it receives again.
    const sender = await connect(target.url, { protocolVersion: 5 });
    const {
      client: drain,
      got: drained,
      connack,
    } = connectCollecting(target.url, {
      clientId: holder,
      clean: false,
      protocolVersion: 5,
    });
    await connack;
    await drained.next(40, 20_000);
    await expect.poll(() => target!.broker.blocked).toBe(false);
    expect((await both.next('puback', 3000)).messageId).toBe(7);
    await sender.publishAsync('mixed/in', 'to you', { qos: 0 });
    expect((await both.next('publish', 3000)).payload.toString()).toBe('to you');
    both.close();
    await Promise.all([sender.endAsync(), drain.endAsync(), filler.endAsync()]);
  }, 30_000);
});
