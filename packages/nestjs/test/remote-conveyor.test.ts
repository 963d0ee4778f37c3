import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import { afterAll, beforeAll } from 'vitest';
import { publishRaw } from './helpers/raw-amqp.js';
import { patternSuite } from './patterns.shared.js';

let broker: Broker;
let amqpServer: AmqpServer;
let url = '';

beforeAll(async () => {
  broker = await Broker.open({ onError: () => undefined });
  amqpServer = new AmqpServer(broker, { onError: () => undefined });
  url = `amqp://guest:guest@127.0.0.1:${(await amqpServer.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await amqpServer.close();
  await broker.close();
});

patternSuite({
  name: 'remote Conveyor over AMQP',
  connection: () => ({ url, kind: 'conveyor' }),
  publishRaw: (queue, body, contentType) => publishRaw(url, queue, body, contentType),
});
