import { describe, expect, it } from 'vitest';
import { AmqpSink, AmqpSource, Bridge, ConveyorSink, ConveyorSource } from '@conveyor/bridge';
import { rabbitAndConveyor, RABBITMQ_URL, rabbitMissing, unique, waitFor } from './support.js';

describe.skipIf(rabbitMissing !== undefined)('bridge ↔ RabbitMQ', () => {
  const env = rabbitAndConveyor();

  it('RabbitMQ queue → Conveyor queue, with properties and an ack only after the durable send', async () => {
    const source = await env.rabbit.queue(unique('bridge-in'));
    await env.conveyor.current.vhost().declareQueue('orders', { dedupeWindowMs: 60_000 });
    const bridge = new Bridge({
      name: 'in',
      source: new AmqpSource({ url: RABBITMQ_URL, queue: source }),
      sink: new ConveyorSink({ broker: env.conveyor.ref, queue: 'orders' }),
    });
    await bridge.start();
    env.rabbit.channel.sendToQueue(source, Buffer.from('hello'), {
      messageId: 'm-1',
      correlationId: 'c-1',
      replyTo: 'answers',
      contentType: 'text/plain',
      expiration: '60000',
      headers: { tenant: 'acme', n: 7 },
      persistent: true,
    });
    const vhost = env.conveyor.current.vhost();
    await waitFor(async () => (await vhost.count('orders')).ready === 1, 'the message in Conveyor');
    const [delivery] = await vhost.receive('orders');
    expect(Buffer.from(delivery!.message.body).toString()).toBe('hello');
    expect(delivery!.message.properties).toMatchObject({
      messageId: 'm-1',
      correlationId: 'c-1',
      replyTo: 'answers',
      contentType: 'text/plain',
      expiration: 60_000,
      persistent: true,
      headers: { tenant: 'acme', n: 7 },
    });
    await vhost.ack(delivery!);
    await waitFor(() => bridge.status().moved === 1, 'moved = 1');
    expect((await env.rabbit.channel.checkQueue(source)).messageCount).toBe(0);
    expect(bridge.status()).toMatchObject({ connected: true, moved: 1, failed: 0, inFlight: 0 });
    await waitFor(
      () => bridge.status().lag === 0,
      'lag sampled as 0 (RabbitMQ queue count + in flight)',
      3_000,
    );
    await bridge.stop();
    expect(bridge.status().state).toBe('stopped');
  });

  it('Conveyor exchange → RabbitMQ exchange, routing key kept, with publisher confirms', async () => {
    const vhost = env.conveyor.current.vhost();
    await vhost.declareExchange('events', 'topic');
    const exchange = await env.rabbit.exchange(unique('bridge-ex'));
    const target = await env.rabbit.queue(unique('bridge-out'));
    await env.rabbit.channel.bindQueue(target, exchange, 'orders.#');
    const own = unique('bridge-own');
    const bridge = new Bridge({
      name: 'out',
      source: new ConveyorSource({
        broker: env.conveyor.ref,
        exchange: 'events',
        routingKey: 'orders.#',
        ownQueue: own,
      }),
      sink: new AmqpSink({ url: RABBITMQ_URL, exchange }),
    });
    await bridge.start();
    for (let i = 0; i < 50; i++) {
      await vhost.publish('events', 'orders.created', {
        body: `order ${i}`,
        properties: { messageId: `o-${i}`, headers: { i }, persistent: true, type: 'created' },
      });
    }
    await vhost.publish('events', 'payments.done', { body: 'not bridged' });
    const got = await env.rabbit.drain(target, 50);
    expect(got.map((m) => m.content.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `order ${i}`));
    expect(got[3]!.fields.routingKey).toBe('orders.created');
    expect(got[3]!.properties).toMatchObject({
      messageId: 'o-3',
      type: 'created',
      deliveryMode: 2,
      headers: { i: 3 },
    });
    await waitFor(() => bridge.status().inFlight === 0, 'acks');
    expect((await vhost.count(own)).ready + (await vhost.count(own)).inFlight).toBe(0);
    await bridge.stop();
  });
});
