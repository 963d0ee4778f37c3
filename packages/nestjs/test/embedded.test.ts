import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import { afterAll, beforeAll } from 'vitest';
import { publishRaw } from './helpers/raw-amqp.js';
import { patternSuite } from './patterns.shared.js';

let broker: Broker;
let amqpServer: AmqpServer;
let port = 0;

beforeAll(async () => {
  broker = await Broker.open({ onError: () => undefined });
  // Only for the plain-client test: an AMQP door onto the same embedded engine.
  amqpServer = new AmqpServer(broker);
  port = (await amqpServer.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await amqpServer.close();
  await broker.close();
});

patternSuite({
  name: 'embedded',
  connection: () => ({ broker }),
  publishRaw: (queue, body, contentType) =>
    publishRaw(`amqp://guest:guest@127.0.0.1:${port}`, queue, body, contentType),
});
