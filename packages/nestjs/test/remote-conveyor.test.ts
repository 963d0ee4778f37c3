import { Socket } from 'node:net';
import { AmqpServer } from '@conveyor/amqp';
import amqp from 'amqplib';
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

describe('remote Conveyor: the AMQP connection [issue 14, items 3 and 5]', () => {
  it('opens with TCP_NODELAY and passes heartbeat and socket options through', async () => {
    const calls: boolean[] = [];
    const original = Socket.prototype.setNoDelay;
    Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean) {
      if (this.remotePort === Number(new URL(url).port)) calls.push(noDelay ?? true);
      return original.call(this, noDelay);
    };
    try {
      const p = uniquePrefix();
      @Controller()
      class H {
        @OneWay(`${p}.tuned`)
        handle(): void {}
      }
      const app = await startApp([H], {
        url,
        kind: 'conveyor',
        amqp: { heartbeatSeconds: 7, connectionName: 'orders' },
      });
      expect(calls).toContain(true);
      const model = app.server.link!.unwrap() as unknown as { connection: { heartbeat: number } };
      expect(model.connection.heartbeat).toBe(7);
      await app.close();
    } finally {
      Socket.prototype.setNoDelay = original;
    }
  });

  it('without kind, a Conveyor broker is recognised by its product: Conveyor options are declared, no 406', async () => {
    const p = uniquePrefix();
    @Controller()
    class H {
      @OneWay(`${p}.kinds`, { retry: { maxAttempts: 4 } })
      handle(): void {}
    }
    const first = await startApp([H], { url, kind: 'conveyor' });
    await first.close();
    // The same app, kind forgotten: before, it redeclared without x-delivery-limit and got a 406.
    const second = await startApp([H], { url });
    expect((second.server.link as unknown as { mode: string }).mode).toBe('conveyor');
    await second.close();
  });

  it('a redeclare with other arguments is refused naming the argument as declared on the wire', async () => {
    const conn = await amqp.connect(url);
    conn.on('error', () => undefined);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined); // the 406 closes it; the error is read from the rejected call
    const q = `${uniquePrefix()}.args`;
    await ch.assertQueue(q, { arguments: { 'x-delivery-limit': 4 } });
    const err = await ch.assertQueue(q, {}).catch((e: unknown) => e as Error);
    expect(String(err)).toContain(
      `inequivalent arg 'x-delivery-limit' for queue '${q}' in vhost '/': received none but current is the value '4'`,
    );
    await conn.close().catch(() => undefined);
  });
});
