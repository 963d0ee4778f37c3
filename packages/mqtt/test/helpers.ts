import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Broker, type BrokerOptions } from '@conveyor/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { MqttServer, type MqttServerOptions } from '../src/index.js';

export interface Target {
  name: 'conveyor' | 'mosquitto';
  url: string;
  close(): Promise<void>;
}

export async function startConveyor(options: MqttServerOptions = {}, brokerOptions: BrokerOptions = {}) {
  const broker = await Broker.open(brokerOptions);
  const server = new MqttServer(broker, options);
  const { port } = await server.listen(0);
  return {
    broker,
    server,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await server.close();
      await broker.close();
    },
  };
}

export const MOSQUITTO_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export async function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 1883) });
    socket.setTimeout(1000);
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

/** A unique topic prefix, so tests never meet each other (the real Mosquitto is shared). */
export function prefix(): string {
  return `t-${randomBytes(5).toString('hex')}`;
}

export function uid(): string {
  return `c-${randomBytes(6).toString('hex')}`;
}

export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

export interface Received {
  topic: string;
  payload: string;
  packet: mqtt.IPublishPacket;
}

/** Collects messages; `next(n)` resolves once n have arrived. */
export function collect(client: MqttClient): {
  all: Received[];
  next(n: number, timeoutMs?: number): Promise<Received[]>;
} {
  const all: Received[] = [];
  const waiters: { n: number; resolve: (r: Received[]) => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    all.push({ topic, payload: payload.toString(), packet });
    for (const w of [...waiters])
      if (all.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(all.slice(0, w.n));
      }
  });
  return {
    all,
    next(n, timeoutMs = 5000) {
      if (all.length >= n) return Promise.resolve(all.slice(0, n));
      return new Promise((resolve, reject) => {
        waiters.push({ n, resolve });
        setTimeout(() => reject(new Error(`got ${all.length} of ${n} messages`)), timeoutMs).unref();
      });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Destroys the socket without DISCONNECT: the server must treat it as an abnormal close. */
export function kill(client: MqttClient): void {
  client.options.reconnectPeriod = 0;
  client.stream.destroy();
  client.end(true);
}

/** Connects with a collector attached before CONNECT (queued messages may come right after CONNACK). */
export function connectCollecting(url: string, options: IClientOptions = {}) {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const got = collect(client);
  const connack = new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, got, connack };
}
