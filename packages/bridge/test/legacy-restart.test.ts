// The legacy side goes away: a Mosquitto of the test's own (persistent) is restarted under a
// running MQTT → Conveyor bridge, which reconnects with backoff and resumes without loss.
import { describe, expect, it } from 'vitest';
import { Bridge, ConveyorSink, MqttSource } from '@conveyor/bridge';
import { connectAsync } from 'mqtt';
import { EmbeddedConveyor, expectEachOnce, mqttMissing, OwnMosquitto, unique, waitFor } from './support.js';

const N = 2_000;
const QUEUE = 'from-legacy';

describe.skipIf(mqttMissing !== undefined)('the MQTT broker restarts under a running bridge', () => {
  it('reconnects and moves every message exactly once', { timeout: 60_000 }, async () => {
    const mosquitto = await OwnMosquitto.start({ persistence: true });
    const conveyor = await EmbeddedConveyor.open();
    try {
      await conveyor.current.vhost().declareQueue(QUEUE, { dedupeWindowMs: 600_000 });
      const makeBridge = (): Bridge =>
        new Bridge({
          name: 'legacy',
          source: new MqttSource({ url: mosquitto.url, topic: 'legacy/#', clientId: 'bridge-legacy' }),
          sink: new ConveyorSink({ broker: conveyor.ref, queue: QUEUE }),
          window: 64,
          backoff: { initialMs: 50, maxMs: 400 },
        });
      const bridge = makeBridge();
      await bridge.start();
      await bridge.stop(); // the persistent session now exists: the broker queues for it
      const publisher = await connectAsync(mosquitto.url, {
        protocolVersion: 5,
        clientId: unique('pub'),
        reconnectPeriod: 0,
      });
      for (let i = 0; i < N; i += 200)
        await Promise.all(
          Array.from({ length: 200 }, (_, k) =>
            publisher.publishAsync('legacy/x', String(i + k), {
              qos: 1,
              properties: { userProperties: { 'conveyor-message-id': `l-${i + k}` } },
            }),
          ),
        );
      await publisher.endAsync();
      const running = makeBridge();
      await running.start();
      await waitFor(() => running.status().moved >= N / 4, 'a quarter moved');
      await mosquitto.restart();
      await waitFor(
        async () => (await conveyor.current.vhost().count(QUEUE)).ready >= N,
        `${N} messages`,
        30_000,
      );
      await waitFor(() => running.status().inFlight === 0, 'nothing in flight');
      const status = running.status();
      await running.stop();
      console.log(
        `[bridge mqtt broker restart] ${status.duplicates} duplicates removed, ${status.reconnects} reconnects`,
      );
      expect(status.reconnects).toBeGreaterThanOrEqual(1);
      expect(status.lastError).toMatch(/^mqtt source (lost|mqtt:\/\/.* cannot connect)/); // the loss, or the refused reconnect after it
      await expectEachOnce(conveyor, QUEUE, N);
    } finally {
      await mosquitto.stop();
      await conveyor.dispose();
    }
  });
});
