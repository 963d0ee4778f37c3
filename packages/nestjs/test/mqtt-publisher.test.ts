import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Broker } from '@conveyor/core';
import { MqttServer } from '@conveyor/mqtt';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broadcast, ConveyorContext } from '../src/index.js';
import { startApp, uniquePrefix, waitFor } from './helpers/apps.js';

let broker: Broker;
let server: MqttServer;
let port = 0;

beforeAll(async () => {
  broker = await Broker.open();
  server = new MqttServer(broker);
  port = (await server.listen(0)).port;
});

afterAll(async () => {
  await server.close();
  await broker.close();
});

it('a plain MQTT publish (a/b/c → a.b.c on amq.topic) reaches a @Broadcast handler', async () => {
  const p = uniquePrefix();
  const seen: { data: unknown; queue: string }[] = [];
  @Controller()
  class Sensors {
    @Broadcast(`${p}.sensors.*.temp`)
    temp(@Payload() data: unknown, @Ctx() ctx: ConveyorContext): void {
      seen.push({ data, queue: ctx.queue });
    }
  }
  const app = await startApp([Sensors], { broker });
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
  await client.publishAsync(`${p}/sensors/kitchen/temp`, '{"celsius":21.5}', { qos: 1 });
  await client.publishAsync(`${p}/sensors/hall/temp`, '19', { qos: 1 });
  await waitFor(() => seen.length === 2);
  expect(seen).toEqual([
    { data: { celsius: 21.5 }, queue: `app.${p}.sensors.*.temp` },
    { data: 19, queue: `app.${p}.sensors.*.temp` },
  ]);
  await client.endAsync();
  await app.close();
});
