/**
 * Connection-level behaviour of Conveyor's AMQP server that needs its own server settings or raw frames:
 * negotiation, SASL, heartbeats, blocking, forced close, limits, and Conveyor-only differences.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumeMessage } from 'amqplib';
import {
  AmqpServer,
  createMethod,
  encodeContent,
  encodeFieldTable,
  encodeFrame,
  encodeMethodFrame,
} from '../src/index.js';
import {
  channel,
  channelClosed,
  closeClients,
  confirmChannel,
  connect,
  expectCode,
  sleep,
  take,
  until,
} from './helpers/amqp-clients.js';
import { closeCode, isMethod, rawChannel, rawHandshake } from './helpers/raw-client.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';

const targets: ConveyorTarget[] = [];
async function server(...args: Parameters<typeof startConveyor>): Promise<ConveyorTarget> {
  const t = await startConveyor(...args);
  targets.push(t);
  return t;
}

afterEach(async () => {
  await closeClients();
  for (const t of targets.splice(0)) await t.close();
});

describe('handshake and negotiation', () => {
  it('announces RabbitMQ-compatible server properties and capabilities', async () => {
    const t = await server();
    const conn = await connect(t.url);
    const props = conn.connection.serverProperties as unknown as {
      product: string;
      capabilities: Record<string, boolean>;
    };
    expect(props.product).toBe('Conveyor');
    expect(props.capabilities).toMatchObject({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    });
    expect(t.server.connectionCount).toBe(1);
  });

  it('SASL AMQPLAIN logs in; a bad PLAIN password is refused with connection.close 403', async () => {
    const t = await server();
    const table = encodeFieldTable({ LOGIN: 'guest', PASSWORD: 'guest' }).subarray(4);
    const ok = await rawHandshake(t.port, { mechanism: 'AMQPLAIN', response: table });
    expect(ok.last.type === 'method' && ok.last.method.name).toBe('connection.open-ok');
    ok.client.destroy();
    const bad = await rawHandshake(t.port, { password: 'nope' });
    expect(closeCode(bad.last)).toBe(403);
    bad.client.sendMethod(0, createMethod('connection.close-ok', {}));
    await bad.client.closed;
  });

  it('configured users replace guest; loopbackOnly users are refused from other addresses', async () => {
    const t = await server({
      users: [
        { username: 'app', password: 's3cret' },
        { username: 'local', password: 'x', loopbackOnly: true },
      ],
    });
    await expect(connect(t.url)).rejects.toThrow(/ACCESS_REFUSED|403/);
    const conn = await connect(`amqp://app:s3cret@127.0.0.1:${t.port}`);
    expect(conn).toBeDefined();
    await connect(`amqp://local:x@127.0.0.1:${t.port}`);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (external === undefined) return; // no non-loopback interface on this machine
    const wide = new AmqpServer(t.broker, {
      users: [
        { username: 'app', password: 's3cret' },
        { username: 'local', password: 'x', loopbackOnly: true },
      ],
    });
    const { port } = await wide.listen(0, external);
    try {
      await expect(connect(`amqp://local:x@${external}:${port}`)).rejects.toThrow(/ACCESS_REFUSED|403/);
      await connect(`amqp://app:s3cret@${external}:${port}`);
      await closeClients();
    } finally {
      await wide.close();
    }
  });

  it("a user limited to some vhosts is refused another with connection.close 530 (RabbitMQ's text)", async () => {
    const t = await server({
      users: [
        { username: 'tenant', password: 't', vhosts: ['tenant-a'] },
        { username: 'rooted', password: 'r', vhosts: ['/'] },
      ],
    });
    await t.broker.addVhost('tenant-a');
    const refused = await rawHandshake(t.port, { username: 'tenant', password: 't', vhost: '/' });
    expect(closeCode(refused.last)).toBe(530);
    expect(refused.last.type === 'method' && refused.last.method.args).toMatchObject({
      replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'tenant'",
    });
    const own = await rawHandshake(t.port, { username: 'tenant', password: 't', vhost: 'tenant-a' });
    expect(own.last.type === 'method' && own.last.method.name).toBe('connection.open-ok');
    const root = await rawHandshake(t.port, { username: 'rooted', password: 'r', vhost: '/' });
    expect(root.last.type === 'method' && root.last.method.name).toBe('connection.open-ok');
  });

  it('frame_max and channel_max are negotiated down to the client; big bodies are split into frames', async () => {
    const t = await server({ frameMax: 65536, channelMax: 16 });
    const conn = await connect(t.url, { frameMax: 8192 } as never);
    const ch = await channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.alloc(100_000, 7);
    ch.sendToQueue(queue, body);
    const [m] = await take(ch, queue, 1);
    expect(m!.content.equals(body)).toBe(true);
    const raw = await rawChannel(t.port);
    raw.sendMethod(17, createMethod('channel.open', {}));
    expect(closeCode(await raw.next(isMethod('connection.close')))).toBe(530);
    raw.destroy();
  });

  it('sends heartbeats and closes the socket of a peer silent for two intervals, releasing its deliveries', async () => {
    const t = await server({ heartbeatSeconds: 1 });
    const setup = await channel(await connect(t.url));
    const { queue } = await setup.assertQueue('hb-q', { durable: false });
    setup.sendToQueue(queue, Buffer.from('held'));
    const { client } = await rawHandshake(t.port, { heartbeat: 1 });
    client.sendMethod(1, createMethod('channel.open', {}));
    client.sendMethod(1, createMethod('basic.consume', { queue, consumerTag: 'silent' }));
    await client.next((f) => f.type === 'body');
    await client.next((f) => f.type === 'heartbeat', 1500);
    const started = Date.now();
    await client.closed; // we never answer: the server gives up
    expect(Date.now() - started).toBeLessThan(3500);
    await until(async () => (await setup.checkQueue(queue)).messageCount === 1);
  });
});

describe('closing', () => {
  it('server.close() sends connection.close 320 CONNECTION_FORCED to every client', async () => {
    const t = await startConveyor();
    const conn = await connect(t.url);
    const closed = new Promise<Error | undefined>((resolve) => conn.on('close', resolve));
    await t.server.close();
    expect(String(await closed)).toMatch(/320|CONNECTION_FORCED/);
    expect(t.server.connectionCount).toBe(0);
    await t.broker.close();
  });

  it('a publish pipelined with connection.close (same TCP write) still takes effect before close-ok', async () => {
    const t = await server();
    const raw = await rawChannel(t.port);
    raw.send(
      Buffer.concat([
        encodeMethodFrame(1, createMethod('queue.declare', { queue: 'pipelined', durable: true })),
        encodeMethodFrame(1, createMethod('basic.publish', { exchange: '', routingKey: 'pipelined' })),
        encodeFrame({ type: 'header', channel: 1, bodySize: 2, properties: {} }),
        encodeFrame({ type: 'body', channel: 1, payload: Buffer.from('ok') }),
        encodeMethodFrame(
          0,
          createMethod('connection.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }),
        ),
      ]),
    );
    await raw.next(isMethod('connection.close-ok'));
    await raw.closed;
    expect((await t.broker.vhost('/').count('pipelined')).ready).toBe(1);
  });

  it('a socket that dies abruptly releases its consumers, unacked messages and exclusive queues', async () => {
    const t = await server();
    const watcher = await channel(await connect(t.url));
    await watcher.assertQueue('shared', { durable: false });
    watcher.sendToQueue('shared', Buffer.from('m'));
    const raw = await rawChannel(t.port);
    raw.sendMethod(1, createMethod('queue.declare', { queue: 'mine', exclusive: true }));
    raw.sendMethod(1, createMethod('basic.consume', { queue: 'shared', consumerTag: 'c' }));
    await raw.next((f) => f.type === 'body');
    raw.destroy();
    await until(
      async () => (await watcher.checkQueue('shared')).messageCount === 1 && t.server.connectionCount === 1,
    );
    expect(t.broker.vhost('/').hasQueue('mine')).toBe(false);
  });
});

describe('limits and flow', () => {
  it('a message over maxMessageBytes closes the channel with 406; the connection goes on', async () => {
    const t = await server({ maxMessageBytes: 1000 });
    const conn = await connect(t.url);
    const ch = await channel(conn);
    const closed = channelClosed(ch);
    ch.sendToQueue('anything', Buffer.alloc(2000));
    expect(await closed).toBe(406);
    const ch2 = await channel(conn);
    expect((await ch2.assertQueue('', { exclusive: true })).queue).toMatch(/^amq\.gen-/);
  });

  it('memory watermark: connection.blocked to clients, publishers paused until connection.unblocked', async () => {
    const t = await server({}, { memoryHighWatermarkBytes: 10_000 });
    const conn = await connect(t.url);
    const events: string[] = [];
    conn.on('blocked', () => events.push('blocked'));
    conn.on('unblocked', () => events.push('unblocked'));
    const ch = await confirmChannel(conn);
    const { queue } = await ch.assertQueue('big', { durable: false });
    await new Promise<void>((resolve, reject) =>
      ch.sendToQueue(queue, Buffer.alloc(20_000), {}, (err) => (err ? reject(err) : resolve())),
    );
    await until(() => events.includes('blocked'));
    let confirmed = false;
    ch.sendToQueue(queue, Buffer.from('waits'), {}, () => (confirmed = true));
    await sleep(150);
    expect(confirmed).toBe(false);
    // The blocked publisher's socket is not read: free memory from the engine side.
    await t.broker.vhost('/').purgeQueue(queue);
    await until(() => events.includes('unblocked') && confirmed);
  });
});

describe('slow consumers', () => {
  it('a consumer whose socket is not read stops taking deliveries (bounded memory) and catches up on drain', async () => {
    const t = await server();
    const vhost = t.broker.vhost('/');
    await vhost.declareQueue('slow', { durable: false });
    const client = await rawChannel(t.port);
    client.sendMethod(1, createMethod('basic.consume', { queue: 'slow', consumerTag: 'c1', noAck: true }));
    await client.next(isMethod('basic.consume-ok'));
    client.socket.pause(); // a client that stopped reading
    const total = 5000;
    const body = Buffer.alloc(16 * 1024, 1);
    for (let i = 0; i < total; i += 500)
      await Promise.all(Array.from({ length: 500 }, () => vhost.send('slow', { body })));
    await sleep(300);
    const stalled = await vhost.count('slow');
    // Without flow control every message would have been pushed into the socket's buffer (80 MiB).
    expect(stalled.ready).toBeGreaterThan(total / 2);
    client.socket.resume();
    await until(async () => client.frames.filter(isMethod('basic.deliver')).length === total, 20_000);
    expect((await vhost.count('slow')).ready).toBe(0);
  });
});

describe('Conveyor-only behaviour (differences from RabbitMQ, see docs/amqp.md)', () => {
  it('x-consumer-timeout: a consumer holding a delivery too long gets its channel closed with 406', async () => {
    const t = await server();
    const ch = await channel(await connect(t.url));
    const { queue } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-consumer-timeout': 100 } });
    const closed = channelClosed(ch);
    ch.sendToQueue(queue, Buffer.from('slow'));
    await ch.consume(queue, () => undefined);
    expect(await closed).toBe(406);
  });

  it('x-queue-type other than classic or quorum (e.g. stream) is refused with 406', async () => {
    const t = await server();
    const ch = await channel(await connect(t.url));
    await expectCode(ch.assertQueue('s', { durable: true, arguments: { 'x-queue-type': 'stream' } }), 406);
  });

  it('x-delivery-limit maps to the engine limit + 1, so the first delivery and N redeliveries reach consumers', async () => {
    const t = await server();
    const ch = await channel(await connect(t.url));
    await ch.assertQueue('dl', { durable: false, arguments: { 'x-delivery-limit': 2 } });
    expect((await t.broker.vhost('/').queueInfo('dl')).options.maxDeliveries).toBe(3);
  });

  it('x-delay on publish (the delayed-message header) holds the message back in its queue', async () => {
    const t = await server();
    const ch = await channel(await connect(t.url));
    await ch.assertQueue('later', { durable: false });
    const sent = Date.now();
    ch.sendToQueue('later', Buffer.from('late'), { headers: { 'x-delay': 150 } });
    ch.sendToQueue('later', Buffer.from('now'));
    await until(async () => {
      const c = await t.broker.vhost('/').count('later');
      return c.ready === 1 && c.delayed === 1;
    });
    const first = await ch.get('later', { noAck: true });
    expect(first && first.content.toString()).toBe('now');
    expect(await ch.get('later', { noAck: true })).toBe(false);
    await until(async () => (await t.broker.vhost('/').count('later')).ready === 1);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(140);
    const second = await ch.get('later', { noAck: true });
    expect(second && second.content.toString()).toBe('late');
  });
});

describe('the delayed-message exchange type (x-delayed-message)', () => {
  it('routes as its x-delayed-type says when the x-delay is over, with the bindings of that moment; redeclared alike', async () => {
    const t = await server();
    const ch = await confirmChannel(await connect(t.url));
    const options = { durable: true, arguments: { 'x-delayed-type': 'topic' } };
    await ch.assertExchange('delayed', 'x-delayed-message', options);
    await ch.assertExchange('delayed', 'x-delayed-message', options); // equivalent: declare-ok
    await ch.assertQueue('delayed.a', { durable: true });
    await ch.assertQueue('delayed.b', { durable: true });
    await ch.bindQueue('delayed.a', 'delayed', 'jobs.*');
    const sent = Date.now();
    ch.publish('delayed', 'jobs.email', Buffer.from('late'), {
      headers: { 'x-delay': 300 },
      persistent: true,
    });
    ch.publish('delayed', 'jobs.sms', Buffer.from('now'));
    await ch.waitForConfirms();
    const vhost = t.broker.vhost('/');
    // Held whole, not in the queue: nothing of it is in delayed.a yet.
    expect(await vhost.count('delayed.a')).toMatchObject({ ready: 1, delayed: 0 });
    expect(((await ch.get('delayed.a', { noAck: true })) || undefined)?.content.toString()).toBe('now');
    // A binding made during the delay counts: routed when the delay is over.
    await ch.bindQueue('delayed.b', 'delayed', 'jobs.#');
    await until(async () => (await vhost.count('delayed.b')).ready === 1);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
    await until(async () => (await vhost.count('delayed.a')).ready === 1);
    expect(((await ch.get('delayed.a', { noAck: true })) || undefined)?.content.toString()).toBe('late');
    const copy = await ch.get('delayed.b', { noAck: true });
    expect(copy && copy.content.toString()).toBe('late');
    expect(copy && copy.properties.deliveryMode).toBe(2);
  });

  it('a redeclare as another type is 406: x-delayed-message is its own type', async () => {
    const t = await server();
    const conn = await connect(t.url);
    await (
      await channel(conn)
    ).assertExchange('dx', 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct' } });
    await expectCode((await channel(conn)).assertExchange('dx', 'direct', {}), 406);
  });

  it('without a valid x-delayed-type: 406 on the channel, as the plugin answers', async () => {
    const t = await server();
    const conn = await connect(t.url);
    await expectCode((await channel(conn)).assertExchange('d1', 'x-delayed-message', {}), 406);
    await expectCode(
      (await channel(conn)).assertExchange('d2', 'x-delayed-message', {
        arguments: { 'x-delayed-type': 'nope' },
      }),
      406,
    );
    // The connection is still open.
    await (
      await channel(conn)
    ).assertExchange('d3', 'x-delayed-message', { arguments: { 'x-delayed-type': 'fanout' } });
  });
});

describe('dead-letter with a reason (the amq.conveyor.dead-letter extension)', () => {
  const DEAD_LETTER = 'amq.conveyor.dead-letter';

  it('announces the capability', async () => {
    const t = await server();
    const conn = await connect(t.url);
    const caps = (conn.connection.serverProperties as unknown as { capabilities: Record<string, boolean> })
      .capabilities;
    expect(caps['dead_letter_with_reason']).toBe(true);
  });

  it("moves the held delivery to the queue's dead-letter target with the reason in x-death, confirmed, counted on the source queue", async () => {
    const t = await server();
    const conn = await connect(t.url);
    const ch = await confirmChannel(conn);
    await ch.assertQueue('work.dlq', { durable: true });
    await ch.assertQueue('work', { durable: true, deadLetterExchange: '', deadLetterRoutingKey: 'work.dlq' });
    ch.sendToQueue('work', Buffer.from('poison'), { messageId: 'm-1', persistent: true });
    await ch.waitForConfirms();
    const [held] = await new Promise<ConsumeMessage[]>((resolve) => {
      void ch.consume('work', (m) => m && resolve([m]));
    });
    await new Promise<void>((resolve, reject) => {
      ch.publish(DEAD_LETTER, String(held!.fields.deliveryTag), Buffer.from('Error: bad price'), {}, (err) =>
        err ? reject(err) : resolve(),
      );
    });
    const stats = await t.broker.vhost('/').count('work');
    expect(stats).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });
    const dead = await channel(conn);
    const got = await dead.get('work.dlq', { noAck: true });
    expect(got && got.content.toString()).toBe('poison');
    const death = (got as ConsumeMessage).properties.headers?.['x-death'] as Record<string, unknown>[];
    expect(death[0]).toMatchObject({ reason: 'rejected', queue: 'work', detail: 'Error: bad price' });
    expect((got as ConsumeMessage).properties.messageId).toBe('m-1');
  });

  it('an unknown or settled delivery tag closes the channel with 406, as an ack of it does', async () => {
    const t = await server();
    const conn = await connect(t.url);
    const ch = await channel(conn);
    const closed = channelClosed(ch);
    ch.publish(DEAD_LETTER, '7', Buffer.from('no such delivery'));
    expect(await closed).toBe(406);
    const other = await channel(conn);
    const again = channelClosed(other);
    other.publish(DEAD_LETTER, 'not-a-tag', Buffer.from('x'));
    expect(await again).toBe(406);
  });

  it('in a transaction it happens at commit; a rollback hands the delivery back to the channel', async () => {
    const t = await server();
    const setup = await channel(await connect(t.url));
    await setup.assertQueue('tx.dlq', { durable: false });
    await setup.assertQueue('tx', { durable: false, deadLetterExchange: '', deadLetterRoutingKey: 'tx.dlq' });
    setup.sendToQueue('tx', Buffer.from('a'));
    await until(async () => (await t.broker.vhost('/').count('tx')).ready === 1);
    const client = await rawChannel(t.port);
    const deadLetter = (tag: number): Buffer =>
      encodeContent(
        1,
        createMethod('basic.publish', { exchange: DEAD_LETTER, routingKey: String(tag) }),
        {},
        Buffer.from('in tx'),
        131072,
      );
    client.sendMethod(1, createMethod('basic.get', { queue: 'tx' }));
    const got = await client.next(isMethod('basic.get-ok'));
    const tag = got.type === 'method' && got.method.name === 'basic.get-ok' ? got.method.args.deliveryTag : 0;
    client.sendMethod(1, createMethod('tx.select', {}));
    await client.next(isMethod('tx.select-ok'));
    client.send(deadLetter(tag));
    client.sendMethod(1, createMethod('tx.rollback', {}));
    await client.next(isMethod('tx.rollback-ok'));
    expect(await t.broker.vhost('/').count('tx')).toMatchObject({ inFlight: 1, deadLettered: 0 });
    // Rolled back: the tag is the channel's again, so it can be dead-lettered and committed.
    client.send(deadLetter(tag));
    client.sendMethod(1, createMethod('tx.commit', {}));
    await client.next(isMethod('tx.commit-ok'));
    expect(await t.broker.vhost('/').count('tx')).toMatchObject({ inFlight: 0, deadLettered: 1 });
    expect((await t.broker.vhost('/').count('tx.dlq')).ready).toBe(1);
    client.destroy();
  });
});

describe('durability through AMQP', () => {
  it('a durable queue and its persistent messages survive a broker restart on LMDB; transient ones do not', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { LmdbStore } = await import('@conveyor/core');
    const path = await mkdtemp(join(tmpdir(), 'conveyor-amqp-'));
    try {
      const first = await startConveyor({}, { store: new LmdbStore({ path }) });
      const ch = await confirmChannel(await connect(first.url));
      await ch.assertQueue('durable-q', { durable: true });
      ch.sendToQueue('durable-q', Buffer.from('persistent'), { persistent: true });
      ch.sendToQueue('durable-q', Buffer.from('transient'), { persistent: false });
      await ch.waitForConfirms();
      await closeClients();
      await first.close();
      const second = await server({}, { store: new LmdbStore({ path }) });
      const ch2 = await channel(await connect(second.url));
      expect((await ch2.checkQueue('durable-q')).messageCount).toBe(1);
      const [m] = await take(ch2, 'durable-q', 1);
      expect(m!.content.toString()).toBe('persistent');
      expect(m!.properties.deliveryMode).toBe(2);
    } finally {
      await closeClients();
      for (const t of targets.splice(0)) await t.close();
      await rm(path, { recursive: true, force: true });
    }
  });
});
