// The management HTTP API of a REAL `conveyor start` process: every endpoint, auth and error mapping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import { api, basic, type Api } from './support/http-api.js';

interface Delivery {
  id: string;
  holder: string;
  leaseUntil: number;
  deliveryCount: number;
  state: string;
  payload: string;
  payloadEncoding: string;
  routingKey: string;
  properties: Record<string, unknown>;
  enqueuedAt: number;
}

let dir: string;
let cli: RunningCli;
let http: Api;
const Q = '/api/queues/%2F';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-api-'));
  cli = await startCli(
    [...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn', '--max-message-bytes', '64KiB'],
    dir,
  );
  http = api(cli.ports.get('http')!);
});
afterAll(async () => {
  if (cli.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function send(queue: string, payload: string, extra: Record<string, unknown> = {}): Promise<void> {
  const answer = await http.call('POST', `${Q}/${queue}/send`, { payload, ...extra });
  expect(answer.status).toBe(200);
}

describe('auth', () => {
  it('answers 401 with a Basic challenge without credentials', async () => {
    const answer = await http.call('GET', '/api/overview', undefined, null);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(answer.body).toEqual({ error: 'UNAUTHORIZED', reason: 'credentials required (HTTP Basic)' });
  });

  it('answers 401 for a wrong password or an unknown user', async () => {
    expect((await http.call('GET', '/api/queues', undefined, basic('guest', 'nope'))).status).toBe(401);
    expect((await http.call('GET', '/api/queues', undefined, basic('who', 'guest'))).status).toBe(401);
  });

  it('serves /metrics without auth', async () => {
    const answer = await http.call('GET', '/metrics', undefined, null);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
  });
});

describe('overview, vhosts, exchanges, bindings, connections', () => {
  it('GET /api/overview', async () => {
    const { status, body } = await http.call<Record<string, unknown>>('GET', '/api/overview');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      uptimeMs: expect.any(Number),
      store: 'memory',
      blocked: false,
      memoryBytes: expect.any(Number),
      queueTotals: { ready: expect.any(Number), inFlight: expect.any(Number), delayed: expect.any(Number) },
      messageStats: {
        published: expect.any(Number),
        delivered: expect.any(Number),
        acked: expect.any(Number),
        deadLettered: expect.any(Number),
      },
      connections: { amqp: expect.any(Number), mqtt: expect.any(Number) },
    });
  });

  it('GET /api/vhosts lists the default vhost', async () => {
    const { body } = await http.call<{ name: string }[]>('GET', '/api/vhosts');
    expect(body.map((v) => v.name)).toContain('/');
  });

  it('GET /api/exchanges, /api/bindings and /api/connections reflect an amqplib and an mqtt.js client', async () => {
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${cli.ports.get('mqtt')}`, {
      username: 'guest',
      password: 'guest',
      clientId: 'api-test-client',
    });
    try {
      const channel = await connection.createChannel();
      await channel.assertExchange('api-x', 'topic', { durable: false });
      await channel.assertQueue('api-bound', { durable: false });
      await channel.bindQueue('api-bound', 'api-x', 'a.*');
      await client.subscribeAsync('api/topic', { qos: 1 });

      const exchanges = await http.call<{ name: string; kind: string; vhost: string }[]>(
        'GET',
        '/api/exchanges',
      );
      expect(exchanges.body).toContainEqual(
        expect.objectContaining({ vhost: '/', name: 'api-x', kind: 'topic' }),
      );
      const perVhost = await http.call<{ name: string }[]>('GET', '/api/exchanges/%2F');
      expect(perVhost.body.map((e) => e.name)).toContain('amq.topic');

      const bindings = await http.call<Record<string, unknown>[]>('GET', '/api/bindings');
      expect(bindings.body).toContainEqual(
        expect.objectContaining({
          source: 'api-x',
          destination: 'api-bound',
          destinationKind: 'queue',
          routingKey: 'a.*',
        }),
      );

      const published = await http.call('POST', '/api/exchanges/%2F/api-x/publish', {
        routingKey: 'a.b',
        payload: 'via exchange',
      });
      expect(published.body).toEqual({ routed: true, queues: ['api-bound'], rejected: [], duplicates: [] });
      const unrouted = await http.call('POST', '/api/exchanges/%2F/api-x/publish', {
        routingKey: 'zzz',
        payload: 'x',
      });
      expect(unrouted.body).toMatchObject({ routed: false, queues: [] });
      const viaDefault = await http.call('POST', '/api/exchanges/%2F/amq.default/publish', {
        routingKey: 'api-bound',
        payload: 'default exchange',
      });
      expect(viaDefault.body).toMatchObject({ routed: true, queues: ['api-bound'] });

      const connections = await http.call<Record<string, unknown>[]>('GET', '/api/connections');
      expect(connections.body).toContainEqual(
        expect.objectContaining({
          protocol: 'amqp',
          user: 'guest',
          vhost: '/',
          channels: 1,
          state: 'open',
          remoteAddress: '127.0.0.1',
        }),
      );
      expect(connections.body).toContainEqual(
        expect.objectContaining({
          protocol: 'mqtt',
          id: 'api-test-client',
          clientId: 'api-test-client',
          user: 'guest',
          subscriptions: ['api/topic'],
          connectedAt: expect.any(Number),
        }),
      );
      const overview = await http.call<{ connections: { amqp: number; mqtt: number } }>(
        'GET',
        '/api/overview',
      );
      expect(overview.body.connections).toEqual({ amqp: 1, mqtt: 1 });
    } finally {
      await connection.close();
      await client.endAsync();
    }
  });
});

describe('queues', () => {
  it('PUT declares (201, then 200 when equivalent), GET shows counts, options and rates', async () => {
    const created = await http.call('PUT', `${Q}/orders`, { durable: false, maxDeliveries: 3 });
    expect(created.status).toBe(201);
    expect((await http.call('PUT', `${Q}/orders`, { durable: false, maxDeliveries: 3 })).status).toBe(200);
    await send('orders', 'one');
    const { status, body } = await http.call<Record<string, unknown>>('GET', `${Q}/orders`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: 'orders',
      vhost: '/',
      options: { durable: false, maxDeliveries: 3 },
      ready: 1,
      inFlight: 0,
      delayed: 0,
      bytes: 3,
      consumers: 0,
      waiting: 0,
      published: 1,
      delivered: 0,
      acked: 0,
      deadLettered: 0,
      rates: { published: expect.any(Number), delivered: 0, acked: 0 },
    });
    const all = await http.call<{ name: string }[]>('GET', '/api/queues');
    expect(all.body.map((q) => q.name)).toContain('orders');
    const inVhost = await http.call<{ name: string }[]>('GET', Q);
    expect(inVhost.body.map((q) => q.name)).toContain('orders');
  });

  it('PUT with different options is 409 PRECONDITION_FAILED; an unknown option is 400', async () => {
    const differs = await http.call<{ error: string }>('PUT', `${Q}/orders`, {
      durable: false,
      maxDeliveries: 5,
    });
    expect(differs.status).toBe(409);
    expect(differs.body.error).toBe('PRECONDITION_FAILED');
    const unknown = await http.call<{ error: string; reason: string }>('PUT', `${Q}/typo`, {
      maxDeliverys: 5,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toMatch(/unknown queue option 'maxDeliverys'/);
  });

  it('DELETE ?ifEmpty=true is 409 while the queue has messages; purge empties it; DELETE removes it', async () => {
    await http.call('PUT', `${Q}/to-delete`, { durable: false });
    await send('to-delete', 'a');
    await send('to-delete', 'b');
    const refused = await http.call<{ error: string }>('DELETE', `${Q}/to-delete?ifEmpty=true`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('QUEUE_NOT_EMPTY');
    expect((await http.call('DELETE', `${Q}/to-delete/contents`)).body).toEqual({ purged: 2 });
    expect((await http.call('DELETE', `${Q}/to-delete?ifEmpty=true&ifUnused=true`)).body).toEqual({
      deleted: 0,
    });
    expect((await http.call('GET', `${Q}/to-delete`)).status).toBe(404);
  });

  it('DELETE ?ifUnused=true is 409 QUEUE_IN_USE while a consumer is attached', async () => {
    await http.call('PUT', `${Q}/consumed`, { durable: false });
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`);
    try {
      const channel = await connection.createChannel();
      await channel.consume('consumed', () => undefined);
      const refused = await http.call<{ error: string }>('DELETE', `${Q}/consumed?ifUnused=true`);
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('QUEUE_IN_USE');
      expect((await http.call<{ consumers: number }>('GET', `${Q}/consumed`)).body.consumers).toBe(1);
    } finally {
      await connection.close();
    }
  });

  it('unknown queue, vhost or endpoint is 404; a wrong method is 405; bad JSON is 400', async () => {
    const noQueue = await http.call('GET', `${Q}/nope`);
    expect(noQueue).toMatchObject({
      status: 404,
      body: { error: 'QUEUE_NOT_FOUND', reason: "no queue 'nope' in vhost '/'" },
    });
    expect((await http.call('GET', '/api/queues/elsewhere/q')).body).toMatchObject({
      error: 'VHOST_NOT_FOUND',
    });
    expect((await http.call('GET', '/api/nothing')).status).toBe(404);
    expect((await http.call('PATCH', `${Q}/orders`)).status).toBe(405);
    const bad = await http.call('POST', `${Q}/orders/peek`, '{not json');
    expect(bad).toMatchObject({ status: 400, body: { error: 'BAD_REQUEST' } });
    expect((await http.call('POST', `${Q}/nope/send`, { payload: 'x' })).status).toBe(404);
  });

  it('a message over --max-message-bytes is 413 MESSAGE_TOO_LARGE', async () => {
    const answer = await http.call('POST', `${Q}/orders/send`, { payload: 'x'.repeat(70_000) });
    expect(answer).toMatchObject({ status: 413, body: { error: 'MESSAGE_TOO_LARGE' } });
  });
});

describe('messages: peek, take, receive, ack, nack, renew, dead-letter, redrive', () => {
  beforeAll(async () => {
    await http.call('PUT', `${Q}/work-dlq`, { durable: false });
    await http.call('PUT', `${Q}/work`, {
      durable: false,
      deadLetter: { exchange: '', routingKey: 'work-dlq' },
    });
  });

  it('send with properties and a binary payload; peek shows them without taking', async () => {
    await send('work', 'text body', {
      properties: { contentType: 'text/plain', headers: { tenant: 'a' }, messageId: 'm-1' },
    });
    await send('work', Buffer.from([0xff, 0x00, 0x01]).toString('base64'), { payloadEncoding: 'base64' });
    const peeked = await http.call<Delivery[]>('POST', `${Q}/work/peek`, { count: 10 });
    expect(peeked.body).toHaveLength(2);
    expect(peeked.body[0]).toMatchObject({
      state: 'ready',
      deliveryCount: 0,
      exchange: '',
      routingKey: 'work',
      payload: 'text body',
      payloadEncoding: 'string',
      properties: { contentType: 'text/plain', headers: { tenant: 'a' }, messageId: 'm-1' },
      enqueuedAt: expect.any(Number),
    });
    expect(peeked.body[1]).toMatchObject({ payload: '/wAB', payloadEncoding: 'base64' });
    expect((await http.call<{ ready: number }>('GET', `${Q}/work`)).body.ready).toBe(2);
    const badProperty = await http.call('POST', `${Q}/work/send`, {
      payload: 'x',
      properties: { colour: 'red' },
    });
    expect(badProperty).toMatchObject({ status: 400, body: { reason: "unknown message property 'colour'" } });
  });

  it('take leases one message by id; ack removes it; a second ack is 409 LEASE_NOT_HELD', async () => {
    const [first] = (await http.call<Delivery[]>('POST', `${Q}/work/peek`, {})).body;
    const taken = await http.call<Delivery>('POST', `${Q}/work/take`, { id: first!.id, leaseMs: 10_000 });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({
      id: first!.id,
      deliveryCount: 1,
      payload: 'text body',
      holder: expect.any(String),
    });
    expect(taken.body.leaseUntil).toBeGreaterThan(Date.now());
    const inFlight = await http.call<Delivery[]>('POST', `${Q}/work/peek`, {
      count: 5,
      includeInFlight: true,
    });
    expect(inFlight.body.find((m) => m.id === first!.id)?.state).toBe('in-flight');

    const gone = await http.call('POST', `${Q}/work/take`, { id: first!.id });
    expect(gone).toMatchObject({ status: 404, body: { error: 'MESSAGE_GONE' } });

    const ref = { id: taken.body.id, holder: taken.body.holder };
    expect((await http.call('POST', `${Q}/work/ack`, { deliveries: [ref] })).body).toEqual({ settled: 1 });
    const again = await http.call('POST', `${Q}/work/ack`, { deliveries: [ref] });
    expect(again).toMatchObject({ status: 409, body: { error: 'LEASE_NOT_HELD' } });
    expect((await http.call('POST', `${Q}/work/ack`, { deliveries: [] })).status).toBe(400);
  });

  it('receive waits for a message sent meanwhile; renew extends the lease; nack requeues', async () => {
    await http.call('DELETE', `${Q}/work/contents`);
    const waiting = http.call<Delivery[]>('POST', `${Q}/work/receive`, {
      max: 5,
      waitMs: 5_000,
      leaseMs: 5_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send('work', 'late');
    const received = await waiting;
    expect(received.body.map((d) => d.payload)).toEqual(['late']);
    const ref = { id: received.body[0]!.id, holder: received.body[0]!.holder };

    const renewed = await http.call<{ leaseUntil: number }>('POST', `${Q}/work/renew`, {
      deliveries: [ref],
      leaseMs: 60_000,
    });
    expect(renewed.body.leaseUntil).toBeGreaterThan(Date.now() + 50_000);

    await http.call('POST', `${Q}/work/nack`, { deliveries: [ref], requeue: true });
    const again = await http.call<Delivery[]>('POST', `${Q}/work/receive`, {});
    expect(again.body[0]).toMatchObject({ payload: 'late', deliveryCount: 2, redelivered: true });
    await http.call('POST', `${Q}/work/nack`, {
      deliveries: [{ id: again.body[0]!.id, holder: again.body[0]!.holder }],
      requeue: true,
      delayMs: 60_000,
    });
    const counts = await http.call<{ ready: number; delayed: number }>('GET', `${Q}/work`);
    expect(counts.body).toMatchObject({ ready: 0, delayed: 1 });
    const delayed = await http.call<Delivery[]>('POST', `${Q}/work/peek`, { includeDelayed: true });
    expect(delayed.body[0]?.state).toBe('delayed');
    expect((await http.call<Delivery[]>('POST', `${Q}/work/receive`, { waitMs: 0 })).body).toEqual([]);
    expect((await http.call('POST', `${Q}/work/receive`, { waitMs: 120_000 })).status).toBe(400);
  });

  it('a delivery past its lease can no longer be acked (409), and the message is ready again', async () => {
    await http.call('DELETE', `${Q}/work/contents`);
    await send('work', 'short lease');
    const [d] = (await http.call<Delivery[]>('POST', `${Q}/work/receive`, { leaseMs: 200 })).body;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const late = await http.call('POST', `${Q}/work/ack`, { deliveries: [{ id: d!.id, holder: d!.holder }] });
    expect(late).toMatchObject({ status: 409, body: { error: 'LEASE_NOT_HELD' } });
    const [again] = (await http.call<Delivery[]>('POST', `${Q}/work/receive`, {})).body;
    expect(again).toMatchObject({ id: d!.id, deliveryCount: 2 });
    await http.call('POST', `${Q}/work/ack`, { deliveries: [{ id: again!.id, holder: again!.holder }] });
  });

  it('dead-letter sends to the DLQ with its reason; redrive moves it back', async () => {
    await http.call('DELETE', `${Q}/work/contents`);
    await send('work', 'poison');
    const [d] = (await http.call<Delivery[]>('POST', `${Q}/work/receive`, {})).body;
    const dead = await http.call('POST', `${Q}/work/dead-letter`, {
      deliveries: [{ id: d!.id, holder: d!.holder }],
      reason: 'bad input',
    });
    expect(dead.status).toBe(200);
    const [inDlq] = (await http.call<Delivery[]>('POST', `${Q}/work-dlq/peek`, {})).body;
    expect(inDlq?.payload).toBe('poison');
    expect(JSON.stringify(inDlq?.properties)).toContain('rejected');
    expect((await http.call<{ deadLettered: number }>('GET', `${Q}/work`)).body.deadLettered).toBe(1);

    const moved = await http.call('POST', `${Q}/work-dlq/redrive`, {});
    expect(moved.body).toEqual({ moved: 1 });
    expect((await http.call<{ ready: number }>('GET', `${Q}/work`)).body.ready).toBe(1);
    await send('work-dlq', 'elsewhere');
    await http.call('PUT', `${Q}/other`, { durable: false });
    expect((await http.call('POST', `${Q}/work-dlq/redrive`, { to: 'other', max: 1 })).body).toEqual({
      moved: 1,
    });
    expect((await http.call<{ ready: number }>('GET', `${Q}/other`)).body.ready).toBe(1);
  });
});

describe('dashboard files', () => {
  it('serves index.html at / and the assets with their content types, without auth', async () => {
    const index = await http.call<string>('GET', '/', undefined, null);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.body).toMatch(/<html/i);
    const css = await http.call('GET', '/style.css', undefined, null);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const js = await http.call('GET', '/app.js', undefined, null);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await http.call('GET', '/../package.json', undefined, null)).status).toBe(404);
    expect((await http.call('GET', '/missing.js', undefined, null)).status).toBe(404);
  });
});
