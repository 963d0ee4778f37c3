import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import amqp from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
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
  publishRaw: async (queue, body, contentType) => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(queue, body, contentType === undefined ? {} : { contentType });
    await ch.waitForConfirms();
    await conn.close();
  },
});
