// Issue 16, item 6: RabbitMQ's definitions JSON against a REAL broker process on LMDB:
// `--definitions FILE` at start (idempotent across restarts), GET/POST /api/definitions (whole
// broker and per vhost, administrators only, JSON only), `conveyor definitions export|import`,
// users with password hashes and permissions that log in over AMQP, and imports that survive a
// restart. The round trip with the real RabbitMQ is test/interop/rabbitmq-definitions.test.ts.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { hashPassword } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';
import { api, basic, type Api } from './support/http-api.js';

let dir: string;
let dataDir: string;
let definitionsFile: string;
let cli: RunningCli | undefined;
let http: Api;

const ADMIN = basic('defs-admin', 'admin-pw');
const APP_HASH = hashPassword('app-pw');

const DEFINITIONS = {
  vhosts: [{ name: 'shop' }],
  users: [
    {
      name: 'defs-admin',
      password_hash: hashPassword('admin-pw'),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['administrator'],
      limits: {},
    },
    {
      name: 'defs-app',
      password_hash: APP_HASH,
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: [],
      limits: {},
    },
  ],
  permissions: [
    { user: 'defs-admin', vhost: '/', configure: '.*', write: '.*', read: '.*' },
    { user: 'defs-admin', vhost: 'shop', configure: '.*', write: '.*', read: '.*' },
    { user: 'defs-app', vhost: 'shop', configure: '^orders', write: '.*', read: '.*' },
  ],
  topic_permissions: [
    { user: 'defs-app', vhost: 'shop', exchange: 'events', write: '^order\\.', read: '.*' },
  ],
  exchanges: [
    {
      name: 'events',
      vhost: 'shop',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
    {
      name: 'later',
      vhost: 'shop',
      type: 'x-delayed-message',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: { 'x-delayed-type': 'direct' },
    },
    {
      name: 'audit',
      vhost: 'shop',
      type: 'fanout',
      durable: true,
      auto_delete: false,
      internal: true,
      arguments: {},
    },
  ],
  queues: [
    {
      name: 'orders',
      vhost: 'shop',
      durable: true,
      auto_delete: false,
      arguments: {
        'x-message-ttl': 60000,
        'x-max-priority': 5,
        'x-dead-letter-exchange': 'audit',
        'x-max-length': 1000,
        'x-overflow': 'reject-publish',
        'x-delivery-limit': 3,
      },
    },
    { name: 'orders-audit', vhost: 'shop', durable: true, auto_delete: false, arguments: {} },
  ],
  bindings: [
    {
      source: 'events',
      vhost: 'shop',
      destination: 'orders',
      destination_type: 'queue',
      routing_key: 'order.#',
      arguments: {},
    },
    {
      source: 'events',
      vhost: 'shop',
      destination: 'audit',
      destination_type: 'exchange',
      routing_key: '#',
      arguments: {},
    },
    {
      source: 'audit',
      vhost: 'shop',
      destination: 'orders-audit',
      destination_type: 'queue',
      routing_key: '',
      arguments: {},
    },
  ],
  policies: [],
  parameters: [],
  global_parameters: [],
};

interface Document {
  users?: { name: string; password_hash: string; hashing_algorithm: string; tags: string[] }[];
  vhosts?: { name: string }[];
  permissions?: { user: string; vhost: string; configure: string; write: string; read: string }[];
  topic_permissions?: unknown[];
  queues: { name: string; vhost?: string; durable: boolean; auto_delete: boolean; arguments: object }[];
  exchanges: { name: string; vhost?: string; type: string; internal: boolean; arguments: object }[];
  bindings: { source: string; vhost?: string; destination: string; destination_type: string }[];
}

async function start(...extra: string[]): Promise<void> {
  cli = await startCli([...EPHEMERAL_PORTS, '--data-dir', dataDir, '--log-level', 'warn', ...extra], dir);
  http = api(cli.ports.get('http')!, ADMIN);
}

async function restart(...extra: string[]): Promise<void> {
  await cli?.stop();
  await start(...extra);
}

function amqpUrl(user: string, password: string, vhost: string): string {
  return `amqp://${user}:${password}@127.0.0.1:${cli!.ports.get('amqp')}/${encodeURIComponent(vhost)}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-definitions-'));
  dataDir = join(dir, 'data');
  definitionsFile = join(dir, 'definitions.json');
  writeFileSync(definitionsFile, JSON.stringify(DEFINITIONS));
  // No users file: the file's users come on top of the default guest.
  await start('--definitions', definitionsFile);
});
afterAll(async () => {
  if (cli?.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('--definitions at start', () => {
  it('declares the vhost, exchanges, queues with their arguments and bindings, and the users log in', async () => {
    const connection = await amqp.connect(amqpUrl('defs-app', 'app-pw', 'shop'));
    try {
      const channel = await connection.createConfirmChannel();
      expect((await channel.checkQueue('orders')).queue).toBe('orders');
      // The arguments are the queue's: a redeclare with another TTL is RabbitMQ's 406.
      const other = await connection.createChannel();
      other.on('error', () => undefined);
      const declared = DEFINITIONS.queues[0]!.arguments;
      await expect(
        other.assertQueue('orders', { durable: true, arguments: { ...declared, 'x-message-ttl': 1000 } }),
      ).rejects.toThrow(/PRECONDITION_FAILED - inequivalent arg 'x-message-ttl'/);
      // events → orders (queue binding) and events → audit (internal fanout) → orders-audit.
      channel.publish('events', 'order.created', Buffer.from('o1'), { persistent: true });
      await channel.waitForConfirms();
      await expect.poll(async () => (await channel.checkQueue('orders')).messageCount).toBe(1);
      await expect.poll(async () => (await channel.checkQueue('orders-audit')).messageCount).toBe(1);
      // The topic permission came along: defs-app may not publish outside order.*.
      const refused = await connection.createChannel();
      const closed = new Promise<Error>((resolve) => refused.on('error', resolve));
      refused.publish('events', 'invoice.created', Buffer.from('no'));
      expect(String(await closed)).toMatch(/ACCESS_REFUSED/);
    } finally {
      await connection.close();
    }
    // Its permissions are only those of the file: no vhost '/'.
    await expect(amqp.connect(amqpUrl('defs-app', 'app-pw', '/'))).rejects.toThrow(/got <ConnectionClose/); // amqplib's words for 530 at connection.open
  });

  it("GET /api/definitions gives back what the file declared, in RabbitMQ's format", async () => {
    const { status, body } = await http.call<Document>('GET', '/api/definitions');
    expect(status).toBe(200);
    expect(body.vhosts?.map((v) => v.name).sort()).toEqual(['/', 'shop']);
    const orders = body.queues.find((q) => q.name === 'orders' && q.vhost === 'shop');
    expect(orders).toEqual({ ...DEFINITIONS.queues[0], type: 'classic' });
    expect(body.exchanges.find((e) => e.name === 'later')).toMatchObject({
      type: 'x-delayed-message',
      arguments: { 'x-delayed-type': 'direct' },
    });
    expect(body.exchanges.find((e) => e.name === 'audit')).toMatchObject({ type: 'fanout', internal: true });
    expect(body.bindings).toEqual(expect.arrayContaining(DEFINITIONS.bindings));
    // Server-owned names stay out, as in RabbitMQ's exports.
    expect(body.exchanges.some((e) => e.name === '' || e.name.startsWith('amq.'))).toBe(false);
    expect(body.queues.some((q) => q.name.startsWith('amq.'))).toBe(false);
    const app = body.users?.find((u) => u.name === 'defs-app');
    expect(app).toMatchObject({
      password_hash: APP_HASH,
      hashing_algorithm: 'rabbit_password_hashing_sha256',
    });
    // guest, configured with a plain password, leaves as a hash: never the password itself.
    const guest = body.users?.find((u) => u.name === 'guest');
    expect(guest?.password_hash).toMatch(/^[A-Za-z0-9+/]{48}$/);
    expect(JSON.stringify(body)).not.toMatch(/"password"/);
    expect(body.permissions).toEqual(expect.arrayContaining(DEFINITIONS.permissions));
    expect(body.topic_permissions).toEqual(DEFINITIONS.topic_permissions);
  });

  it('one vhost: GET /api/definitions/{vhost} has its topology without vhost fields and no users', async () => {
    const { status, body } = await http.call<Document>('GET', '/api/definitions/shop');
    expect(status).toBe(200);
    expect(body.users).toBeUndefined();
    expect(body.queues.map((q) => q.name).sort()).toEqual(['orders', 'orders-audit']);
    expect(body.queues.every((q) => q.vhost === undefined)).toBe(true);
    // … and POST /api/definitions/{vhost} puts that topology into another vhost.
    // Permissions for a user the file does not list go to the broker's user of that name.
    const created = await http.call('POST', '/api/definitions', {
      vhosts: [{ name: 'shop-copy' }],
      permissions: [{ user: 'defs-admin', vhost: 'shop-copy', configure: '.*', write: '.*', read: '.*' }],
    });
    expect(created).toMatchObject({ status: 200, body: { vhosts: 1, users: 0 } });
    const copied = await http.call<{ queues: number; bindings: number }>(
      'POST',
      '/api/definitions/shop-copy',
      body,
    );
    expect(copied).toMatchObject({ status: 200, body: { queues: 2, bindings: 3 } });
    const again = await http.call<Document>('GET', '/api/definitions/shop-copy');
    expect(again.body.queues).toEqual(body.queues);
    expect(again.body.bindings).toEqual(body.bindings);
  });

  it('a restart with the same file is idempotent and keeps the messages', async () => {
    await restart('--definitions', definitionsFile);
    const connection = await amqp.connect(amqpUrl('defs-app', 'app-pw', 'shop'));
    try {
      const channel = await connection.createChannel();
      expect((await channel.checkQueue('orders-audit')).messageCount).toBe(1);
      expect((await channel.checkQueue('orders')).messageCount).toBe(1);
    } finally {
      await connection.close();
    }
  });
});

describe('POST /api/definitions', () => {
  it('adds a user that logs in at once and is still there after a restart without the file', async () => {
    const answer = await http.call('POST', '/api/definitions', {
      users: [{ name: 'late', password_hash: hashPassword('late-pw'), tags: ['management'] }],
      permissions: [{ user: 'late', vhost: 'shop', configure: '', write: '.*', read: '.*' }],
    });
    expect(answer).toMatchObject({ status: 200, body: { users: 1, queues: 0 } });
    const first = await amqp.connect(amqpUrl('late', 'late-pw', 'shop'));
    await first.close();
    await restart();
    const second = await amqp.connect(amqpUrl('late', 'late-pw', 'shop'));
    await second.close();
    await expect(amqp.connect(amqpUrl('late', 'wrong', 'shop'))).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('a bad entry is a 400 naming it, and nothing before it was applied', async () => {
    const { status, body } = await http.call<{ error: string; reason: string }>('POST', '/api/definitions', {
      exchanges: [{ name: 'never', vhost: '/', type: 'direct', durable: true }],
      queues: [{ name: 'too-many-levels', vhost: '/', durable: true, arguments: { 'x-max-priority': 1000 } }],
    });
    expect(status).toBe(400);
    expect(body.reason).toMatch(/queue 'too-many-levels' \(queues\[0\]\).*x-max-priority.*at most 255/);
    const after = await http.call<Document>('GET', '/api/definitions');
    expect(after.body.exchanges.some((e) => e.name === 'never')).toBe(false);

    const unknownType = await http.call<{ reason: string }>('POST', '/api/definitions', {
      exchanges: [{ name: 'odd', vhost: '/', type: 'x-consistent-hash', durable: true }],
    });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.reason).toMatch(/unknown exchange type 'x-consistent-hash'/);

    const stream = await http.call<{ reason: string }>('POST', '/api/definitions', {
      queues: [{ name: 's', vhost: '/', durable: true, type: 'stream', arguments: {} }],
    });
    expect(stream.status).toBe(400);
    expect(stream.body.reason).toMatch(/'queues\[0\]\.type' is 'stream': only classic and quorum/);

    const noVhost = await http.call<{ reason: string }>('POST', '/api/definitions', {
      queues: [{ name: 'q', vhost: 'nowhere', durable: true }],
    });
    expect(noVhost.status).toBe(400);
    expect(noVhost.body.reason).toMatch(/vhost 'nowhere'/);
  });

  it('is for administrators only, and JSON only (a cross-site form post is refused)', async () => {
    const asApp = await http.call('GET', '/api/definitions', undefined, basic('defs-app', 'app-pw'));
    expect(asApp.status).toBe(403);
    const postAsApp = await http.call('POST', '/api/definitions', {}, basic('defs-app', 'app-pw'));
    expect(postAsApp.status).toBe(403);
    const form = await fetch(`${http.base}/api/definitions`, {
      method: 'POST',
      headers: { Authorization: ADMIN, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'users=x',
    });
    expect(form.status).toBe(415);
  });
});

describe('conveyor definitions export|import', () => {
  it('exports to a file only its owner may read, and imports it into another broker', async () => {
    const file = join(dir, 'exported.json');
    const url = http.base;
    const exported = await runCli(
      ['definitions', 'export', file, '--url', url, '--user', 'defs-admin', '--password', 'admin-pw'],
      dir,
    );
    expect(exported).toMatchObject({ code: 0, stderr: '' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const document = JSON.parse(readFileSync(file, 'utf8')) as Document;
    expect(document.queues.some((q) => q.name === 'orders')).toBe(true);

    const other = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn'], dir);
    try {
      const otherUrl = `http://127.0.0.1:${other.ports.get('http')}`;
      const imported = await runCli(['definitions', 'import', file, '--url', otherUrl], dir);
      expect(imported.code).toBe(0);
      expect(imported.stdout).toMatch(
        /^imported 3 vhosts, \d+ users, 6 exchanges, 4 queues, 6 bindings, 0 policies\n$/,
      );
      // The users came with their hashes: defs-app logs in to the other broker with its password.
      const connection = await amqp.connect(
        `amqp://defs-app:app-pw@127.0.0.1:${other.ports.get('amqp')}/shop`,
      );
      await connection.close();
    } finally {
      await other.stop();
    }
  });

  it('a malformed --definitions file stops the start with a one-line reason', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ queues: [{ vhost: '/' }] }));
    const exit = await runCli(['start', ...EPHEMERAL_PORTS, '--memory', '--definitions', bad], dir);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toMatch(
      /definitions .*bad\.json: definitions: 'queues\[0\]\.name' must be a non-empty string/,
    );
  });
});
