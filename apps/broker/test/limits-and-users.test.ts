// --max-connections and --users on a REAL broker process, and the recovery progress report.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RecoveryProgress } from '@conveyor/broker';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import { api, basic } from './support/http-api.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-limits-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conveyor start --max-connections 1', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    cli = await startCli(
      [...EPHEMERAL_PORTS, '--memory', '--log-level', 'silent', '--max-connections', '1'],
      dir,
    );
  });
  afterAll(async () => {
    if (cli.child.exitCode === null) await cli.stop();
  });

  it('refuses a second AMQP connection, and accepts one again after the first closed', async () => {
    const url = `amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`;
    const first = await amqp.connect(url);
    await expect(amqp.connect(url)).rejects.toThrow();
    const { body } = await api(cli.ports.get('http')!).call<{ connections: { amqp: number } }>(
      'GET',
      '/api/overview',
    );
    expect(body.connections.amqp).toBe(1);
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await amqp.connect(url);
    await again.close();
  });

  it('refuses a second MQTT connection (TCP and WebSocket share the limit)', async () => {
    const options = { username: 'guest', password: 'guest', reconnectPeriod: 0, connectTimeout: 3_000 };
    /** 'connected', or 'closed' when the server dropped the connection before CONNACK. */
    const attempt = (url: string): Promise<'connected' | 'closed'> =>
      new Promise((resolve) => {
        const client = mqtt.connect(url, options);
        client.once('connect', () => {
          client.end(true);
          resolve('connected');
        });
        client.once('close', () => {
          client.end(true);
          resolve('closed');
        });
      });
    const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${cli.ports.get('mqtt')}`, options);
    try {
      expect(await attempt(`mqtt://127.0.0.1:${cli.ports.get('mqtt')}`)).toBe('closed');
      expect(await attempt(`ws://127.0.0.1:${cli.ports.get('mqtt-ws')}/ws`)).toBe('closed');
    } finally {
      await first.endAsync();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await attempt(`mqtt://127.0.0.1:${cli.ports.get('mqtt')}`)).toBe('connected');
  });
});

describe('conveyor start --users FILE', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    const users = join(dir, 'users.yaml');
    writeFileSync(
      users,
      [
        '- username: app\n  password: app-pw\n  tags: [administrator]',
        '- username: local\n  password: l\n  loopbackOnly: true',
        "- username: rooted\n  password: r\n  vhosts: ['/']\n  tags: [management]",
        '- username: tenant\n  password: t\n  vhosts: [tenant-a]\n  tags: [management]',
        '',
      ].join('\n'),
    );
    cli = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'silent', '--users', users], dir);
  });
  afterAll(async () => {
    if (cli.child.exitCode === null) await cli.stop();
  });

  it('AMQP accepts the listed users and refuses guest', async () => {
    const port = cli.ports.get('amqp');
    const connection = await amqp.connect(`amqp://app:app-pw@127.0.0.1:${port}`);
    await connection.close();
    const local = await amqp.connect(`amqp://local:l@127.0.0.1:${port}`); // loopback-only, from loopback
    await local.close();
    await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`)).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('a user with vhosts may open those only: 530 NOT_ALLOWED for another (AMQP), not authorized (MQTT)', async () => {
    const port = cli.ports.get('amqp');
    const rooted = await amqp.connect(`amqp://rooted:r@127.0.0.1:${port}`);
    await rooted.close();
    // amqplib reports only that connection.open was answered with connection.close (530, see the amqp tests).
    await expect(amqp.connect(`amqp://tenant:t@127.0.0.1:${port}`)).rejects.toThrow(
      /Expected ConnectionOpenOk; got <ConnectionClose/,
    );
    const url = `mqtt://127.0.0.1:${cli.ports.get('mqtt')}`;
    await expect(
      mqtt.connectAsync(url, { username: 'tenant', password: 't', reconnectPeriod: 0, protocolVersion: 5 }),
    ).rejects.toThrow(/Not authorized/i);
    const ok = await mqtt.connectAsync(url, { username: 'rooted', password: 'r', reconnectPeriod: 0 });
    await ok.endAsync();
  });

  it('MQTT accepts the listed users and refuses guest', async () => {
    const url = `mqtt://127.0.0.1:${cli.ports.get('mqtt')}`;
    const client = await mqtt.connectAsync(url, { username: 'app', password: 'app-pw', reconnectPeriod: 0 });
    await client.endAsync();
    await expect(
      mqtt.connectAsync(url, { username: 'guest', password: 'guest', reconnectPeriod: 0 }),
    ).rejects.toThrow();
  });

  it('the HTTP API shows a user with vhosts only those: 403 for another, lists without the others', async () => {
    const port = cli.ports.get('http')!;
    const admin = api(port, basic('app', 'app-pw'));
    expect((await admin.call('PUT', '/api/queues/%2F/visible-to-root', { durable: false })).status).toBe(201);
    const tenant = api(port, basic('tenant', 't'));
    expect((await tenant.call('GET', '/api/queues/%2F')).status).toBe(403);
    expect((await tenant.call('PUT', '/api/queues/%2F/sneaky', { durable: false })).status).toBe(403);
    expect((await tenant.call('GET', '/api/queues')).body).toEqual([]);
    expect((await tenant.call('GET', '/api/vhosts')).body).toEqual([]);
    const rooted = api(port, basic('rooted', 'r'));
    const listed = await rooted.call<{ name: string }[]>('GET', '/api/queues/%2F');
    expect(listed.status).toBe(200);
    expect(listed.body.map((q) => q.name)).toContain('visible-to-root');
  });

  it('the HTTP API accepts the listed users and refuses guest with 401', async () => {
    const http = api(cli.ports.get('http')!, basic('app', 'app-pw'));
    expect((await http.call('GET', '/api/overview')).status).toBe(200);
    expect((await http.call('GET', '/api/overview', undefined, basic('guest', 'guest'))).status).toBe(401);
  });
});

describe('recovery progress', () => {
  it('reports a slow recovery while it runs and what it recovered', async () => {
    const dataDir = join(dir, 'recover');
    const silent = pino({ level: 'silent' });
    const first = await startBroker({ store: { kind: 'lmdb', dataDir }, logger: silent, listeners: [] });
    const vhost = first.broker.vhost();
    await vhost.declareQueue('kept', { durable: true });
    await vhost.declareQueue('kept-too', { durable: true });
    for (let i = 0; i < 20; i++)
      await vhost.send(i % 2 ? 'kept' : 'kept-too', { body: `m${i}`, properties: { persistent: true } });
    await first.close();

    const reports: RecoveryProgress[] = [];
    const second = await startBroker({
      store: { kind: 'lmdb', dataDir },
      logger: silent,
      listeners: [],
      progressAfterMs: 0, // every recovery counts as slow here
      onRecoveryProgress: (progress) => reports.push(progress),
    });
    await second.close();
    expect(reports.at(-1)).toEqual({
      phase: 'recovered',
      elapsedMs: expect.any(Number),
      queues: 2,
      messages: 20,
    });
  });

  it('says nothing when recovery is quick', async () => {
    const reports: RecoveryProgress[] = [];
    const running = await startBroker({
      store: { kind: 'memory' },
      logger: pino({ level: 'silent' }),
      listeners: [],
      onRecoveryProgress: (progress) => reports.push(progress),
    });
    await running.close();
    expect(reports).toEqual([]);
  });
});
