import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionLostError, ConveyorHealthIndicator, OneWay } from '../src/index.js';
import { startApp, uniquePrefix, waitFor } from './helpers/apps.js';
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

describe('remote Conveyor: losing the broker', () => {
  it('reports ConnectionLostError, goes disconnected (health down), then reconnects and resubscribes', async () => {
    const own = await Broker.open({ onError: () => undefined });
    let door = new AmqpServer(own, { onError: () => undefined });
    const port = (await door.listen(0, '127.0.0.1')).port;
    const ownUrl = `amqp://guest:guest@127.0.0.1:${port}`;
    const p = uniquePrefix();
    const handled: unknown[] = [];
    @Controller()
    class H {
      @OneWay(`${p}.q`)
      handle(@Payload() data: unknown): void {
        handled.push(data);
      }
    }
    const app = await startApp([H], { url: ownUrl, kind: 'conveyor' });
    const errors: unknown[] = [];
    app.server.on('error', (err) => errors.push(err));
    const statuses: string[] = [];
    app.server.status.subscribe((s) => statuses.push(s));
    const health = app.app.get(ConveyorHealthIndicator);
    await expect(health.isHealthy('conveyor')).resolves.toEqual({
      conveyor: { status: 'up', mode: 'conveyor' },
    });
    await door.close();
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(ConnectionLostError);
    expect(statuses.at(-1)).toBe('disconnected');
    await expect(health.isHealthy('conveyor')).resolves.toMatchObject({ conveyor: { status: 'down' } });
    // The broker comes back on the same port: the server reconnects and its handler works again.
    door = new AmqpServer(own, { onError: () => undefined });
    await door.listen(port, '127.0.0.1');
    await waitFor(() => statuses.at(-1) === 'connected', 8_000);
    await own.vhost().send(`${p}.q`, { body: '"after reconnect"' });
    await waitFor(() => handled.length === 1);
    expect(handled).toEqual(['after reconnect']);
    await app.close();
    await door.close();
    await own.close();
  });
});

describe('remote Conveyor: queue arguments', () => {
  it('declares x-delivery-limit (crash-loop guard), the DLQ and the retry queue that dead-letters back', async () => {
    const p = uniquePrefix();
    @Controller()
    class H {
      @OneWay(`${p}.jobs`, { retry: { maxAttempts: 4 } })
      handle(): void {}
    }
    const app = await startApp([H], { url, kind: 'conveyor' });
    const vhost = broker.vhost();
    const jobs = await vhost.queueInfo(`${p}.jobs`);
    expect(jobs.options.maxDeliveries).toBe(4);
    expect(jobs.options.deadLetter).toEqual({ exchange: '', routingKey: `${p}.jobs.dlq` });
    expect(vhost.hasQueue(`${p}.jobs.dlq`)).toBe(true);
    const retry = await vhost.queueInfo(`${p}.jobs.retry`);
    expect(retry.options.deadLetter).toEqual({ exchange: '', routingKey: `${p}.jobs` });
    await app.close();
  });
});
