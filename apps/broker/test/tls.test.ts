// Issue 13, TLS on every listener: AMQPS, MQTT over TLS, MQTT over secure WebSocket and HTTPS on the
// BUILT broker, with clients we did not write (amqplib, pika, mosquitto_pub/sub, mqtt.js, openssl
// s_client, Chromium); mutual TLS with SASL EXTERNAL and the certificate as MQTT user name; SIGHUP
// reload without dropping connections; a bad certificate stops the start with exit code 2.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates, type TestCertificates } from '../../../test/support/test-certificates.js';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';

const run = promisify(execFile);
const TLS_PORTS = ['--amqps-port', '0', '--mqtts-port', '0', '--mqtt-wss-port', '0', '--https-port', '0'];

/** A tool from Debian the test needs; under CI=true its absence fails instead of skipping. */
function need(path: string, pkg: string): string | undefined {
  if (existsSync(path)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${path} is required in CI (Debian package "${pkg}")`);
  return `(skipped: ${path} missing, apt-get install ${pkg})`;
}

let dir: string;
let certs: TestCertificates;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-tls-'));
  certs = makeTestCertificates(join(dir, 'certs'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The serial number of the certificate a TLS listener presents now. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, ca: readFileSync(certs.ca), servername: 'localhost' },
      () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

describe('TLS listeners with a server certificate', () => {
  let cli: RunningCli;
  let ca: Buffer;
  let certFile: string;
  let keyFile: string;
  beforeAll(async () => {
    // Copies: the reload test replaces them.
    certFile = join(dir, 'live.crt');
    keyFile = join(dir, 'live.key');
    copyFileSync(certs.server.cert, certFile);
    copyFileSync(certs.server.key, keyFile);
    ca = readFileSync(certs.ca);
    cli = await startCli(
      [
        ...EPHEMERAL_PORTS,
        ...TLS_PORTS,
        '--memory',
        '--log-level',
        'silent',
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
      ],
      dir,
    );
  });
  afterAll(async () => {
    if (cli.child.exitCode === null) await cli.stop();
  });

  it('prints a listening line for each TLS listener, beside the plain ones', () => {
    for (const name of ['amqp', 'amqps', 'mqtt', 'mqtts', 'mqtt-ws', 'mqtt-wss', 'http', 'https'])
      expect(cli.stdout()).toMatch(new RegExp(`^${name} listening on 127\\.0\\.0\\.1:\\d+$`, 'm'));
  });

  it('amqplib over amqps:// publishes with a confirm and consumes', async () => {
    const conn = await amqp.connect(`amqps://guest:guest@localhost:${cli.ports.get('amqps')}`, { ca: [ca] });
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await new Promise<void>((resolve, reject) =>
      ch.sendToQueue(queue, Buffer.from('over tls'), {}, (err) => (err ? reject(err) : resolve())),
    );
    const msg = await ch.get(queue, { noAck: true });
    expect(msg && msg.content.toString()).toBe('over tls');
    await conn.close();
  });

  it('amqplib refuses the broker without our CA (the certificate is really checked)', async () => {
    await expect(amqp.connect(`amqps://guest:guest@localhost:${cli.ports.get('amqps')}`)).rejects.toThrow(
      /self-signed|unable to verify|certificate/i,
    );
  });

  const pikaSkip = need('/usr/lib/python3/dist-packages/pika/__init__.py', 'python3-pika');
  it.skipIf(pikaSkip !== undefined)(`pika with ssl_options ${pikaSkip ?? ''}`, async () => {
    const script = `
import pika, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
params = pika.ConnectionParameters(host='localhost', port=int(sys.argv[1]), credentials=pika.PlainCredentials('guest', 'guest'), ssl_options=pika.SSLOptions(ctx, 'localhost'))
conn = pika.BlockingConnection(params)
ch = conn.channel()
q = ch.queue_declare(queue='', exclusive=True).method.queue
ch.confirm_delivery()
ch.basic_publish('', q, b'from pika')
method, props, body = ch.basic_get(q, auto_ack=True)
print(body.decode())
conn.close()
`;
    const { stdout } = await run('/usr/bin/python3', [
      '-c',
      script,
      String(cli.ports.get('amqps')),
      certs.ca,
    ]);
    expect(stdout.trim()).toBe('from pika');
  });

  const mosqSkip = need('/usr/bin/mosquitto_sub', 'mosquitto-clients');
  it.skipIf(mosqSkip !== undefined)(
    `mosquitto_pub / mosquitto_sub --cafile over mqtts ${mosqSkip ?? ''}`,
    async () => {
      const port = String(cli.ports.get('mqtts'));
      const common = [
        '-h',
        'localhost',
        '-p',
        port,
        '--cafile',
        certs.ca,
        '-u',
        'guest',
        '-P',
        'guest',
        '-V',
        'mqttv311',
      ];
      const sub = spawn('/usr/bin/mosquitto_sub', [
        ...common,
        '-t',
        'tls/mosq',
        '-C',
        '1',
        '-W',
        '10',
        '-q',
        '1',
      ]);
      let out = '';
      sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const closed = new Promise<number | null>((resolve) => sub.on('close', resolve));
      // mosquitto_sub prints nothing once subscribed: publish until it has one.
      for (let i = 0; i < 50 && out === ''; i++) {
        await run('/usr/bin/mosquitto_pub', [...common, '-t', 'tls/mosq', '-m', 'hello over tls', '-q', '1']);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await closed).toBe(0);
      expect(out.trim()).toBe('hello over tls');
    },
  );

  it.each(['mqtts', 'wss'] as const)('mqtt.js over %s://', async (scheme) => {
    const url =
      scheme === 'mqtts'
        ? `mqtts://localhost:${cli.ports.get('mqtts')}`
        : `wss://localhost:${cli.ports.get('mqtt-wss')}/ws`;
    const client = await mqtt.connectAsync(url, {
      ca,
      username: 'guest',
      password: 'guest',
      reconnectPeriod: 0,
      protocolVersion: 5,
    });
    const got = new Promise<string>((resolve) =>
      client.once('message', (_t, payload) => resolve(payload.toString())),
    );
    await client.subscribeAsync(`tls/${scheme}`, { qos: 1 });
    await client.publishAsync(`tls/${scheme}`, `via ${scheme}`, { qos: 1 });
    expect(await got).toBe(`via ${scheme}`);
    await client.endAsync();
  });

  it('HTTPS serves the management API with its security headers', async () => {
    const answer = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = request(
          { host: 'localhost', port: cli.ports.get('https'), path: '/api/overview', ca, auth: 'guest:guest' },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toHaveProperty('version');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  const sClientSkip = need('/usr/bin/openssl', 'openssl');
  it.skipIf(sClientSkip !== undefined)(
    `openssl s_client: TLS 1.2 and 1.3 are spoken, 1.1 is not ${sClientSkip ?? ''}`,
    async () => {
      const handshake = async (version: string): Promise<boolean> => {
        const child = spawn(
          '/usr/bin/openssl',
          ['s_client', '-connect', `127.0.0.1:${cli.ports.get('amqps')}`, version, '-CAfile', certs.ca],
          {
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stdin.end();
        await new Promise((resolve) => child.on('close', resolve));
        return /Verify return code: 0 \(ok\)/.test(out) && !/Cipher is \(NONE\)/.test(out);
      };
      expect(await handshake('-tls1_3')).toBe(true);
      expect(await handshake('-tls1_2')).toBe(true);
      expect(await handshake('-tls1_1')).toBe(false);
    },
  );

  const chromeSkip = chromiumSkipReason('HTTPS dashboard test');
  it.skipIf(chromeSkip !== undefined)(
    `the dashboard over HTTPS in Chromium ${chromeSkip ?? ''}`,
    async () => {
      const context = await launchChromium(join(dir, 'chromium-https'), { ignoreHTTPSErrors: true });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(`https://localhost:${cli.ports.get('https')}/`);
        await page.getByLabel('Username').fill('guest');
        await page.getByLabel('Password').fill('guest');
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('heading', { name: 'Queues', exact: true }).waitFor({ timeout: 10_000 });
      } finally {
        await context.close();
      }
    },
  );

  it('SIGHUP reloads the certificates; open connections stay; new ones get the new certificate', async () => {
    const port = cli.ports.get('amqps')!;
    const before = await servedSerial(port);
    const open = await amqp.connect(`amqps://guest:guest@localhost:${port}`, { ca: [ca] });
    const renewed = certs.renewedServer();
    copyFileSync(renewed.cert, certFile);
    copyFileSync(renewed.key, keyFile);
    cli.child.kill('SIGHUP');
    await expect.poll(() => cli.stderr(), { timeout: 5000 }).toMatch(/certificates reloaded/);
    const after = await servedSerial(port);
    expect(after).not.toBe(before);
    // The connection opened before the reload still works.
    const ch = await open.createChannel();
    await ch.assertQueue('', { exclusive: true });
    await open.close();
    expect(await servedSerial(cli.ports.get('https')!)).toBe(after);
  });
});

describe('mutual TLS', () => {
  let cli: RunningCli;
  let ca: Buffer;
  beforeAll(async () => {
    ca = readFileSync(certs.ca);
    const users = join(dir, 'mtls-users.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(users, '- { username: alice, password: unused-by-certificate, tags: [management] }\n');
    cli = await startCli(
      [
        ...EPHEMERAL_PORTS,
        ...TLS_PORTS,
        '--memory',
        '--log-level',
        'silent',
        '--users',
        users,
        '--tls-cert',
        certs.server.cert,
        '--tls-key',
        certs.server.key,
        '--tls-ca',
        certs.ca,
        '--tls-verify-client',
      ],
      dir,
      { CONVEYOR_MQTT_IDENTITY_AS_USERNAME: '1' },
    );
  });
  afterAll(async () => {
    if (cli.child.exitCode === null) await cli.stop();
  });

  it('AMQP: no client certificate, no connection; with one, SASL EXTERNAL logs in as its CN', async () => {
    const url = `amqps://localhost:${cli.ports.get('amqps')}`;
    await expect(amqp.connect(url, { ca: [ca] })).rejects.toThrow();
    const alice = certs.client('alice');
    const conn = await amqp.connect(url, {
      ca: [ca],
      cert: readFileSync(alice.cert),
      key: readFileSync(alice.key),
      credentials: amqp.credentials.external(),
    });
    const ch = await conn.createChannel();
    await ch.assertQueue('', { exclusive: true });
    await conn.close();
  });

  it('AMQP: a certificate of a user that does not exist is refused', async () => {
    const mallory = certs.client('mallory');
    await expect(
      amqp.connect(`amqps://localhost:${cli.ports.get('amqps')}`, {
        ca: [ca],
        cert: readFileSync(mallory.cert),
        key: readFileSync(mallory.key),
        credentials: amqp.credentials.external(),
      }),
    ).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  const mosqSkip = need('/usr/bin/mosquitto_pub', 'mosquitto-clients');
  it.skipIf(mosqSkip !== undefined)(
    `MQTT: mosquitto_pub with --cert/--key is the certificate's user ${mosqSkip ?? ''}`,
    async () => {
      const alice = certs.client('alice');
      const port = String(cli.ports.get('mqtts'));
      const watcher = await mqtt.connectAsync(`mqtts://localhost:${port}`, {
        ca,
        cert: readFileSync(alice.cert),
        key: readFileSync(alice.key),
        reconnectPeriod: 0,
      });
      const got = new Promise<string>((resolve) => watcher.once('message', (_t, p) => resolve(p.toString())));
      await watcher.subscribeAsync('mtls/t', { qos: 1 });
      await run('/usr/bin/mosquitto_pub', [
        '-h',
        'localhost',
        '-p',
        port,
        '--cafile',
        certs.ca,
        '--cert',
        alice.cert,
        '--key',
        alice.key,
        '-t',
        'mtls/t',
        '-m',
        'by certificate',
        '-q',
        '1',
      ]);
      expect(await got).toBe('by certificate');
      await watcher.endAsync();
      // Without a certificate the TLS handshake itself fails.
      await expect(
        run('/usr/bin/mosquitto_pub', [
          '-h',
          'localhost',
          '-p',
          port,
          '--cafile',
          certs.ca,
          '-t',
          'mtls/t',
          '-m',
          'x',
        ]),
      ).rejects.toThrow();
    },
  );
});

describe('a bad certificate stops the start: one line, exit code 2', () => {
  it.each([
    ['expired', () => certs.expiredServer(), /tls: the certificate .* expired on/],
    [
      'a key of another certificate',
      () => ({ cert: certs.server.cert, key: certs.client('x').key }),
      /does not belong to the certificate/,
    ],
    [
      'unreadable',
      () => ({ cert: join(dir, 'missing.crt'), key: certs.server.key }),
      /cannot read the certificate .*missing\.crt: no such file/,
    ],
  ] as const)('%s', async (_what, files, message) => {
    const { cert, key } = files();
    // notAfter = now: one second later it has expired.
    await new Promise((r) => setTimeout(r, 1100));
    const exit = await runCli(
      ['start', ...EPHEMERAL_PORTS, ...TLS_PORTS, '--memory', '--tls-cert', cert, '--tls-key', key],
      dir,
    );
    expect(exit.code).toBe(2);
    expect(exit.stderr.trim().split('\n')).toHaveLength(1);
    expect(exit.stderr).toMatch(message);
  });
});
