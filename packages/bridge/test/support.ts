// Shared helpers of the bridge tests: real RabbitMQ and Mosquitto (skipped when unreachable,
// required when CI=true), unique names per run, an embedded Conveyor broker over LMDB in a temp dir.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, LmdbStore } from '@conveyor/core';
import { afterAll, beforeAll } from 'vitest';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Undefined when the service is up; a skip reason when it is not (and not CI, where it throws). */
export async function serviceMissing(name: string, url: string, port: number): Promise<string | undefined> {
  if (await reachable(url, port)) return undefined;
  const reason = `${name} unreachable at ${url}`;
  if (process.env.CI === 'true') throw new Error(`${reason} and CI=true: the bridge tests must run`);
  console.warn(`[bridge tests] skipping: ${reason}`);
  return reason;
}

export const rabbitMissing = await serviceMissing('RabbitMQ', RABBITMQ_URL, 5672);
export const mqttMissing = await serviceMissing('Mosquitto', MQTT_URL, 1883);

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A RabbitMQ connection for the test's own publishing and checking; deletes what it declared. */
export class Rabbit {
  readonly #queues = new Set<string>();
  readonly #exchanges = new Set<string>();
  private constructor(
    readonly model: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async open(): Promise<Rabbit> {
    const model = await connect(RABBITMQ_URL);
    return new Rabbit(model, await model.createConfirmChannel());
  }

  async queue(name: string): Promise<string> {
    await this.channel.assertQueue(name, { durable: true });
    this.#queues.add(name);
    return name;
  }

  /** Remembers a queue the bridge declared, so it is deleted too. */
  owns(queue: string): void {
    this.#queues.add(queue);
  }

  async exchange(name: string, kind = 'topic'): Promise<string> {
    await this.channel.assertExchange(name, kind, { durable: false, autoDelete: false });
    this.#exchanges.add(name);
    return name;
  }

  /** Reads up to `count` messages (waiting up to `timeoutMs` for them), acking each. */
  async drain(queue: string, count: number, timeoutMs = 20_000): Promise<import('amqplib').GetMessage[]> {
    const got: import('amqplib').GetMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < count && Date.now() < deadline) {
      const message = await this.channel.get(queue, { noAck: true });
      if (message === false) await new Promise((r) => setTimeout(r, 20));
      else got.push(message);
    }
    return got;
  }

  async close(): Promise<void> {
    for (const q of this.#queues) await this.channel.deleteQueue(q).catch(() => undefined);
    for (const e of this.#exchanges) await this.channel.deleteExchange(e).catch(() => undefined);
    await this.model.close().catch(() => undefined);
  }
}

/** An embedded Conveyor broker over LMDB in a temp dir, which can be closed and reopened. */
export class EmbeddedConveyor {
  broker: Broker | undefined;
  private constructor(readonly dir: string) {}

  static async open(): Promise<EmbeddedConveyor> {
    const conveyor = new EmbeddedConveyor(await mkdtemp(join(tmpdir(), 'conveyor-bridge-')));
    await conveyor.reopen();
    return conveyor;
  }

  get current(): Broker {
    if (!this.broker) throw new Error('broker closed');
    return this.broker;
  }

  /** For endpoints: the broker of the moment (undefined while closed). */
  readonly ref = (): Broker | undefined => this.broker;

  async reopen(): Promise<Broker> {
    this.broker = await Broker.open({
      store: new LmdbStore({ path: join(this.dir, 'store') }),
      onError: () => undefined,
    });
    return this.broker;
  }

  async closeBroker(): Promise<void> {
    const broker = this.broker;
    this.broker = undefined;
    await broker?.close();
  }

  async dispose(): Promise<void> {
    await this.closeBroker();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `check` is true (polling), or throws with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A free TCP port on 127.0.0.1 (bound on port 0 and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Ends a persistent MQTT session on the shared broker (a clean connect drops its state). */
export async function forgetMqttSession(url: string, clientId: string): Promise<void> {
  const { connectAsync } = await import('mqtt');
  const c = await connectAsync(url, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 }).catch(
    () => undefined,
  );
  await c?.endAsync();
}

/** A Mosquitto of the test's own on a free port, keeping any number of messages for absent clients. */
export class OwnMosquitto {
  private constructor(
    readonly url: string,
    private child: ChildProcess,
    private readonly dir: string,
    private readonly conf: string,
    private readonly port: number,
  ) {}

  /** With `persistence`, it keeps sessions and queued messages across `restart()`. */
  static async start(options: { persistence?: boolean } = {}): Promise<OwnMosquitto> {
    const dir = await mkdtemp(join(tmpdir(), 'bridge-mosquitto-'));
    await chmod(dir, 0o777); // mosquitto drops root for its own user, which writes the db here
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    const persistence = options.persistence
      ? ['persistence true', `persistence_location ${dir}/`]
      : ['persistence false'];
    const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...persistence];
    lines.push('max_queued_messages 0', 'max_inflight_messages 256', '');
    await writeFile(conf, lines.join('\n'), { mode: 0o644 });
    const url = `mqtt://127.0.0.1:${port}`;
    return new OwnMosquitto(url, await spawnMosquitto(conf, url, port), dir, conf, port);
  }

  /** Stops it (SIGTERM: it saves its db) and starts it again on the same port. */
  async restart(downMs = 300): Promise<void> {
    await this.#kill();
    await new Promise((r) => setTimeout(r, downMs));
    this.child = await spawnMosquitto(this.conf, this.url, this.port);
  }

  async #kill(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  async stop(): Promise<void> {
    await this.#kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function spawnMosquitto(conf: string, url: string, port: number): Promise<ChildProcess> {
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const deadline = Date.now() + 5_000;
  while (!(await reachable(url, port))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`mosquitto did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** Reads the whole queue: the bodies must be "0".."n-1", each exactly once. */
export async function expectEachOnce(conveyor: EmbeddedConveyor, queue: string, n: number): Promise<void> {
  const { expect } = await import('vitest');
  const vhost = conveyor.current.vhost();
  const seen = new Map<string, number>();
  for (;;) {
    const batch = await vhost.receive(queue, { max: 1000 });
    if (batch.length === 0) break;
    for (const d of batch) {
      const key = Buffer.from(d.message.body).toString();
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    await vhost.ack(batch);
  }
  const missing = Array.from({ length: n }, (_, i) => String(i)).filter((k) => !seen.has(k));
  const twice = [...seen].filter(([, count]) => count > 1).map(([k]) => k);
  expect({
    count: seen.size,
    missing: missing.slice(0, 10),
    twice: twice.slice(0, 10),
    twiceCount: twice.length,
  }).toEqual({ count: n, missing: [], twice: [], twiceCount: 0 });
}

/** A suite's RabbitMQ connection and embedded Conveyor broker (read them inside tests). */
export function rabbitAndConveyor(setup?: (conveyor: EmbeddedConveyor) => Promise<void>): {
  rabbit: Rabbit;
  conveyor: EmbeddedConveyor;
} {
  const env = {} as { rabbit: Rabbit; conveyor: EmbeddedConveyor };
  beforeAll(async () => {
    env.rabbit = await Rabbit.open();
    env.conveyor = await EmbeddedConveyor.open();
    await setup?.(env.conveyor);
  });
  afterAll(async () => {
    await env.rabbit?.close();
    await env.conveyor?.dispose();
  });
  return env;
}

/** A suite's own Mosquitto, an embedded Conveyor broker with `queue` (duplicate detection on) and a state dir. */
export function mosquittoAndConveyor(queue: string): {
  mosquitto: OwnMosquitto;
  conveyor: EmbeddedConveyor;
  stateDir: string;
} {
  const env = {} as { mosquitto: OwnMosquitto; conveyor: EmbeddedConveyor; stateDir: string };
  beforeAll(async () => {
    env.mosquitto = await OwnMosquitto.start();
    env.conveyor = await EmbeddedConveyor.open();
    await env.conveyor.current.vhost().declareQueue(queue, { dedupeWindowMs: 600_000 });
    env.stateDir = await mkdtemp(join(tmpdir(), 'bridge-state-'));
  });
  afterAll(async () => {
    await env.mosquitto?.stop();
    await env.conveyor?.dispose();
    if (env.stateDir) await rm(env.stateDir, { recursive: true, force: true });
  });
  return env;
}
