// Issue 13, defect 2: on the durable store with --max-message-bytes 1MiB, a persistent QoS 1
// subscriber and a QoS 1 publish just under the limit followed at once by one over it ended the
// process (an unhandled MessageTooLargeError). Now the publisher gets a protocol answer and the
// broker goes on serving.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';

const MiB = 1024 * 1024;
let dir: string;
let cli: RunningCli;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-oversized-'));
  cli = await startCli(
    [
      ...EPHEMERAL_PORTS,
      '--data-dir',
      join(dir, 'data'),
      '--log-level',
      'silent',
      '--max-message-bytes',
      '1MiB',
    ],
    dir,
  );
  url = `mqtt://127.0.0.1:${cli.ports.get('mqtt')}`;
});
afterAll(async () => {
  if (cli.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connect = (options: mqtt.IClientOptions): Promise<MqttClient> =>
  mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });

/** Resolves once the client's connection closed (listen before the close can happen). */
const closed = (client: MqttClient): Promise<void> =>
  new Promise((resolve) => client.once('close', () => resolve()));

describe('an MQTT publish over --max-message-bytes', () => {
  it.each([4, 5] as const)(
    'MQTT %i: refused with a protocol answer; the broker lives and delivers the rest',
    async (version) => {
      const topic = `big/t${version}`;
      const subscriber = await connect({
        clientId: `sub-${version}`,
        clean: false,
        protocolVersion: version,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      });
      await subscriber.subscribeAsync(topic, { qos: 1 });
      const got: number[] = [];
      subscriber.on('message', (_t, payload) => got.push(payload.length));

      const publisher = await connect({ protocolVersion: version });
      const gone = closed(publisher);
      const disconnect = new Promise<number | undefined>((resolve) =>
        publisher.once('disconnect', (packet) => resolve(packet.reasonCode)),
      );
      const small = publisher.publishAsync(topic, Buffer.alloc(MiB - 100), { qos: 1 });
      // Over the message limit but inside the announced packet limit: the engine refuses it.
      // mqtt.js keeps an unacknowledged publish pending after the close: it is not awaited.
      publisher.publish(topic, Buffer.alloc(MiB + 1024), { qos: 1 });
      await expect(small).resolves.toBeDefined();
      // [MQTT-3.2.2-15] too large for the server: 5.0 hears DISCONNECT 0x95 Packet too large;
      // 3.1.1 has no negative PUBACK, so the connection closes [MQTT-3.3.5-2].
      if (version === 5) expect(await disconnect).toBe(0x95);
      await gone;
      publisher.end(true);

      // Over the packet limit as well: refused before it is read whole.
      const huge = await connect({ protocolVersion: version });
      const hugeGone = closed(huge);
      huge.publish(topic, Buffer.alloc(2 * MiB), { qos: 1 });
      await hugeGone;
      huge.end(true);

      expect(cli.child.exitCode).toBeNull();
      const other = await connect({ protocolVersion: version });
      await other.publishAsync(topic, Buffer.from('after'), { qos: 1 });
      await other.endAsync();
      await expect.poll(() => got, { timeout: 5000 }).toEqual([MiB - 100, 5]);
      await subscriber.endAsync();
    },
  );
});
