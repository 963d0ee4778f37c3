// `conveyor start` as users run it: the built CLI in a child process, ports always ephemeral.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conveyor start', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    cli = await startCli([...EPHEMERAL_PORTS, '--data-dir', join(dir, 'data'), '--log-level', 'warn'], dir);
  });
  afterAll(async () => {
    if (cli.child.exitCode === null) await cli.stop('SIGKILL');
  });

  it('prints one plain "<listener> listening on <host>:<port>" line per listener on stdout, then "conveyor ready"', () => {
    const lines = cli.stdout().trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines.at(-1)).toBe('conveyor ready');
    expect(lines.slice(0, -1).map((line) => line.split(' ')[0])).toEqual(['amqp', 'mqtt', 'mqtt-ws', 'http']);
    for (const line of lines.slice(0, -1))
      expect(line).toMatch(/^(amqp|mqtt|mqtt-ws|http) listening on 127\.0\.0\.1:[1-9]\d*$/);
    for (const port of cli.ports.values()) expect([5672, 1883, 15672, 15675]).not.toContain(port);
  });

  it('serves AMQP 0-9-1 to amqplib on the printed port', async () => {
    const port = cli.ports.get('amqp');
    const amqp = await import('amqplib');
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('cli-test', { durable: true });
      channel.sendToQueue('cli-test', Buffer.from('hello'), { persistent: true });
      await channel.waitForConfirms();
      const got = await channel.get('cli-test', { noAck: true });
      expect(got && got.content.toString()).toBe('hello');
    } finally {
      await connection.close();
    }
  });

  it('serves MQTT to mqtt.js on the printed port', async () => {
    const port = cli.ports.get('mqtt');
    const mqtt = await import('mqtt');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'guest',
      password: 'guest',
    });
    try {
      const received = new Promise<string>((resolve) =>
        client.on('message', (_topic, payload) => resolve(payload.toString())),
      );
      await client.subscribeAsync('cli/test', { qos: 1 });
      await client.publishAsync('cli/test', 'hi', { qos: 1 });
      expect(await received).toBe('hi');
    } finally {
      await client.endAsync();
    }
  });

  it('serves MQTT over WebSocket (path /ws) to mqtt.js on the printed port', async () => {
    const port = cli.ports.get('mqtt-ws');
    const mqtt = await import('mqtt');
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/ws`, {
      username: 'guest',
      password: 'guest',
    });
    try {
      const received = new Promise<string>((resolve) =>
        client.on('message', (_topic, payload) => resolve(payload.toString())),
      );
      await client.subscribeAsync('cli/ws', { qos: 1 });
      await client.publishAsync('cli/ws', 'over ws', { qos: 1 });
      expect(await received).toBe('over ws');
    } finally {
      await client.endAsync();
    }
  });

  it('closes and exits 0 on SIGTERM', async () => {
    const exit = await cli.stop('SIGTERM');
    expect(exit.code).toBe(0);
  });
});

describe('conveyor start configured by CONVEYOR_* variables', () => {
  it('takes ports from the environment ("off" = no listener), and flags win over variables', async () => {
    const env = {
      CONVEYOR_AMQP_PORT: '0',
      CONVEYOR_MQTT_PORT: '0',
      CONVEYOR_MQTT_WS_PORT: 'off',
      CONVEYOR_HTTP_PORT: 'off',
      CONVEYOR_BIND: '127.0.0.1',
    };
    const cli = await startCli(['--memory', '--log-level', 'silent'], dir, {
      ...env,
      CONVEYOR_DATA_DIR: join(dir, 'ignored'),
    });
    try {
      expect([...cli.ports.keys()]).toEqual(['amqp', 'mqtt']);
      expect(cli.stdout()).toMatch(/^amqp listening on 127\.0\.0\.1:\d+$/m);
      expect(existsSync(join(dir, 'ignored'))).toBe(false); // --memory won over CONVEYOR_DATA_DIR
    } finally {
      expect((await cli.stop()).code).toBe(0);
    }
  });
});

describe('conveyor start refuses to run', () => {
  it('with two stores: a clear one-line error and exit code 2', async () => {
    const exit = await runCli(['start', '--memory', '--data-dir', 'x', ...EPHEMERAL_PORTS], dir);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe(
      'conveyor: --memory and --data-dir cannot be used together: pick one store (--data-dir DIR, --memory or --store URL)\n',
    );
    expect(exit.stdout).toBe('');
  });

  it('with a shared store URL that is not redis://: refused', async () => {
    const exit = await runCli(['start', '--store', 'nats://localhost:4222', ...EPHEMERAL_PORTS], dir);
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^conveyor: --store nats:\/\/localhost:4222: only redis:\/\/, rediss:\/\/ and redis\+cluster:\/\/h1:p1,h2:p2 shared stores are supported/,
      ),
    ]);
  });

  it.each([
    ['amqp', '--amqp-port', 'another AMQP broker such as RabbitMQ'],
    ['mqtt', '--mqtt-port', 'another MQTT broker such as Mosquitto'],
  ])(
    'on a taken %s port: one line naming the port, its likely holder and the flag',
    async (name, flag, holderHint) => {
      const holder: Server = createServer();
      const port = await new Promise<number>((resolve) =>
        holder.listen(0, '127.0.0.1', () => resolve((holder.address() as AddressInfo).port)),
      );
      try {
        const args = ['start', '--memory', ...EPHEMERAL_PORTS, flag, String(port), '--log-level', 'silent'];
        const exit = await runCli(args, dir);
        expect(exit.code).toBe(1);
        const lines = exit.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toBe(
          `conveyor: ${name}: port ${port} on 127.0.0.1 is already in use (${holderHint}?); choose another with ${flag} PORT (0 = any free port)`,
        );
      } finally {
        holder.close();
      }
    },
  );
});
