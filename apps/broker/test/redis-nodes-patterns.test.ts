// Cross-node messaging patterns over three `conveyor start` nodes sharing one Redis: every test puts
// its clients on different nodes and expects what RabbitMQ (a cluster) or an MQTT broker would do.
// Tests that kill a node start a node of their own for it, so the three shared nodes stay up.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import mqtt, {
  type IClientOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type MqttClient,
} from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import {
  deletePrefix,
  REDIS_URL,
  redisUnavailable,
} from '../../../packages/store-redis/test/redis-fixture.js';

/** The reason code of a server's DISCONNECT when another connection took the session over. */
const SESSION_TAKEN_OVER = 0x8e;
const RESOURCE_LOCKED = 405;
const NOT_FOUND = 404;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(20);
  }
}

function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const skip = await redisUnavailable();

describe.skipIf(skip !== undefined)(`patterns across three nodes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const prefix = `conveyor-e2e-patterns:${randomUUID().slice(0, 8)}:`;
  // A short liveness TTL so a killed node's connections count as gone within the test.
  const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}&holderTtlMs=1000`;
  let dir: string;
  /** A, B, C: up for the whole file. Nodes a test kills are pushed after them. */
  const nodes: RunningCli[] = [];
  let closers: (() => Promise<unknown>)[] = [];
  let tag: string;

  const startNode = (): Promise<RunningCli> =>
    startCli([...EPHEMERAL_PORTS, '--store', store, '--log-level', 'warn'], dir).then((node) => {
      nodes.push(node);
      return node;
    });

  async function amqpOn(node: RunningCli, onError?: (e: Error) => void): Promise<ChannelModel> {
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${node.ports.get('amqp')}`);
    connection.on('error', onError ?? (() => undefined));
    closers.push(() => connection.close().catch(() => undefined));
    return connection;
  }

  /** Connects and resolves with the client and its CONNACK; never reconnects by itself. */
  async function mqttOn(
    node: RunningCli,
    options: IClientOptions,
  ): Promise<{ client: MqttClient; connack: IConnackPacket }> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${node.ports.get('mqtt')}`, {
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    client.on('error', () => undefined);
    closers.push(() => client.endAsync(true).catch(() => undefined));
    const connack = await within(
      new Promise<IConnackPacket>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('close', () => reject(new Error(`MQTT connection of ${options.clientId} closed`)));
      }),
      5_000,
      `CONNACK for ${options.clientId}`,
    );
    return { client, connack };
  }

  /** The reply code of a passive queue.declare on a fresh channel (200 when it exists and is free). */
  async function passiveDeclare(connection: ChannelModel, queue: string): Promise<number> {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(queue);
      await channel.close();
      return 200;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code !== 'number') throw e;
      return code;
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-patterns-'));
    await Promise.all([0, 1, 2].map(() => startNode()));
  });

  afterEach(async () => {
    const pending = closers;
    closers = [];
    await Promise.all(pending.map((close) => close()));
  });

  afterAll(async () => {
    for (const node of nodes) if (node.child.exitCode === null) await node.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  // Names unique per test, so no test sees another's queues, sessions or topics.
  beforeEach(() => void (tag = randomUUID().slice(0, 8)));

  it('broadcast: one publish on node A reaches an exclusive server-named queue on each node exactly once', async () => {
    const [a, b, c] = nodes as [RunningCli, RunningCli, RunningCli];
    const exchange = `bcast-${tag}`;
    const subscribers = await Promise.all(
      [a, b, c].map(async (node) => {
        const channel = await (await amqpOn(node)).createChannel();
        await channel.assertExchange(exchange, 'fanout', { durable: false });
        const { queue } = await channel.assertQueue('', { exclusive: true });
        await channel.bindQueue(queue, exchange, '');
        const got: string[] = [];
        await channel.consume(queue, (msg) => void (msg && got.push(msg.content.toString())), {
          noAck: true,
        });
        return { queue, got };
      }),
    );
    expect(new Set(subscribers.map((s) => s.queue)).size).toBe(3);

    const publisher = await (await amqpOn(a)).createConfirmChannel();
    const returned: string[] = [];
    publisher.on('return', (msg) => returned.push(msg.content.toString()));
    publisher.publish(exchange, '', Buffer.from('to everyone'), { mandatory: true });
    await publisher.waitForConfirms();

    await waitUntil(
      () => subscribers.every((s) => s.got.length > 0),
      5_000,
      () => `a copy on every node, got ${JSON.stringify(subscribers.map((s) => s.got))}`,
    );
    await sleep(300); // time for a stray second copy to show up
    expect(subscribers.map((s) => s.got)).toEqual([['to everyone'], ['to everyone'], ['to everyone']]);
    expect(returned).toEqual([]);
  });

  it('MQTT: subscribers on nodes B and C receive an MQTT publish and an amq.topic publish made on node A', async () => {
    const [a, b, c] = nodes as [RunningCli, RunningCli, RunningCli];
    const subscribers = await Promise.all(
      [
        { node: b, protocolVersion: 5 as const },
        { node: c, protocolVersion: 4 as const },
      ].map(async ({ node, protocolVersion }, i) => {
        const { client } = await mqttOn(node, { clientId: `sensor-sub-${i}-${tag}`, protocolVersion });
        const got: [string, string][] = [];
        client.on('message', (topic, payload) => got.push([topic, payload.toString()]));
        const granted = await client.subscribeAsync('sensors/+/temp', { qos: 1 });
        expect(granted.map((g) => g.qos)).toEqual([1]);
        return got;
      }),
    );

    const { client: publisher } = await mqttOn(a, { clientId: `sensor-pub-${tag}` });
    await publisher.publishAsync('sensors/a/temp', 'from mqtt', { qos: 1 });
    const channel = await (await amqpOn(a)).createConfirmChannel();
    channel.publish('amq.topic', 'sensors.x.temp', Buffer.from('from amqp'), { persistent: true });
    await channel.waitForConfirms();

    await waitUntil(
      () => subscribers.every((got) => got.length >= 2),
      5_000,
      () => `both messages on B and C, got ${JSON.stringify(subscribers)}`,
    );
    await sleep(300);
    for (const got of subscribers)
      expect([...got].sort()).toEqual([
        ['sensors/a/temp', 'from mqtt'],
        ['sensors/x/temp', 'from amqp'],
      ]);
  });

  it('request/response: a request sent on node A with direct reply-to is answered by a handler on node C', async () => {
    const [a, , c] = nodes as [RunningCli, RunningCli, RunningCli];
    const queue = `rpc-${tag}`;
    const handler = await (await amqpOn(c)).createChannel();
    await handler.assertQueue(queue);
    const replyTos = new Set<string>();
    await handler.consume(queue, (msg) => {
      if (!msg) return;
      replyTos.add(msg.properties.replyTo as string);
      handler.sendToQueue(
        msg.properties.replyTo as string,
        Buffer.from(`answer to ${msg.content.toString()}`),
        {
          correlationId: msg.properties.correlationId as string,
        },
      );
      handler.ack(msg);
    });

    const requester = await (await amqpOn(a)).createChannel();
    const replies = new Map<string, string>();
    await requester.consume(
      'amq.rabbitmq.reply-to',
      (msg) => void (msg && replies.set(msg.properties.correlationId as string, msg.content.toString())),
      { noAck: true },
    );
    const requests = 50;
    for (let i = 0; i < requests; i++)
      requester.sendToQueue(queue, Buffer.from(`q${i}`), {
        replyTo: 'amq.rabbitmq.reply-to',
        correlationId: `c${i}`,
      });

    await waitUntil(
      () => replies.size >= requests,
      10_000,
      () => `${requests} replies, got ${replies.size}`,
    );
    expect(replies).toEqual(new Map([...Array(requests).keys()].map((i) => [`c${i}`, `answer to q${i}`])));
    // RabbitMQ hands the handler a routable pseudo-queue name, never the bare amq.rabbitmq.reply-to.
    expect([...replyTos].every((r) => r.startsWith('amq.rabbitmq.reply-to.'))).toBe(true);
  });

  it('MQTT 5 takeover across nodes: the same client id on node B disconnects node A’s connection with 0x8E', async () => {
    const [a, b] = nodes as [RunningCli, RunningCli];
    const clientId = `dup-${tag}`;
    const { client: first } = await mqttOn(a, { clientId, protocolVersion: 5 });
    const disconnected = new Promise<IDisconnectPacket>((resolve) => first.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => first.once('close', resolve));

    const { client: second } = await mqttOn(b, { clientId, protocolVersion: 5 });
    expect((await within(disconnected, 5_000, 'DISCONNECT on the first connection')).reasonCode).toBe(
      SESSION_TAKEN_OVER,
    );
    await within(closed, 5_000, 'the first connection to close');

    const got: string[] = [];
    second.on('message', (_topic, payload) => got.push(payload.toString()));
    await second.subscribeAsync(`dup/${tag}`, { qos: 1 });
    await second.publishAsync(`dup/${tag}`, 'still here', { qos: 1 });
    await waitUntil(
      () => got.length > 0,
      5_000,
      () => 'the second connection to receive its own message',
    );
    expect(got).toEqual(['still here']);
    expect(second.connected).toBe(true);
  });

  it('MQTT 3.1.1 takeover across nodes: the same client id on node B closes node A’s connection', async () => {
    const [a, b] = nodes as [RunningCli, RunningCli];
    const clientId = `dup-${tag}`;
    const { client: first } = await mqttOn(a, { clientId, protocolVersion: 4 });
    const closed = new Promise<void>((resolve) => first.once('close', resolve));

    const { client: second } = await mqttOn(b, { clientId, protocolVersion: 4 });
    await within(closed, 5_000, 'the first connection to close');

    const got: string[] = [];
    second.on('message', (_topic, payload) => got.push(payload.toString()));
    await second.subscribeAsync(`dup/${tag}`, { qos: 1 });
    await second.publishAsync(`dup/${tag}`, 'still here', { qos: 1 });
    await waitUntil(
      () => got.length > 0,
      5_000,
      () => 'the second connection to receive its own message',
    );
    expect(got).toEqual(['still here']);
    expect(second.connected).toBe(true);
  });

  it('MQTT persistent session: subscribed on node A, resumed on node B with the messages sent meanwhile', async () => {
    const [a, b, c] = nodes as [RunningCli, RunningCli, RunningCli];
    const clientId = `sess-${tag}`;
    const topic = `persist/${tag}`;
    const options: IClientOptions = {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    };
    const { client: away } = await mqttOn(a, options);
    await away.subscribeAsync(topic, { qos: 1 });
    await away.endAsync();

    const { client: publisher } = await mqttOn(c, { clientId: `sess-pub-${tag}` });
    for (let i = 0; i < 3; i++) await publisher.publishAsync(topic, `sent while away ${i}`, { qos: 1 });

    const got: string[] = [];
    const back = mqtt.connect(`mqtt://127.0.0.1:${b.ports.get('mqtt')}`, { ...options, reconnectPeriod: 0 });
    back.on('error', () => undefined);
    back.on('message', (_topic, payload) => got.push(payload.toString()));
    closers.push(() => back.endAsync(true).catch(() => undefined));
    const connack = await within(
      new Promise<IConnackPacket>((resolve) => back.once('connect', resolve)),
      5_000,
      'CONNACK on node B',
    );
    expect(connack.sessionPresent).toBe(true);
    await waitUntil(
      () => got.length >= 3,
      5_000,
      () => `the 3 queued messages, got ${JSON.stringify(got)}`,
    );
    await sleep(200);
    expect(got).toEqual([0, 1, 2].map((i) => `sent while away ${i}`));
  });

  it("exclusive queue: locked for other nodes while its owner lives, gone once the owner's node dies", async () => {
    const a = nodes[0]!;
    const doomed = await startNode();
    const queue = `excl-${tag}`;
    const owner = await (await amqpOn(doomed)).createChannel();
    owner.on('error', () => undefined);
    await owner.assertQueue(queue, { exclusive: true, durable: false });
    await owner.bindQueue(queue, 'amq.fanout', '');

    const onA = await amqpOn(a);
    expect(await passiveDeclare(onA, queue)).toBe(RESOURCE_LOCKED);

    const killedAt = Date.now();
    await doomed.stop('SIGKILL');
    let code = RESOURCE_LOCKED;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && code !== NOT_FOUND;) {
      await sleep(100);
      code = await passiveDeclare(onA, queue);
    }
    expect(code).toBe(NOT_FOUND);
    console.info(
      `exclusive queue gone on node A ${Date.now() - killedAt} ms after its owner's node was killed`,
    );
  });

  it("MQTT will: published to a subscriber on node A when the will's node dies", async () => {
    const a = nodes[0]!;
    const doomed = await startNode();
    const { client: subscriber } = await mqttOn(a, { clientId: `will-sub-${tag}`, protocolVersion: 5 });
    const got: [string, string][] = [];
    subscriber.on('message', (topic, payload) => got.push([topic, payload.toString()]));
    await subscriber.subscribeAsync('wills/#', { qos: 1 });

    await mqttOn(doomed, {
      clientId: `will-${tag}`,
      will: { topic: `wills/${tag}`, payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    await sleep(200);
    expect(got).toEqual([]); // no will while its connection lives

    const killedAt = Date.now();
    await doomed.stop('SIGKILL');
    await waitUntil(
      () => got.length > 0,
      10_000,
      () => 'the will on node A',
    );
    const after = Date.now() - killedAt;
    await sleep(300);
    expect(got).toEqual([[`wills/${tag}`, 'gone']]);
    console.info(`will received on node A ${after} ms after its node was killed`);
  });
});
