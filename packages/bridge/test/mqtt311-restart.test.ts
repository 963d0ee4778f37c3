// MQTT 3.1.1 carries no message id: the bridge derives one from the session sequence (see
// docs/bridge.md). Across a clean bridge restart and a Conveyor restart under the running bridge,
// those ids must be exact: every duplicate is removed by Conveyor, nothing is lost.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bridge, ConveyorSink, MqttSource } from '@conveyor/bridge';
import { connectAsync } from 'mqtt';
import { expectEachOnce, mosquittoAndConveyor, mqttMissing, unique, waitFor } from './support.js';

const N = 3_000;
const QUEUE = 'readings';

describe.skipIf(mqttMissing !== undefined)('MQTT 3.1.1 derived ids through clean restarts', () => {
  const env = mosquittoAndConveyor(QUEUE);

  it(
    'each message exactly once across a clean bridge restart and a Conveyor restart',
    { timeout: 60_000 },
    async () => {
      const options = {
        url: env.mosquitto.url,
        topic: 'r/#',
        clientId: 'bridge-311',
        protocolVersion: 4 as const,
        stateFile: join(env.stateDir, 'bridge-311.json'),
      };
      const makeBridge = (): Bridge =>
        new Bridge({
          name: 'r311',
          source: new MqttSource(options),
          sink: new ConveyorSink({ broker: env.conveyor.ref, queue: QUEUE }),
          backoff: { initialMs: 50, maxMs: 400 },
        });
      const first = makeBridge();
      await first.start();
      const publisher = await connectAsync(env.mosquitto.url, {
        protocolVersion: 4,
        clientId: unique('pub'),
        reconnectPeriod: 0,
      });
      const publishing = (async () => {
        // Paced (about 3 s in all), so both restarts happen while messages are still coming.
        for (let i = 0; i < N; i += 100) {
          await Promise.all(
            Array.from({ length: Math.min(100, N - i) }, (_, k) =>
              publisher.publishAsync(`r/${(i + k) % 5}`, String(i + k), { qos: 1 }),
            ),
          );
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await waitFor(() => first.status().moved >= N / 4, 'a quarter moved');
      await first.stop(); // clean: in-flight messages finish, their PUBACKs go out before DISCONNECT
      const second = makeBridge();
      await second.start();
      await waitFor(() => second.status().moved >= N / 4, 'half moved');
      await env.conveyor.closeBroker(); // the sink goes away under the running bridge
      await new Promise((r) => setTimeout(r, 200));
      await env.conveyor.reopen();
      await publishing;
      await waitFor(
        async () => (await env.conveyor.current.vhost().count(QUEUE)).ready >= N,
        `${N} readings`,
        30_000,
      ).catch(async (err: unknown) => {
        console.log(first.status(), second.status(), await env.conveyor.current.vhost().count(QUEUE));
        throw err;
      });
      await waitFor(() => second.status().inFlight === 0, 'nothing in flight');
      await second.stop();
      await publisher.endAsync();
      console.log(
        `[bridge mqtt 3.1.1] ${first.status().duplicates + second.status().duplicates} duplicates removed by derived id, ${second.status().failed} sends failed with the broker closed`,
      );
      expect(second.status().reconnects).toBeGreaterThanOrEqual(1);
      await expectEachOnce(env.conveyor, QUEUE, N);
    },
  );
});
