import { Socket } from 'node:net';
import { AmqpServer } from '@conveyor/amqp';
import amqp from 'amqplib';
import { Broker } from '@conveyor/core';
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broadcast, ConnectionLostError, ConveyorHealthIndicator, OneWay, Request } from '../src/index.js';
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

describe('remote Conveyor: queue arguments and layout [issue 14, item 7]', () => {
  it('a one-way handler gets its queue (x-delivery-limit, dead-lettering) and DLQ; retries wait in the queue itself, no .retry queue', async () => {
    const p = uniquePrefix();
    let calls = 0;
    @Controller()
    class H {
      @OneWay(`${p}.jobs`, { retry: { maxAttempts: 4, backoffMs: 50 } })
      handle(): void {
        if (++calls < 3) throw new Error('not yet');
      }
    }
    const app = await startApp([H], { url, kind: 'conveyor' });
    const vhost = broker.vhost();
    const jobs = await vhost.queueInfo(`${p}.jobs`);
    expect(jobs.options.maxDeliveries).toBe(4);
    expect(jobs.options.deadLetter).toEqual({ exchange: '', routingKey: `${p}.jobs.dlq` });
    expect(vhost.hasQueue(`${p}.jobs.dlq`)).toBe(true);
    expect(vhost.hasQueue(`${p}.jobs.retry`)).toBe(false);
    await app.client.enqueue(`${p}.jobs`, { n: 1 });
    await waitFor(() => calls === 3);
    await app.close();
  });

  it('handlers make only the queues they need: one-way 2, request 1, broadcast 2', async () => {
    const p = uniquePrefix();
    @Controller()
    class H {
      @OneWay(`${p}.a`)
      a(): void {}
      @Request(`${p}.b`)
      b(): string {
        return 'b';
      }
      @Broadcast(`${p}.c`)
      c(): void {}
    }
    const app = await startApp([H], { url, kind: 'conveyor' });
    const names = (await broker.vhost().listQueues()).map((q) => q.name).filter((n) => n.includes(p));
    expect(names.sort()).toEqual([`${p}.a`, `${p}.a.dlq`, `${p}.b`, `app.${p}.c`, `app.${p}.c.dlq`].sort());
    await app.close();
  });

  it('upgrading over the old layout loses nothing: .retry drains back, a non-empty DLQ stays, an old @Request queue keeps its arguments', async () => {
    const p = uniquePrefix();
    // The previous version's layout, with messages in it.
    const old = await amqp.connect(url);
    const ch = await old.createConfirmChannel();
    await ch.assertQueue(`${p}.jobs.dlq`);
    await ch.assertQueue(`${p}.jobs`, {
      deadLetterExchange: '',
      deadLetterRoutingKey: `${p}.jobs.dlq`,
      arguments: { 'x-delivery-limit': 2 },
    });
    await ch.assertQueue(`${p}.jobs.retry`, { deadLetterExchange: '', deadLetterRoutingKey: `${p}.jobs` });
    await ch.assertQueue(`${p}.ask.dlq`);
    await ch.assertQueue(`${p}.ask`, { deadLetterExchange: '', deadLetterRoutingKey: `${p}.ask.dlq` });
    await ch.assertQueue(`${p}.ask.retry`, { deadLetterExchange: '', deadLetterRoutingKey: `${p}.ask` });
    const body = (n: number): Buffer => Buffer.from(JSON.stringify({ n }));
    ch.sendToQueue(`${p}.jobs.retry`, body(1), { expiration: '300', contentType: 'application/json' });
    ch.sendToQueue(`${p}.ask.dlq`, body(2), { contentType: 'application/json' });
    await ch.waitForConfirms();
    await old.close();

    const handled: number[] = [];
    @Controller()
    class H {
      @OneWay(`${p}.jobs`, { retry: { maxAttempts: 3 } })
      job(@Payload() m: { n: number }): void {
        handled.push(m.n);
      }
      @Request(`${p}.ask`)
      ask(): string {
        return 'answer';
      }
    }
    const app = await startApp([H], { url, kind: 'conveyor' });
    // The waiting retry came back by its TTL and was handled.
    await waitFor(() => handled.includes(1));
    await expect(app.client.request(`${p}.ask`, {})).resolves.toBe('answer');
    const vhost = broker.vhost();
    expect((await vhost.count(`${p}.ask.dlq`)).ready).toBe(1);
    expect((await vhost.queueInfo(`${p}.ask`)).options.deadLetter).toEqual({
      exchange: '',
      routingKey: `${p}.ask.dlq`,
    });
    await app.close();
    // Empty now: the next start deletes the old retry queue.
    const again = await startApp([H], { url, kind: 'conveyor' });
    expect(vhost.hasQueue(`${p}.jobs.retry`)).toBe(false);
    await again.close();
  });
});

describe('remote Conveyor: dead letters counted where they died [issue 14, item 7]', () => {
  it('a poison message is dead-lettered by the broker itself: the source queue counts it, x-death carries the reason, no copy is made', async () => {
    const p = uniquePrefix();
    @Controller()
    class H {
      @OneWay(`${p}.poison`, { retry: { maxAttempts: 2, backoffMs: 10 } })
      handle(): void {
        throw new Error('cannot digest');
      }
    }
    const app = await startApp([H], { url, kind: 'conveyor' });
    const vhost = broker.vhost();
    await app.client.enqueue(`${p}.poison`, { n: 1 });
    await waitFor(async () => (await vhost.count(`${p}.poison.dlq`)).ready === 1);
    const source = await vhost.count(`${p}.poison`);
    expect(source).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });
    const [dead] = await vhost.peek(`${p}.poison.dlq`);
    const deaths = dead?.message.properties.headers?.['x-death'] as {
      queue: string;
      reason: string;
      detail?: string;
    }[];
    expect(deaths[0]).toMatchObject({ queue: `${p}.poison`, reason: 'rejected' });
    expect(deaths[0]?.detail).toContain('Error: cannot digest');
    expect(deaths[0]?.detail).toContain('after 2 attempts');
    // The copy-and-ack fallback's header is not there: this was a move, not a copy.
    expect(dead?.message.properties.headers?.['x-death-detail']).toBeUndefined();
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
