// 10,000 messages through a bridge into an embedded Conveyor broker over LMDB, with a crash of the
// bridge (abort: nothing settled, connections dropped), the Conveyor broker closed and reopened while
// the bridge is down, and closed and reopened again under the running bridge. Nothing may be lost,
// and the final queue must hold each message exactly once: duplicates carry their id and
// Conveyor's duplicate detection (dedupeWindowMs) removes them.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AmqpSource, Bridge, ConveyorSink, MqttSource, type SourceEndpoint } from '@conveyor/bridge';
import { connectAsync } from 'mqtt';
import {
  expectEachOnce,
  mosquittoAndConveyor,
  mqttMissing,
  rabbitAndConveyor,
  type EmbeddedConveyor,
  RABBITMQ_URL,
  rabbitMissing,
  unique,
  waitFor,
} from './support.js';

const N = 10_000;
const QUEUE = 'ingest';

async function runWithRestarts(
  conveyor: EmbeddedConveyor,
  makeSource: () => SourceEndpoint,
  publishing: Promise<void>,
): Promise<{ ms: number; duplicates: number; reconnects: number }> {
  const started = Date.now();
  const makeBridge = (): Bridge =>
    new Bridge({
      name: 'load',
      source: makeSource(),
      sink: new ConveyorSink({ broker: conveyor.ref, queue: QUEUE }),
      backoff: { initialMs: 50, maxMs: 400 },
    });
  const debug = (...args: unknown[]): void => {
    if (process.env.BRIDGE_DEBUG) console.log(Date.now() - started, ...args);
  };
  const first = makeBridge();
  await first.start();
  debug('first started');
  await waitFor(() => first.status().moved >= N * 0.3, '30% moved', 30_000);
  first.abort(); // the crash: whatever was in flight is neither acked nor finished
  await conveyor.closeBroker();
  await conveyor.reopen();
  const second = makeBridge();
  await second.start();
  debug('second started');
  await waitFor(() => second.status().moved >= N * 0.3, '60% moved', 30_000);
  await conveyor.closeBroker(); // the Conveyor side goes away under the running bridge
  await new Promise((r) => setTimeout(r, 200));
  await conveyor.reopen();
  await publishing;
  debug('reopened');
  await waitFor(
    async () => (await conveyor.current.vhost().count(QUEUE)).ready >= N,
    `${N} messages in Conveyor`,
    60_000,
  );
  await waitFor(() => second.status().inFlight === 0, 'nothing in flight', 10_000);
  const ms = Date.now() - started;
  await second.stop();
  const duplicates = first.status().duplicates + second.status().duplicates;
  debug(first.status(), second.status());
  return { ms, duplicates, reconnects: second.status().reconnects };
}

describe.skipIf(rabbitMissing !== undefined)('10,000 messages RabbitMQ → Conveyor through restarts', () => {
  const env = rabbitAndConveyor(async (c) => {
    await c.current.vhost().declareQueue(QUEUE, { dedupeWindowMs: 600_000 });
  });

  it('nothing lost, each message id exactly once', { timeout: 90_000 }, async () => {
    const source = await env.rabbit.queue(unique('bridge-10k'));
    for (let i = 0; i < N; i++)
      env.rabbit.channel.sendToQueue(source, Buffer.from(String(i)), {
        messageId: `r-${i}`,
        persistent: true,
      });
    await env.rabbit.channel.waitForConfirms();
    const result = await runWithRestarts(
      env.conveyor,
      () => new AmqpSource({ url: RABBITMQ_URL, queue: source }),
      Promise.resolve(),
    );
    console.log(
      `[bridge 10k amqp→conveyor] ${result.ms} ms, ${result.duplicates} duplicates removed, ${result.reconnects} reconnects`,
    );
    expect((await env.rabbit.channel.checkQueue(source)).messageCount).toBe(0);
    await expectEachOnce(env.conveyor, QUEUE, N);
  });
});

describe.skipIf(mqttMissing !== undefined)('10,000 messages MQTT 5 → Conveyor through restarts', () => {
  const env = mosquittoAndConveyor(QUEUE);

  it(
    'nothing lost, each message exactly once (ids in the conveyor-message-id user property)',
    { timeout: 90_000 },
    async () => {
      const clientId = 'bridge-load';
      const stateFile = join(env.stateDir, `${clientId}.json`);
      // Create the persistent session before publishing, so the broker keeps everything for it.
      const probe = new MqttSource({
        url: env.mosquitto.url,
        topic: 'load/#',
        clientId,
        protocolVersion: 5,
        stateFile,
      });
      await probe.open(() => undefined);
      await probe.close();
      const publisher = await connectAsync(env.mosquitto.url, {
        protocolVersion: 5,
        clientId: unique('pub'),
        reconnectPeriod: 0,
      });
      const publishing = (async () => {
        for (let i = 0; i < N; i += 500) {
          await Promise.all(
            Array.from({ length: Math.min(500, N - i) }, (_, k) =>
              publisher.publishAsync(`load/${(i + k) % 7}`, String(i + k), {
                qos: 1,
                properties: { userProperties: { 'conveyor-message-id': `q-${i + k}` } },
              }),
            ),
          );
        }
      })();
      const result = await runWithRestarts(
        env.conveyor,
        () =>
          new MqttSource({
            url: env.mosquitto.url,
            topic: 'load/#',
            clientId,
            protocolVersion: 5,
            stateFile,
          }),
        publishing,
      );
      console.log(
        `[bridge 10k mqtt→conveyor] ${result.ms} ms, ${result.duplicates} duplicates removed, ${result.reconnects} reconnects`,
      );
      await publisher.endAsync();
      await expectEachOnce(env.conveyor, QUEUE, N);
    },
  );
});
