import { startBroker, type RunningBroker } from '@conveyor/broker';
import { Broker } from '@conveyor/core';
import amqp from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { usedPrefixes } from './helpers/apps.js';
import { deleteTestQueues, reachable } from './helpers/raw-amqp.js';
import { receiverSuite } from './receiver.shared.js';

let embedded: Broker;
let remote: RunningBroker;
let amqpUrl = '';
let httpUrl = '';
const rabbitUrl = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const rabbitAvailable = await reachable(rabbitUrl);

beforeAll(async () => {
  embedded = await Broker.open();
  remote = await startBroker({
    store: { kind: 'memory' },
    bind: '127.0.0.1',
    ports: { amqp: 0, http: 0, mqtt: false, 'mqtt-ws': false },
    logLevel: 'silent',
  });
  const port = (name: string): number => remote.listeners.find((l) => l.name === name)!.port;
  amqpUrl = `amqp://guest:guest@127.0.0.1:${port('amqp')}`;
  httpUrl = `http://guest:guest@127.0.0.1:${port('http')}`;
  if (!rabbitAvailable && process.env['CI'] === 'true')
    throw new Error(`RabbitMQ unreachable at ${rabbitUrl}`);
});

afterAll(async () => {
  await embedded.close();
  await remote.close();
  if (rabbitAvailable) await deleteTestQueues(rabbitUrl, usedPrefixes);
});

async function declareOver(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url);
  await (await conn.createChannel()).assertQueue(queue, { durable: true });
  await conn.close();
}

receiverSuite({
  name: 'embedded',
  connection: () => ({ broker: embedded }),
  declare: async (q) => void (await embedded.vhost().declareQueue(q)),
  full: true,
});

receiverSuite({
  name: 'remote Conveyor with the management API',
  connection: () => ({ url: amqpUrl, kind: 'conveyor', managementUrl: httpUrl }),
  declare: (q) => declareOver(amqpUrl, q),
  full: true,
});

receiverSuite({
  name: 'remote Conveyor without the management API',
  connection: () => ({ url: amqpUrl, kind: 'conveyor' }),
  declare: (q) => declareOver(amqpUrl, q),
  full: false,
});

if (rabbitAvailable || process.env['CI'] === 'true') {
  receiverSuite({
    name: 'RabbitMQ',
    connection: () => ({ url: rabbitUrl, kind: 'rabbitmq' }),
    declare: (q) => declareOver(rabbitUrl, q),
    full: false,
  });
}
