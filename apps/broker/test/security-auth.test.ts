// Issue 13 against a REAL broker process with a users file: anonymous MQTT, hashed passwords,
// permissions and topic permissions across AMQP, MQTT and the HTTP API, management tags, and the
// failed-login count and log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel } from 'amqplib';
import mqtt, { type IClientOptions } from 'mqtt';
import { hashPassword, verifyPasswordHash } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../../../packages/mqtt/test/raw-client.js';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';
import { api, basic } from './support/http-api.js';

let dir: string;
let cli: RunningCli;
let amqpUrl: (user: string, password: string) => string;
let mqttUrl: string;

const USERS = [
  // guest's password changed, from anywhere: anonymous MQTT must not become guest.
  { username: 'guest', password: 'changed', loopbackOnly: false, tags: ['administrator'] },
  { username: 'hashed', passwordHash: hashPassword('h-pw'), tags: ['management'] },
  {
    username: 'reader',
    passwordHash: hashPassword('r-pw', 'rabbit_password_hashing_sha512'),
    hashingAlgorithm: 'rabbit_password_hashing_sha512',
  },
  {
    username: 'limited',
    password: 'l-pw',
    tags: ['management'],
    permissions: { '/': { configure: '^limited\\.', write: '^limited\\.', read: '^limited\\.' } },
  },
  {
    username: 'device',
    password: 'd-pw',
    topicPermissions: [{ exchange: 'amq.topic', write: '^devices\\.{client_id}\\.', read: '^devices\\.' }],
  },
  { username: 'watcher', password: 'w-pw', tags: ['monitoring'], vhosts: ['elsewhere'] },
  { username: 'notag', password: 'n-pw' },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-security-'));
  const users = join(dir, 'users.json');
  writeFileSync(users, JSON.stringify(USERS));
  // reader is who an anonymous CONNECT is; its topic rules keep it to sensors/#.
  const config = join(dir, 'conveyor.yaml');
  writeFileSync(config, 'mqtt: { anonymousUser: anon }\n');
  const withAnon = join(dir, 'users-anon.json');
  writeFileSync(
    withAnon,
    JSON.stringify([
      ...USERS,
      {
        username: 'anon',
        passwordHash: hashPassword('unused-anon-password'),
        topicPermissions: [{ exchange: 'amq.topic', write: '^$', read: '^sensors\\.' }],
      },
    ]),
  );
  cli = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn', '--users', users], dir);
  amqpUrl = (u, p) => `amqp://${u}:${p}@127.0.0.1:${cli.ports.get('amqp')}`;
  mqttUrl = `mqtt://127.0.0.1:${cli.ports.get('mqtt')}`;
});
afterAll(async () => {
  if (cli.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** mqtt-packet will not encode a password without a user name: the CONNECT by hand [MQTT-3.1.2.9]. */
function connectWithPasswordOnly(version: 4 | 5, clientId: string, password: string): Buffer {
  const str = (text: string): Buffer => {
    const bytes = Buffer.from(text);
    return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
  };
  // Protocol name, level, flags (password 0x40 | clean start 0x02), keep-alive 30; 5.0: no properties.
  const variable = Buffer.concat([
    str('MQTT'),
    Buffer.from([version, 0x42, 0, 30]),
    version === 5 ? Buffer.from([0]) : Buffer.alloc(0),
  ]);
  const body = Buffer.concat([variable, str(clientId), str(password)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** The SUBACK codes for one SUBSCRIBE of `filters` at QoS 1. */
async function suback(raw: RawClient, filters: string[]): Promise<number[]> {
  raw.send({
    cmd: 'subscribe',
    messageId: 1,
    subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })),
  });
  return (await raw.next('suback')).granted as number[];
}

const mqttConnect = (options: IClientOptions = {}) =>
  mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...options });

/** The reply code of the channel close an AMQP call caused. */
async function refusal(
  run: (ch: Channel) => Promise<unknown>,
  user = 'limited',
  password = 'l-pw',
): Promise<string> {
  const conn = await amqp.connect(amqpUrl(user, password));
  conn.on('error', () => undefined);
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  const err = await run(ch).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  await conn.close().catch(() => undefined);
  return err?.message ?? 'no error';
}

describe('anonymous MQTT [issue 13, defect 1]', () => {
  it.each([4, 5] as const)(
    'MQTT %i: no user name is refused, though guest exists (changed password, not loopback-only)',
    async (version) => {
      const raw = await RawClient.open(cli.ports.get('mqtt')!, version);
      const connack = await raw.connect(`anon-${version}`);
      // 3.1.1: 5 not authorized; 5.0: 0x87.
      if (version === 4) expect(connack.returnCode).toBe(5);
      else expect(connack.reasonCode).toBe(0x87);
      await raw.untilClosed();
    },
  );

  it('[MQTT-3.1.2-22] 3.1.1: a password without a user name closes the connection without a CONNACK', async () => {
    const raw = await RawClient.open(cli.ports.get('mqtt')!, 4);
    raw.sendBytes(connectWithPasswordOnly(4, 'pw-only', 'guest'));
    await raw.untilClosed();
    expect(raw.packets.filter((p) => p.cmd === 'connack')).toEqual([]);
  });

  it('5.0 §3.1.2.9: a password without a user name is credentials with no user: CONNACK 0x86', async () => {
    const raw = await RawClient.open(cli.ports.get('mqtt')!, 5);
    raw.sendBytes(connectWithPasswordOnly(5, 'pw-only-5', 'changed'));
    const connack = await raw.next('connack');
    expect(connack.reasonCode).toBe(0x86);
  });

  it('guest with its changed password gets in; with the old default it does not', async () => {
    (await mqttConnect({ username: 'guest', password: 'changed' })).end();
    await expect(mqttConnect({ username: 'guest', password: 'guest' })).rejects.toThrow();
  });

  it('with mqtt.anonymousUser configured, anonymous clients are that user and its topic permissions apply', async () => {
    const other = await startCli(
      [
        ...EPHEMERAL_PORTS,
        '--memory',
        '--log-level',
        'silent',
        '--users',
        join(dir, 'users-anon.json'),
        '--config',
        join(dir, 'conveyor.yaml'),
      ],
      dir,
    );
    try {
      const raw = await RawClient.open(other.ports.get('mqtt')!, 5);
      expect((await raw.connect('anon-reader')).reasonCode).toBe(0);
      expect(await suback(raw, ['sensors/#', '#'])).toEqual([1, 0x87]);
      raw.close();
    } finally {
      await other.stop();
    }
  });
});

describe('hashed passwords', () => {
  it('a passwordHash (sha256 and sha512) logs in over AMQP, MQTT and HTTP; a wrong password does not', async () => {
    await (await amqp.connect(amqpUrl('hashed', 'h-pw'))).close();
    await (await amqp.connect(amqpUrl('reader', 'r-pw'))).close();
    await expect(amqp.connect(amqpUrl('hashed', 'wrong'))).rejects.toThrow(/ACCESS_REFUSED|403/);
    (await mqttConnect({ username: 'reader', password: 'r-pw' })).end();
    await expect(mqttConnect({ username: 'reader', password: 'nope' })).rejects.toThrow();
    const http = api(cli.ports.get('http')!, basic('hashed', 'h-pw'));
    expect((await http.call('GET', '/api/whoami')).body).toEqual({ name: 'hashed', tags: ['management'] });
  });

  it('conveyor hash-password prints a hash that verifies (sha256 by default, sha512 on request)', async () => {
    const sha256 = await runCli(['hash-password', 'pa55 word'], dir);
    expect(sha256.code).toBe(0);
    expect(verifyPasswordHash(sha256.stdout.trim(), 'rabbit_password_hashing_sha256', 'pa55 word')).toBe(
      true,
    );
    const sha512 = await runCli(['hash-password', '--algorithm', 'sha512', 'pa55 word'], dir);
    expect(verifyPasswordHash(sha512.stdout.trim(), 'rabbit_password_hashing_sha512', 'pa55 word')).toBe(
      true,
    );
    expect(sha512.stderr).toMatch(/hashingAlgorithm: rabbit_password_hashing_sha512/);
  });

  it('the broker warns at start about plain-text passwords', () => {
    expect(cli.stderr()).toMatch(/plain-text password/);
  });
});

describe('permissions (configure / write / read)', () => {
  it("AMQP: 403 ACCESS_REFUSED with RabbitMQ's text outside the user's names", async () => {
    expect(await refusal((ch) => ch.assertQueue('limited.jobs'))).toBe('no error');
    expect(await refusal((ch) => ch.assertQueue('jobs'))).toMatch(
      /403 \(ACCESS-REFUSED\) with message "ACCESS_REFUSED - access to queue 'jobs' in vhost '\/' refused for user 'limited'"/,
    );
    // Publishing needs write on the exchange: amq.topic is not the user's.
    expect(
      await refusal(async (ch) => {
        ch.publish('amq.topic', 'x', Buffer.from('x'));
        await ch.assertQueue('limited.after-publish');
      }),
    ).toMatch(/access to exchange 'amq.topic'/);
    // Consuming needs read on the queue.
    expect(await refusal((ch) => ch.consume('jobs', () => undefined))).toMatch(/403/);
  });

  it('the HTTP API checks the same permissions', async () => {
    const http = api(cli.ports.get('http')!, basic('limited', 'l-pw'));
    expect((await http.call('PUT', '/api/queues/%2F/limited.http', { durable: false })).status).toBe(201);
    const refused = await http.call<{ reason: string }>('PUT', '/api/queues/%2F/other-http', {
      durable: false,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toBe("access to queue 'other-http' in vhost '/' refused for user 'limited'");
    expect((await http.call('POST', '/api/queues/%2F/limited.http/send', { body: 'x' })).status).toBe(403);
  });
});

describe('topic permissions: one model for AMQP and MQTT through amq.topic', () => {
  it('an AMQP user cannot bind # on amq.topic to read MQTT topics it may not read', async () => {
    const message = await refusal(
      async (ch) => {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        await ch.bindQueue(queue, 'amq.topic', '#');
      },
      'device',
      'd-pw',
    );
    expect(message).toMatch(/403.*read access to topic '#' in exchange 'amq.topic'/);
    const ok = await refusal(
      async (ch) => {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        await ch.bindQueue(queue, 'amq.topic', 'devices.#');
      },
      'device',
      'd-pw',
    );
    expect(ok).toBe('no error');
  });

  it('MQTT SUBSCRIBE: 0x87 (5.0) / 0x80 (3.1.1) outside the read rule', async () => {
    for (const version of [5, 4] as const) {
      const raw = await RawClient.open(cli.ports.get('mqtt')!, version);
      await raw.connect('d1', { username: 'device', password: Buffer.from('d-pw') });
      expect(await suback(raw, ['#', 'devices/#'])).toEqual([version === 5 ? 0x87 : 0x80, 1]);
      raw.close();
    }
  });

  it('MQTT PUBLISH: {client_id} in the write rule; 5.0 PUBACK 0x87, 3.1.1 closes the connection', async () => {
    const v5 = await mqttConnect({
      username: 'device',
      password: 'd-pw',
      protocolVersion: 5,
      clientId: 'd1',
    });
    await v5.publishAsync('devices/d1/temp', '21', { qos: 1 });
    await expect(v5.publishAsync('devices/d2/temp', '21', { qos: 1 })).rejects.toThrow(/Not authorized|135/);
    await v5.endAsync();
    const v4 = await mqttConnect({
      username: 'device',
      password: 'd-pw',
      protocolVersion: 4,
      clientId: 'd1',
    });
    const closed = new Promise<void>((resolve) => v4.once('close', () => resolve()));
    v4.publish('devices/d2/temp', '21', { qos: 1 });
    await closed;
    v4.end(true);
  });
});

describe('management roles (user tags)', () => {
  it('no tag: no HTTP API; monitoring: every vhost read-only; administrator only: /api/users', async () => {
    const port = cli.ports.get('http')!;
    expect((await api(port, basic('notag', 'n-pw')).call('GET', '/api/overview')).status).toBe(403);
    const watcher = api(port, basic('watcher', 'w-pw'));
    expect((await watcher.call('GET', '/api/queues/%2F')).status).toBe(200);
    expect((await watcher.call('PUT', '/api/queues/%2F/by-watcher', { durable: false })).status).toBe(403);
    expect((await watcher.call('GET', '/api/users')).status).toBe(403);
    const admin = await api(port, basic('guest', 'changed')).call<Record<string, unknown>[]>(
      'GET',
      '/api/users',
    );
    expect(admin.status).toBe(200);
    expect(admin.body.map((u) => u.name)).toContain('hashed');
    expect(JSON.stringify(admin.body)).not.toMatch(/"password|passwordHash|h-pw|"changed"/);
  });
});

describe('failed logins', () => {
  it('are counted in /metrics per protocol and reason, and logged without the password', async () => {
    await expect(amqp.connect(amqpUrl('hashed', 'the-wrong-secret'))).rejects.toThrow();
    await expect(mqttConnect({ username: 'hashed', password: 'the-wrong-secret' })).rejects.toThrow();
    const http = api(cli.ports.get('http')!);
    await http.call('GET', '/api/overview', undefined, basic('hashed', 'the-wrong-secret'));
    const metrics = (await http.call<string>('GET', '/metrics')).body;
    for (const protocol of ['amqp', 'mqtt', 'http'])
      expect(metrics).toMatch(
        new RegExp(`conveyor_auth_failures_total\\{protocol="${protocol}",reason="bad-credentials"\\} [1-9]`),
      );
    await expect.poll(() => cli.stderr()).toMatch(/login refused/);
    expect(cli.stderr()).not.toContain('the-wrong-secret');
  });
});
