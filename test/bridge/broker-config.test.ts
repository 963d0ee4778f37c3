// The `bridges:` section of `conveyor start`'s config: read with the rest of the file, started
// with the broker on its engine, stopped before it; a bad entry refuses the start with one line.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTENERS, loadStartConfig, startBroker, StartError } from '@conveyor/broker';
import { Broker, LmdbStore } from '@conveyor/core';
import { connect } from 'amqplib';
import { pino } from 'pino';

const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const silent = pino({ level: 'silent' });

async function rabbitReachable(): Promise<boolean> {
  try {
    const model = await connect(RABBITMQ_URL);
    await model.close();
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`RabbitMQ unreachable at ${RABBITMQ_URL} and CI=true`);
    console.warn(`[bridge broker-config] skipping the RabbitMQ case: unreachable at ${RABBITMQ_URL}`);
    return false;
  }
}

describe('bridges in the broker config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the config file carries a bridges: list through to the start config', async () => {
    const file = join(dir, 'conveyor.yaml');
    await writeFile(
      file,
      [
        'memory: true',
        'bridges:',
        '  - name: orders-in',
        '    from: { url: "amqp://guest:guest@127.0.0.1:5672", queue: orders }',
        '    to: { url: "conveyor:", queue: orders }',
        '',
      ].join('\n'),
    );
    const config = loadStartConfig({ config: file }, {});
    expect(config.bridges).toEqual([
      {
        name: 'orders-in',
        from: { url: 'amqp://guest:guest@127.0.0.1:5672', queue: 'orders' },
        to: { url: 'conveyor:', queue: 'orders' },
      },
    ]);
    await writeFile(file, 'bridges: { name: x }\n');
    expect(() => loadStartConfig({ config: file }, {})).toThrow("config: 'bridges' must be a list");
  });

  it('a bad bridge refuses the start with one line', async () => {
    const attempt = startBroker({
      store: { kind: 'memory' },
      logger: silent,
      listeners: [],
      bridges: [{ name: 'x', from: { url: 'kafka://h', queue: 'q' }, to: { url: 'conveyor:', queue: 'q' } }],
    });
    await expect(attempt).rejects.toThrow(StartError);
    await expect(attempt).rejects.toThrow(
      "config: bridge 'x' from.url: unknown scheme 'kafka:' (use amqp://, amqps://, mqtt://, mqtts://, ws://, wss:// or conveyor:)",
    );
    const missing = startBroker({
      store: { kind: 'memory' },
      logger: silent,
      listeners: [],
      bridges: [{ name: 'y', from: { url: 'conveyor:', queue: 'a' }, to: { url: 'conveyor:', queue: 'b' } }],
    });
    await expect(missing).rejects.toThrow("conveyor sink conveyor vhost '/' queue 'b': no queue 'b'");
  });

  it('a RabbitMQ → Conveyor bridge runs inside the broker and shows its status', async () => {
    if (!(await rabbitReachable())) return;
    const dataDir = join(dir, 'data');
    const seed = await Broker.open({ store: new LmdbStore({ path: dataDir }) });
    await seed.vhost().declareQueue('orders', { dedupeWindowMs: 60_000 });
    await seed.close();
    const source = `bridge-cfg-${randomBytes(4).toString('hex')}`;
    const model = await connect(RABBITMQ_URL);
    const channel = await model.createConfirmChannel();
    await channel.assertQueue(source, { durable: true });
    try {
      const running = await startBroker({
        store: { kind: 'lmdb', dataDir },
        logger: silent,
        listeners: LISTENERS.filter((l) => l.name === 'http'),
        ports: { http: 0 },
        bind: '127.0.0.1',
        bridges: [
          {
            name: 'orders-in',
            from: { url: RABBITMQ_URL, queue: source },
            to: { url: 'conveyor:', queue: 'orders' },
          },
        ],
      });
      for (let i = 0; i < 10; i++) channel.sendToQueue(source, Buffer.from(`o${i}`), { messageId: `o-${i}` });
      await channel.waitForConfirms();
      const deadline = Date.now() + 10_000;
      while ((await running.broker.vhost().count('orders')).ready < 10 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect((await running.broker.vhost().count('orders')).ready).toBe(10);
      const [status] = running.bridges!.status();
      expect(status).toMatchObject({ name: 'orders-in', connected: true, moved: 10, failed: 0 });
      // The same status in the management API and in the metrics.
      const http = running.listeners.find((l) => l.name === 'http')!;
      const base = `http://127.0.0.1:${http.port}`;
      const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
      const api = (await (await fetch(`${base}/api/bridges`, { headers: auth })).json()) as unknown[];
      expect(api).toEqual([expect.objectContaining({ name: 'orders-in', connected: true, moved: 10 })]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/conveyor_bridge_moved\{bridge="orders-in"\} 10/);
      expect(metrics).toMatch(/conveyor_bridge_connected\{bridge="orders-in"\} 1/);
      await running.close();
      expect(running.bridges!.status()[0]!.state).toBe('stopped');
    } finally {
      await channel.deleteQueue(source).catch(() => undefined);
      await model.close();
    }
  });
});
