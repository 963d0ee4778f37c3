// End to end: the example runs as a real process from its built dist/, and is driven from outside
// through ConveyorClient (over AMQP) and a plain amqplib client.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import { ConveyorClient, RemoteHandlerError, deadLetterReason } from '@conveyor/nestjs';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Running {
  child: ChildProcess;
  output: () => string;
}

/** Starts the example and resolves once it printed `example ready` (and the AMQP URL it serves). */
function startExample(args: string[]): Promise<Running & { url: string | undefined }> {
  const child = spawn(process.execPath, [main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example did not start:\n${out}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`example exited with ${code}:\n${out}`)));
    const check = (): void => {
      if (!out.includes('example ready')) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      const url = /AMQP on (amqp:\/\/\S+)/.exec(out)?.[1];
      resolve({ child, url, output: () => out });
    };
    child.stdout!.on('data', check);
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => {
  execSync('npx tsc -b apps/example', { cwd: root, stdio: 'inherit' });
}, 120_000);

describe('example app, embedded engine (one process)', () => {
  let example: Running & { url: string | undefined };
  let client: ConveyorClient;

  beforeAll(async () => {
    example = await startExample(['--port', '0']);
    client = new ConveyorClient({ connection: { url: example.url!, kind: 'conveyor' } });
    await client.connect();
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    if (example) expect(await stop(example.child)).toBe(0);
  });

  it('orders → payments → notifications: request, broadcast, one-way', async () => {
    const placed = await client.request<{ orderId: string; paymentId: string }>('orders.place', {
      item: 'tea',
      quantity: 2,
    });
    expect(placed).toMatchObject({ item: 'tea', quantity: 2, paymentId: `pay-${placed.orderId}` });
    const sent = await until(async () => {
      const list = await client.request<{ to: string; text: string }[]>('notifications.sent', {});
      return list.find((e) => e.text.startsWith(`${placed.orderId}:`));
    });
    expect(sent.text).toBe(`${placed.orderId}: 2 × tea paid (${placed.paymentId})`);
    expect(example.output()).toContain(`email to customer@example.com (delivery 1): ${placed.orderId}`);
  });

  it('an invalid order comes back as a typed validation error', async () => {
    const err = await client.request('orders.place', { item: 'tea', quantity: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteHandlerError);
    expect((err as RemoteHandlerError).status).toBe(400);
    expect((err as RemoteHandlerError).message).toContain('quantity must not be less than 1');
  });

  it('a plain amqplib client reaches @OneWay; an invalid message is dead-lettered with the reason', async () => {
    const conn = await amqp.connect(example.url!);
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(
      'notifications.email',
      Buffer.from(JSON.stringify({ to: 'ops@example.com', text: 'plain amqp' })),
    );
    ch.sendToQueue('notifications.email', Buffer.from(JSON.stringify({ to: 'not an address', text: 'x' })));
    await ch.waitForConfirms();
    await until(async () => {
      const list = await client.request<{ text: string }[]>('notifications.sent', {});
      return list.find((e) => e.text === 'plain amqp');
    });
    const dead = await until(
      async () => (await ch.get('notifications.email.dlq', { noAck: true })) || undefined,
    );
    expect(JSON.parse(dead.content.toString())).toEqual({ to: 'not an address', text: 'x' });
    expect(deadLetterReason(dead.properties.headers ?? {})).toContain('to must be an email');
    await conn.close();
  });
});

describe('example app, --amqp to a Conveyor broker', () => {
  let broker: Broker;
  let server: AmqpServer;
  let example: Running | undefined;

  beforeAll(async () => {
    broker = await Broker.open();
    server = new AmqpServer(broker);
    const { port } = await server.listen(0, '127.0.0.1');
    example = await startExample(['--amqp', `amqp://guest:guest@127.0.0.1:${port}`]);
  }, 30_000);

  afterAll(async () => {
    if (example) expect(await stop(example.child)).toBe(0);
    await server.close();
    await broker.close();
  });

  it('places an order through the broker and shuts down cleanly', async () => {
    const client = new ConveyorClient({ connection: { broker } });
    const placed = await client.request<{ orderId: string }>('orders.place', { item: 'cake', quantity: 1 });
    expect(placed.orderId).toMatch(/^order-\d+$/);
    await until(async () => {
      const list = await client.request<{ text: string }[]>('notifications.sent', {});
      return list.find((e) => e.text.startsWith(`${placed.orderId}:`));
    });
    await client.close();
  });
});
