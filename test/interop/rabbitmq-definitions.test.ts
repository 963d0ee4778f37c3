// Issue 16, item 6, both ways with the REAL RabbitMQ on this machine: a definitions file
// `rabbitmqctl export_definitions` wrote imports into Conveyor (`conveyor definitions import`),
// and one `conveyor definitions export` wrote imports into RabbitMQ (`rabbitmqctl
// import_definitions`): queues with arguments, exchanges, queue and exchange bindings, vhosts,
// users with their password hashes (each side logs in with the other's hash), tags, permissions
// and topic permissions. Each test uses vhosts and users of its own and deletes them afterwards.
// The delayed-message exchange is left out of the Conveyor → RabbitMQ file: RabbitMQ here has no
// delayed-message plugin (apps/broker/test/definitions.test.ts covers it on Conveyor).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { hashPassword } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EPHEMERAL_PORTS,
  runCli,
  startCli,
  type RunningCli,
} from '../../apps/broker/test/support/cli-process.js';

const run = promisify(execFile);
const RABBITMQ_HOST = new URL(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const tag = randomBytes(3).toString('hex');

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** `import_definitions` without a path: the file through stdin (the RabbitMQ node cannot read our temp dir). */
function rabbitmqctlImport(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('rabbitmqctl', ['-q', 'import_definitions'], { timeout: 60_000 }, (err) =>
      err ? reject(err) : resolve(),
    );
    child.stdin?.end(text);
  });
}

async function rabbitmqctlJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await rabbitmqctl(...args, '--formatter', 'json')) as T;
}

/** rabbitmqctl reaches the local node (root holds its Erlang cookie); else skip, or fail under CI. */
async function rabbitmqctlUsable(): Promise<string | undefined> {
  try {
    await rabbitmqctl('status');
    return undefined;
  } catch (err) {
    return `rabbitmqctl cannot reach the local RabbitMQ: ${(err as Error).message.split('\n')[0]}`;
  }
}

function rabbitUrl(user: string, password: string, vhost: string): string {
  return `amqp://${user}:${password}@${RABBITMQ_HOST.hostname}:${RABBITMQ_HOST.port || 5672}/${encodeURIComponent(vhost)}`;
}

interface Definitions {
  users?: { name: string; password_hash: string; hashing_algorithm: string; tags: string[] | string }[];
  vhosts?: { name: string }[];
  permissions?: { user: string; vhost: string }[];
  topic_permissions?: { user: string; vhost: string }[];
  queues?: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: object }[];
  exchanges?: { name: string; vhost: string; type: string; durable: boolean; internal: boolean }[];
  bindings?: { source: string; vhost: string; destination: string; destination_type: string }[];
  policies?: { name: string; vhost: string; pattern: string; definition: object }[];
}

/** The same entries, whatever order each side lists them in. */
function sorted<T>(list: readonly T[]): T[] {
  return [...list]
    .map((e) => JSON.stringify(e, Object.keys(e as object).sort()))
    .sort()
    .map((e) => JSON.parse(e) as T);
}

/** Publishes through `exchange` on a confirm channel and waits until `queue` holds `count`. */
async function publishAndCount(url: string, exchange: string, key: string, queue: string): Promise<number> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, key, Buffer.from('through the bindings'), { persistent: true });
    await channel.waitForConfirms();
    let count = 0;
    for (let i = 0; i < 50 && count === 0; i++) {
      count = (await channel.checkQueue(queue)).messageCount;
      if (count === 0) await new Promise((r) => setTimeout(r, 100));
    }
    return count;
  } finally {
    await connection.close();
  }
}

let skipReason: string | undefined;
let dir: string;
let conveyor: RunningCli | undefined;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  skipReason = await rabbitmqctlUsable();
  if (skipReason !== undefined) {
    if (process.env.CI === 'true') throw new Error(skipReason);
    console.warn(`[rabbitmq definitions] skipping: ${skipReason}`);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'conveyor-rabbit-defs-'));
}, 60_000);
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch((err: unknown) => console.warn(String(err)));
  if (conveyor?.child.exitCode === null) await conveyor.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('RabbitMQ definitions, both ways', () => {
  it("a file RabbitMQ exported imports into Conveyor, and its user logs in with RabbitMQ's hash", async (ctx) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    const vhost = `defs-from-rabbit-${tag}`;
    const user = `defs-from-rabbit-${tag}`;
    cleanup.push(
      () => rabbitmqctl('delete_vhost', vhost),
      () => rabbitmqctl('delete_user', user),
    );
    await rabbitmqctl('add_vhost', vhost);
    await rabbitmqctl('add_user', user, 'rabbit-pw');
    await rabbitmqctl('set_user_tags', user, 'management');
    await rabbitmqctl('set_permissions', '-p', vhost, user, '^app\\.', '.*', '.*');
    await rabbitmqctl('set_topic_permissions', '-p', vhost, user, 'amq.topic', '^sensor\\.', '.*');
    await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    await rabbitmqctl(
      'set_policy',
      '-p',
      vhost,
      '--apply-to',
      'queues',
      '--priority',
      '2',
      'app-limits',
      '^app\\.',
      '{"max-length":500,"dead-letter-exchange":"app.audit","message-ttl":3600000}',
    );
    const declaring = await amqp.connect(rabbitUrl('guest', 'guest', vhost));
    try {
      const ch = await declaring.createChannel();
      await ch.assertExchange('app.events', 'topic', { durable: true });
      // Not internal: RabbitMQ 3.10 leaves internal exchanges out of its exports.
      await ch.assertExchange('app.audit', 'fanout', { durable: true });
      await ch.assertQueue('app.orders', {
        durable: true,
        arguments: {
          'x-message-ttl': 60000,
          'x-max-priority': 5,
          'x-dead-letter-exchange': 'app.audit',
          'x-max-length': 100,
          'x-overflow': 'reject-publish',
        },
      });
      await ch.assertQueue('app.audit-log', { durable: true });
      await ch.bindQueue('app.orders', 'app.events', 'order.#');
      await ch.bindExchange('app.audit', 'app.events', '#');
      await ch.bindQueue('app.audit-log', 'app.audit', '');
    } finally {
      await declaring.close();
    }
    // `export_definitions -`: to stdout (the RabbitMQ node could not write into our temp dir).
    // The shared RabbitMQ holds other tests' vhosts and users too: this test's part of its file.
    const all = JSON.parse(await rabbitmqctl('export_definitions', '-')) as Definitions &
      Record<string, unknown>;
    const ours = <T extends { vhost: string }>(list: T[] | undefined): T[] =>
      (list ?? []).filter((e) => e.vhost === vhost);
    const document: Definitions = {
      ...all,
      users: (all.users ?? []).filter((u) => u.name === user),
      vhosts: (all.vhosts ?? []).filter((v) => v.name === vhost),
      permissions: ours(all.permissions).filter((p) => p.user === user),
      topic_permissions: ours(all.topic_permissions).filter((p) => p.user === user),
      queues: ours(all.queues),
      exchanges: ours(all.exchanges),
      bindings: ours(all.bindings),
      policies: ours(all.policies),
    };
    expect(document.users?.[0]?.hashing_algorithm).toBe('rabbit_password_hashing_sha256');
    const file = join(dir, 'from-rabbit-ours.json');
    writeFileSync(file, JSON.stringify(document));

    conveyor = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn'], dir);
    const http = `http://127.0.0.1:${conveyor.ports.get('http')}`;
    const imported = await runCli(['definitions', 'import', file, '--url', http], dir);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toBe(
      'imported 1 vhosts, 1 users, 2 exchanges, 2 queues, 3 bindings, 1 policies\n',
    );

    // Conveyor now holds what RabbitMQ held, entry for entry.
    const back = await runCli(['definitions', 'export', '--url', http], dir);
    const fromConveyor = JSON.parse(back.stdout) as Definitions;
    expect(sorted(ours(fromConveyor.queues))).toEqual(sorted(document.queues!));
    // RabbitMQ 3.10 writes no `internal` key (it exports no internal exchanges); Conveyor does.
    expect(sorted(ours(fromConveyor.exchanges))).toEqual(
      sorted(document.exchanges!.map((e) => ({ internal: false, ...e }))),
    );
    expect(sorted(ours(fromConveyor.bindings))).toEqual(sorted(document.bindings!));
    expect(ours(fromConveyor.policies)).toEqual(ours(document.policies));
    expect(ours(document.policies)).toHaveLength(1);
    // The policy is in effect on the queues it matches, over what they were declared with.
    const queueInfo = await fetch(`${http}/api/queues/${encodeURIComponent(vhost)}/app.audit-log`, {
      headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    expect(await queueInfo.json()).toMatchObject({
      policy: 'app-limits',
      effectiveOptions: { maxLength: 500, messageTtlMs: 3600000, deadLetter: { exchange: 'app.audit' } },
    });
    expect(fromConveyor.users?.find((u) => u.name === user)?.password_hash).toBe(
      document.users![0]!.password_hash,
    );

    // RabbitMQ's user logs in to Conveyor with its password, and the bindings route.
    const url = `amqp://${user}:rabbit-pw@127.0.0.1:${conveyor.ports.get('amqp')}/${encodeURIComponent(vhost)}`;
    expect(await publishAndCount(url, 'app.events', 'order.1', 'app.orders')).toBe(1);
    expect(await publishAndCount(url, 'app.events', 'invoice.1', 'app.audit-log')).toBe(2);
    // Its permissions came along: configure only on ^app\. names.
    const connection = await amqp.connect(url);
    try {
      const channel = await connection.createChannel();
      const refused = new Promise<Error>((resolve) => channel.on('error', resolve));
      channel.assertQueue('other', { durable: false }).catch(() => undefined);
      expect(String(await refused)).toMatch(/ACCESS_REFUSED/);
    } finally {
      await connection.close();
    }
    await conveyor.stop();
    conveyor = undefined;
  }, 120_000);

  it("a file Conveyor exported imports into RabbitMQ, and its user logs in to RabbitMQ with Conveyor's hash", async (ctx) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    const vhost = `defs-from-conveyor-${tag}`;
    const admin = `defs-conveyor-admin-${tag}`;
    const user = `defs-from-conveyor-${tag}`;
    cleanup.push(
      () => rabbitmqctl('delete_vhost', vhost),
      () => rabbitmqctl('delete_user', admin),
      () => rabbitmqctl('delete_user', user),
    );
    // No guest on this Conveyor: RabbitMQ's own guest is not touched by the import.
    const users = join(dir, 'users.json');
    writeFileSync(
      users,
      JSON.stringify([
        { username: admin, password: 'admin-pw', tags: ['administrator'] },
        {
          username: user,
          passwordHash: hashPassword('conveyor-pw'),
          tags: ['management'],
          permissions: { [vhost]: { configure: '^job', write: '.*', read: '.*' } },
          topicPermissions: [{ vhost, exchange: 'amq.topic', write: '^jobs\\.', read: '.*' }],
        },
      ]),
    );
    conveyor = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn', '--users', users], dir);
    const http = `http://127.0.0.1:${conveyor.ports.get('http')}`;
    const login = ['--url', http, '--user', admin, '--password', 'admin-pw'];
    const vhostFile = join(dir, 'vhost.json');
    writeFileSync(vhostFile, JSON.stringify({ vhosts: [{ name: vhost }] }));
    expect((await runCli(['definitions', 'import', vhostFile, ...login], dir)).code).toBe(0);
    const declaring = await amqp.connect(
      `amqp://${admin}:admin-pw@127.0.0.1:${conveyor.ports.get('amqp')}/${encodeURIComponent(vhost)}`,
    );
    try {
      const ch = await declaring.createChannel();
      await ch.assertExchange('jobs.in', 'direct', { durable: true });
      await ch.assertExchange('jobs.all', 'fanout', { durable: true, internal: true });
      await ch.assertQueue('jobs.work', {
        durable: true,
        arguments: { 'x-max-priority': 10, 'x-dead-letter-exchange': 'jobs.all', 'x-message-ttl': 600000 },
      });
      await ch.assertQueue('jobs.log', { durable: true, arguments: { 'x-max-length': 50 } });
      await ch.bindQueue('jobs.work', 'jobs.in', 'work');
      await ch.bindExchange('jobs.all', 'jobs.in', 'work');
      await ch.bindQueue('jobs.log', 'jobs.all', '');
    } finally {
      await declaring.close();
    }
    const policySet = await runCli(
      [
        'set-policy',
        'jobs-ttl',
        '^jobs\\.log$',
        '{"message-ttl":120000,"max-length-bytes":1048576}',
        '--apply-to',
        'queues',
        '--vhost',
        vhost,
        ...login,
      ],
      dir,
    );
    expect(policySet).toMatchObject({ code: 0, stdout: 'policy jobs-ttl set\n' });
    const file = join(dir, 'from-conveyor.json');
    const exported = await runCli(['definitions', 'export', file, ...login], dir);
    expect(exported).toMatchObject({ code: 0, stderr: '' });
    const document = JSON.parse(readFileSync(file, 'utf8')) as Definitions;
    await conveyor.stop();
    conveyor = undefined;

    await rabbitmqctlImport(readFileSync(file, 'utf8'));
    // The import runs in the background: wait for its last part (bindings) to be there.
    let queues: { name: string; durable: boolean; arguments: Record<string, unknown> }[] = [];
    let bindings: { source_name: string; destination_name: string }[] = [];
    for (let i = 0; i < 100; i++) {
      queues = await rabbitmqctlJson('list_queues', '-p', vhost, 'name', 'durable', 'arguments').catch(
        () => [],
      );
      bindings = await rabbitmqctlJson<typeof bindings>(
        'list_bindings',
        '-p',
        vhost,
        'source_name',
        'destination_name',
      ).catch(() => []);
      if (queues.length === 2 && bindings.filter((b) => b.source_name !== '').length === 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const inRabbit = Object.fromEntries(queues.map((q) => [q.name, q]));
    // rabbitmqctl prints arguments as [name, AMQP type, value] triples.
    const argsOf = (name: string): Record<string, unknown> =>
      Object.fromEntries(
        ((inRabbit[name]?.arguments ?? []) as unknown as [string, string, unknown][]).map(([k, , v]) => [
          k,
          v,
        ]),
      );
    expect(argsOf('jobs.work')).toEqual(document.queues!.find((q) => q.name === 'jobs.work')!.arguments);
    expect(argsOf('jobs.log')).toEqual({ 'x-max-length': 50 });
    expect(
      bindings
        .filter((b) => b.source_name !== '')
        .map((b) => `${b.source_name}→${b.destination_name}`)
        .sort(),
    ).toEqual(['jobs.all→jobs.log', 'jobs.in→jobs.all', 'jobs.in→jobs.work']);
    const exchanges = await rabbitmqctlJson<{ name: string; type: string; internal: boolean }[]>(
      'list_exchanges',
      '-p',
      vhost,
      'name',
      'type',
      'internal',
    );
    expect(exchanges.filter((e) => e.name.startsWith('jobs.'))).toEqual(
      expect.arrayContaining([
        { name: 'jobs.in', type: 'direct', internal: false },
        { name: 'jobs.all', type: 'fanout', internal: true },
      ]),
    );
    const policies = await rabbitmqctlJson<
      { name: string; pattern: string; definition: unknown; 'apply-to': string }[]
    >('list_policies', '-p', vhost);
    expect(policies).toHaveLength(1);
    expect(policies[0]).toMatchObject({ name: 'jobs-ttl', pattern: '^jobs\\.log$', 'apply-to': 'queues' });
    const definition = policies[0]!.definition;
    expect(typeof definition === 'string' ? JSON.parse(definition) : definition).toEqual({
      'message-ttl': 120000,
      'max-length-bytes': 1048576,
    });
    const permissions = await rabbitmqctlJson<
      { user: string; configure: string; write: string; read: string }[]
    >('list_permissions', '-p', vhost);
    expect(permissions.find((p) => p.user === user)).toMatchObject({
      configure: '^job',
      write: '.*',
      read: '.*',
    });
    const topics = await rabbitmqctlJson<{ user: string; exchange: string; write: string }[]>(
      'list_topic_permissions',
      '-p',
      vhost,
    );
    expect(topics.find((t) => t.user === user)).toMatchObject({ exchange: 'amq.topic', write: '^jobs\\.' });
    const tags = await rabbitmqctlJson<{ user: string; tags: string[] }[]>('list_users');
    expect(tags.find((u) => u.user === user)?.tags).toEqual(['management']);

    // Conveyor's user logs in to RabbitMQ with its password (the hash Conveyor made), and the
    // exchange-to-exchange binding routes there as here.
    const url = rabbitUrl(user, 'conveyor-pw', vhost);
    expect(await publishAndCount(url, 'jobs.in', 'work', 'jobs.work')).toBe(1);
    expect(await publishAndCount(url, 'jobs.in', 'work', 'jobs.log')).toBe(2);
  }, 180_000);
});
