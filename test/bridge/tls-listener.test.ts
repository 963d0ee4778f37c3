// Issue 13: the bridges dial amqps:// and mqtts://; here one bridges into Conveyor's own TLS
// listeners (a broker with a test certificate), verifying the server against the endpoint's `ca`.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTENERS, startBroker, type RunningBroker } from '@conveyor/broker';
import { connect } from 'amqplib';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates.js';

const silent = pino({ level: 'silent' });

describe("a bridge into Conveyor's own TLS listeners", () => {
  let dir: string;
  let certs: TestCertificates;
  let target: RunningBroker;
  const port = (name: string): number => target.listeners.find((l) => l.name === name)!.port;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-tls-'));
    certs = makeTestCertificates(join(dir, 'certs'));
    target = await startBroker({
      store: { kind: 'memory' },
      logger: silent,
      bind: '127.0.0.1',
      ports: { amqps: 0, mqtts: 0 },
      listeners: LISTENERS.filter((l) => l.name === 'amqps' || l.name === 'mqtts'),
      tls: {
        certFile: certs.server.cert,
        keyFile: certs.server.key,
        verifyClient: false,
        identityFrom: 'cn',
      },
    });
    await target.broker.vhost().declareQueue('landed', { durable: false });
  });
  afterAll(async () => {
    await target?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('conveyor: → amqps:// and conveyor: → mqtts:// deliver, with the server verified against ca', async () => {
    const source = await startBroker({
      store: { kind: 'memory' },
      logger: silent,
      listeners: [],
      bridges: [
        {
          name: 'to-amqps',
          from: { url: 'conveyor:', exchange: 'amq.direct', routingKey: 'out-amqp' },
          to: { url: `amqps://guest:guest@localhost:${port('amqps')}`, queue: 'landed', ca: certs.ca },
        },
        {
          name: 'to-mqtts',
          from: { url: 'conveyor:', exchange: 'amq.direct', routingKey: 'out-mqtt' },
          to: { url: `mqtts://guest:guest@localhost:${port('mqtts')}`, topic: 'bridged/t', ca: certs.ca },
        },
      ],
    });
    try {
      const watcher = await mqtt.connectAsync(`mqtts://localhost:${port('mqtts')}`, {
        ca: readFileSync(certs.ca),
        username: 'guest',
        password: 'guest',
        reconnectPeriod: 0,
      });
      const overMqtt = new Promise<string>((resolve) =>
        watcher.once('message', (_t, p) => resolve(p.toString())),
      );
      await watcher.subscribeAsync('bridged/t', { qos: 1 });
      await source.broker.vhost().publish('amq.direct', 'out-amqp', { body: 'via amqps' });
      await source.broker.vhost().publish('amq.direct', 'out-mqtt', { body: 'via mqtts' });
      expect(await overMqtt).toBe('via mqtts');
      const conn = await connect(`amqps://guest:guest@localhost:${port('amqps')}`, {
        ca: [readFileSync(certs.ca)],
      });
      const ch = await conn.createChannel();
      const got = await new Promise<string>((resolve) => {
        void ch.consume('landed', (m) => m && resolve(m.content.toString()), { noAck: true });
      });
      expect(got).toBe('via amqps');
      await conn.close();
      await watcher.endAsync();
    } finally {
      await source.close();
    }
  });
});
