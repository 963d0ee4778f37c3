import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmqpSink } from './amqp-sink.js';
import { AmqpSource } from './amqp-source.js';
import { Bridge } from './bridge.js';
import { ConveyorSink, ConveyorSource, type BrokerRef } from './conveyor-endpoint.js';
import type { SinkEndpoint, SourceEndpoint } from './endpoint.js';
import { BridgeError, describeError, redactUrl } from './errors.js';
import type { SubjectRewrite } from './message.js';
import { MqttSink } from './mqtt-sink.js';
import { MqttSource } from './mqtt-source.js';
import { requestReplyBridges } from './request-reply.js';

/** One side of a bridge as the config file has it. */
export interface EndpointConfig {
  /** `amqp://`, `amqps://`, `mqtt://`, `mqtts://`, `ws://`, `wss://`, or `conveyor:` (the embedded broker). */
  url: string;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  /** MQTT: topic filter (source) or fixed topic (sink). */
  topic?: string;
  /** MQTT source: the persistent session's client id. Default `conveyor-bridge-<name>`. */
  clientId?: string;
  /** MQTT: 4 (3.1.1) or 5. Default 5. */
  protocolVersion?: 4 | 5;
  /** Conveyor: the vhost. Default `/`. */
  vhost?: string;
  /** amqps, mqtts, wss: a PEM file of the CA certificates the server's certificate is verified against. */
  ca?: string;
}

export interface BridgeConfig {
  name: string;
  from: EndpointConfig;
  to: EndpointConfig;
  /** Messages in flight. Default 256. */
  window?: number;
  /** Subject rewrites, written in each side's own syntax: `{ from: 'sensors/#'… }` no: prefixes, `{ from: 'sensors', to: 'legacy.sensors' }`. */
  rewrite?: { from: string; to: string }[];
  /** Conveyor → AMQP only: rewrite reply-to to a bridge-owned RabbitMQ queue and route replies back. */
  requestReply?: { replyQueue?: string };
}

export interface BridgeContext {
  /** The embedded broker, for `conveyor:` endpoints. */
  broker?: BrokerRef;
  /** Where MQTT sources keep their message sequence (ids for messages that carry none). */
  stateDir?: string;
  /** Told of every connection loss and failed reconnect, with the bridge's name (for logs). */
  onError?: (err: Error, bridge: string) => void;
}

type Scheme = 'amqp' | 'mqtt' | 'conveyor';
const SCHEMES: Record<string, Scheme> = {
  'amqp:': 'amqp',
  'amqps:': 'amqp',
  'mqtt:': 'mqtt',
  'mqtts:': 'mqtt',
  'ws:': 'mqtt',
  'wss:': 'mqtt',
  'conveyor:': 'conveyor',
};

function invalid(message: string): BridgeError {
  return new BridgeError('INVALID_CONFIG', message);
}

function schemeOf(url: unknown, where: string): Scheme {
  if (typeof url !== 'string' || url === '') throw invalid(`${where}.url is missing`);
  const match = /^([a-z][a-z0-9+.-]*:)/i.exec(url);
  const scheme = match ? SCHEMES[match[1]!.toLowerCase()] : undefined;
  if (scheme === undefined)
    throw new BridgeError(
      'UNKNOWN_SCHEME',
      `${where}.url: unknown scheme '${match?.[1] ?? url}' (use amqp://, amqps://, mqtt://, mqtts://, ws://, wss:// or conveyor:)`,
    );
  return scheme;
}

const STRING_FIELDS = ['queue', 'exchange', 'routingKey', 'topic', 'clientId', 'vhost', 'ca'] as const;

function parseEndpoint(raw: unknown, where: string, side: 'from' | 'to'): EndpointConfig {
  if (raw === null || typeof raw !== 'object') throw invalid(`${where} must be a mapping with a url`);
  const record = raw as Record<string, unknown>;
  const scheme = schemeOf(record.url, where);
  const out: EndpointConfig = { url: record.url as string };
  for (const field of STRING_FIELDS) {
    const value = record[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw invalid(`${where}.${field} must be a string`);
    out[field] = value;
  }
  if (record.protocolVersion !== undefined) {
    if (record.protocolVersion !== 4 && record.protocolVersion !== 5)
      throw invalid(`${where}.protocolVersion must be 4 (MQTT 3.1.1) or 5`);
    out.protocolVersion = record.protocolVersion;
  }
  if (out.ca !== undefined && !/^(amqps|mqtts|wss):/i.test(out.url))
    throw invalid(`${where}.ca: only for amqps://, mqtts:// or wss:// urls`);
  if (scheme === 'mqtt' && side === 'from' && out.topic === undefined)
    throw invalid(`${where}: an mqtt source needs a topic (filter)`);
  if (scheme !== 'mqtt' && out.queue === undefined && out.exchange === undefined)
    throw invalid(`${where}: needs a queue or an exchange`);
  if (scheme !== 'mqtt' && out.queue !== undefined && out.exchange !== undefined)
    throw invalid(`${where}: give a queue or an exchange, not both`);
  return out;
}

/** Validates the `bridges:` section of a config file; throws a one-line BridgeError. */
export function parseBridgeConfigs(raw: unknown): BridgeConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('bridges must be a list');
  const names = new Set<string>();
  return raw.map((item: unknown, i): BridgeConfig => {
    if (item === null || typeof item !== 'object') throw invalid(`bridges[${i}] must be a mapping`);
    const record = item as Record<string, unknown>;
    const name = record.name;
    if (typeof name !== 'string' || !/^[\w.-]+$/.test(name))
      throw invalid(`bridges[${i}].name must be a word (letters, digits, '.', '-', '_')`);
    if (names.has(name)) throw invalid(`bridges[${i}].name '${name}' is used twice`);
    names.add(name);
    const where = `bridge '${name}'`;
    const config: BridgeConfig = {
      name,
      from: parseEndpoint(record.from, `${where} from`, 'from'),
      to: parseEndpoint(record.to, `${where} to`, 'to'),
    };
    if (record.window !== undefined) {
      if (!Number.isInteger(record.window) || (record.window as number) < 1)
        throw invalid(`${where}: window must be a positive integer`);
      config.window = record.window as number;
    }
    if (record.rewrite !== undefined) {
      if (!Array.isArray(record.rewrite)) throw invalid(`${where}: rewrite must be a list of { from, to }`);
      config.rewrite = record.rewrite.map((r: unknown) => {
        const rule = r as Record<string, unknown> | null;
        if (typeof rule?.from !== 'string' || typeof rule.to !== 'string')
          throw invalid(`${where}: each rewrite needs a from and a to (strings)`);
        return { from: rule.from, to: rule.to };
      });
    }
    if (record.requestReply !== undefined) {
      if (
        schemeOf(config.from.url, where) !== 'conveyor' ||
        schemeOf(config.to.url, where) !== 'amqp' ||
        config.to.queue === undefined
      )
        throw invalid(`${where}: requestReply needs a conveyor source and an amqp queue as sink`);
      const rr = (record.requestReply ?? {}) as Record<string, unknown>;
      config.requestReply = typeof rr.replyQueue === 'string' ? { replyQueue: rr.replyQueue } : {};
    }
    return config;
  });
}

function words(text: string, scheme: Scheme): string[] {
  return text === '' ? [] : text.split(scheme === 'mqtt' ? '/' : '.');
}

function brokerOf(context: BridgeContext, where: string): BrokerRef {
  if (context.broker === undefined)
    throw invalid(
      `${where}: a conveyor: endpoint needs the embedded broker (run it inside 'conveyor start', or give the bridge command a --data-dir)`,
    );
  return context.broker;
}

function conveyorTarget(e: EndpointConfig, broker: BrokerRef, ownQueue: string) {
  return {
    broker,
    ownQueue,
    ...(e.vhost === undefined ? {} : { vhost: e.vhost }),
    ...(e.queue === undefined ? {} : { queue: e.queue }),
    ...(e.exchange === undefined ? {} : { exchange: e.exchange }),
    ...(e.routingKey === undefined ? {} : { routingKey: e.routingKey }),
  };
}

function createSource(c: BridgeConfig, context: BridgeContext): SourceEndpoint {
  const e = c.from;
  const ownQueue = `conveyor-bridge.${c.name}`;
  switch (schemeOf(e.url, c.name)) {
    case 'amqp':
      return new AmqpSource({
        url: e.url,
        ownQueue,
        ...caOf(e),
        ...pick(e, 'queue', 'exchange', 'routingKey'),
      });
    case 'mqtt': {
      const clientId = e.clientId ?? `conveyor-bridge-${c.name}`;
      return new MqttSource({
        url: e.url,
        ...caOf(e),
        topic: e.topic!,
        clientId,
        receiveMaximum: c.window ?? 256,
        ...(e.protocolVersion === undefined ? {} : { protocolVersion: e.protocolVersion }),
        ...(context.stateDir === undefined
          ? {}
          : { stateFile: join(context.stateDir, `${clientId}.mqtt-sequence.json`) }),
      });
    }
    case 'conveyor':
      return new ConveyorSource(conveyorTarget(e, brokerOf(context, `bridge '${c.name}' from`), ownQueue));
  }
}

function createSink(c: BridgeConfig, context: BridgeContext): SinkEndpoint {
  const e = c.to;
  switch (schemeOf(e.url, c.name)) {
    case 'amqp':
      return new AmqpSink({ url: e.url, ...caOf(e), ...pick(e, 'queue', 'exchange', 'routingKey') });
    case 'mqtt':
      return new MqttSink({ url: e.url, ...caOf(e), ...pick(e, 'topic', 'clientId', 'protocolVersion') });
    case 'conveyor':
      return new ConveyorSink(conveyorTarget(e, brokerOf(context, `bridge '${c.name}' to`), ''));
  }
}

/** The endpoint's CA file, read when the bridge is made (a missing file fails the start, with its name). */
function caOf(e: EndpointConfig): { ca?: Buffer } {
  if (e.ca === undefined) return {};
  try {
    return { ca: readFileSync(e.ca) };
  } catch (err) {
    throw new BridgeError(
      'INVALID_CONFIG',
      `${redactUrl(e.url)}: cannot read the CA file ${e.ca}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
}

function pick<K extends keyof EndpointConfig>(e: EndpointConfig, ...keys: K[]): Pick<EndpointConfig, K> {
  const out: Partial<EndpointConfig> = {};
  for (const key of keys) if (e[key] !== undefined) (out as Record<string, unknown>)[key] = e[key];
  return out as Pick<EndpointConfig, K>;
}

/** Builds the bridges of a parsed config (a request/reply bridge is two: requests and replies). */
export function createBridges(configs: readonly BridgeConfig[], context: BridgeContext = {}): Bridge[] {
  const bridges: Bridge[] = [];
  for (const c of configs) {
    const common = {
      ...(c.window === undefined ? {} : { window: c.window }),
      ...(context.onError === undefined ? {} : { onError: (err: Error) => context.onError?.(err, c.name) }),
    };
    if (c.requestReply !== undefined) {
      bridges.push(
        ...requestReplyBridges({
          ...common,
          name: c.name,
          broker: brokerOf(context, `bridge '${c.name}' from`),
          requestQueue: c.from.queue!,
          amqpUrl: c.to.url,
          amqpQueue: c.to.queue!,
          ...(c.from.vhost === undefined ? {} : { vhost: c.from.vhost }),
          ...(c.requestReply.replyQueue === undefined ? {} : { replyQueue: c.requestReply.replyQueue }),
        }),
      );
      continue;
    }
    const fromScheme = schemeOf(c.from.url, c.name);
    const toScheme = schemeOf(c.to.url, c.name);
    const rewrite: SubjectRewrite[] = (c.rewrite ?? []).map((r) => ({
      from: words(r.from, fromScheme),
      to: words(r.to, toScheme),
    }));
    bridges.push(
      new Bridge({
        ...common,
        name: c.name,
        source: createSource(c, context),
        sink: createSink(c, context),
        rewrite,
      }),
    );
  }
  return bridges;
}

/** Starts every bridge; if one fails to start, the started ones are stopped and its error thrown. */
export async function startBridges(bridges: readonly Bridge[]): Promise<void> {
  const started: Bridge[] = [];
  try {
    for (const bridge of bridges) {
      await bridge.start();
      started.push(bridge);
    }
  } catch (err) {
    await Promise.all(started.map((b) => b.stop()));
    throw err;
  }
}
