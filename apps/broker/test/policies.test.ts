// Issue 16, item 7, against a REAL broker process on LMDB: policies set with the CLI
// (`conveyor set-policy`, RabbitMQ's keys) change a queue's behaviour live for an amqplib client
// that never redeclares it; `conveyor queues` shows the effective policy; only policymakers and
// administrators may set them; they survive a restart and travel in definitions files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';
import { api, basic, type Api } from './support/http-api.js';

let dir: string;
let cli: RunningCli | undefined;
let http: Api;
let connection: ChannelModel | undefined;

const USERS = [
  { username: 'admin', password: 'admin-pw', tags: ['administrator'] },
  { username: 'pm', password: 'pm-pw', tags: ['policymaker'] },
  { username: 'viewer', password: 'viewer-pw', tags: ['management'] },
];

async function start(): Promise<void> {
  cli = await startCli(
    [
      ...EPHEMERAL_PORTS,
      '--data-dir',
      join(dir, 'data'),
      '--users',
      join(dir, 'users.json'),
      '--log-level',
      'warn',
    ],
    dir,
  );
  http = api(cli.ports.get('http')!, basic('admin', 'admin-pw'));
}

function conveyor(user: string, password: string, ...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--url', http.base, '--user', user, '--password', password], dir);
}

/** Publishes `n` persistent messages with confirms; how many the broker acked. */
async function confirmed(queue: string, n: number): Promise<number> {
  const channel = await connection!.createConfirmChannel();
  let acked = 0;
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((resolve) =>
          channel.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true }, (err) => {
            if (!err) acked++;
            resolve();
          }),
        ),
    ),
  );
  await channel.close();
  return acked;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-policies-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify(USERS));
  await start();
  connection = await amqp.connect(`amqp://admin:admin-pw@127.0.0.1:${cli!.ports.get('amqp')}`);
  const channel = await connection.createChannel();
  await channel.assertQueue('orders.eu', { durable: true });
  await channel.assertQueue('invoices', { durable: true });
  await channel.close();
});
afterAll(async () => {
  await connection?.close().catch(() => undefined);
  if (cli?.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('policies through the CLI and the API', () => {
  it('set-policy limits a live queue without a redeclare; clear-policy lifts it', async () => {
    const set = await conveyor(
      'pm',
      'pm-pw',
      'set-policy',
      'short-orders',
      '^orders\\.',
      '{"max-length":2,"overflow":"reject-publish","ha-mode":"all"}',
      '--apply-to',
      'queues',
      '--priority',
      '3',
    );
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toBe(
      'policy short-orders set (not applied, Conveyor has no such behaviour: ha-mode)\n',
    );
    // RabbitMQ's reject-publish: the publishes past the limit are nacked.
    expect(await confirmed('orders.eu', 3)).toBe(2);
    expect(await confirmed('invoices', 3)).toBe(3); // the pattern does not match it

    const table = await conveyor('admin', 'admin-pw', 'queues');
    const header = table.stdout.split('\n')[0]!;
    expect(header).toMatch(/DEAD-LETTERED\s+POLICY$/);
    expect(table.stdout.split('\n').find((l) => l.startsWith('orders.eu '))).toMatch(/\sshort-orders$/);
    const listed = await conveyor('admin', 'admin-pw', 'policies');
    expect(listed.stdout).toMatch(
      /^short-orders\s+\^orders\\\.\s+queues\s+3\s+\{"max-length":2,"overflow":"reject-publish"\}$/m,
    );

    const cleared = await conveyor('pm', 'pm-pw', 'clear-policy', 'short-orders');
    expect(cleared.stdout).toBe('policy short-orders cleared\n');
    expect(await confirmed('orders.eu', 1)).toBe(1);
  });

  it("GET/PUT/DELETE /api/policies in RabbitMQ's JSON; policymakers and administrators only", async () => {
    const body = {
      pattern: '^invoices$',
      definition: { 'message-ttl': 60000, 'delivery-limit': 2 },
      'apply-to': 'queues',
    };
    const denied = await http.call('PUT', '/api/policies/%2F/ttl', body, basic('viewer', 'viewer-pw'));
    expect(denied.status).toBe(403);
    const created = await http.call('PUT', '/api/policies/%2F/ttl', body, basic('pm', 'pm-pw'));
    expect(created.status).toBe(201);
    const shown = await http.call('GET', '/api/policies/%2F/ttl');
    expect(shown.body).toEqual({ vhost: '/', name: 'ttl', priority: 0, ...body });
    const queue = await http.call<{
      policy: string;
      effectiveOptions: { messageTtlMs: number; maxDeliveries: number };
    }>('GET', '/api/queues/%2F/invoices');
    expect(queue.body.policy).toBe('ttl');
    expect(queue.body.effectiveOptions).toMatchObject({ messageTtlMs: 60000, maxDeliveries: 3 });
    const bad = await http.call<{ reason: string }>('PUT', '/api/policies/%2F/bad', {
      pattern: '(',
      definition: {},
    });
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toMatch(/policy 'bad': pattern is not a valid regular expression/);
    // A definitions export carries it, as RabbitMQ's does.
    const definitions = await http.call<{ policies: unknown[] }>('GET', '/api/definitions');
    expect(definitions.body.policies).toEqual([{ vhost: '/', name: 'ttl', priority: 0, ...body }]);
  });

  it('a policy is kept across a restart', async () => {
    await connection?.close();
    await cli!.stop();
    await start();
    connection = await amqp.connect(`amqp://admin:admin-pw@127.0.0.1:${cli!.ports.get('amqp')}`);
    const listed = await http.call<{ name: string }[]>('GET', '/api/policies/%2F');
    expect(listed.body.map((p) => p.name)).toEqual(['ttl']);
    const queue = await http.call<{ policy: string }>('GET', '/api/queues/%2F/invoices');
    expect(queue.body.policy).toBe('ttl');
    const deleted = await http.call('DELETE', '/api/policies/%2F/ttl');
    expect(deleted.body).toEqual({ deleted: true });
  });
});
