import type { UserAccount } from '@conveyor/core';
// The settings module alone: every CLI command reads this file, and the MQTT server need not load for them.
import { MQTT_SETTING_RANGES, type MqttLimits } from '@conveyor/mqtt/settings';
import { StartError } from './errors.js';

/** Where the engine keeps its queues. */
export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'lmdb'; dataDir: string }
  /** A shared store by URL (`redis://…`): several nodes serve the same queues. */
  | { kind: 'shared'; url: string };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Everything `startBroker` needs; the CLI builds it from flags and `CONVEYOR_*` variables. */
export interface BrokerConfig {
  store: StoreConfig;
  /** Interface to bind every listener to. */
  bind: string;
  /** Port per listener name (`amqp`, `mqtt`, `mqtt-ws`, `http`); 0 = ephemeral, `false` = off. */
  ports: Record<string, number | false>;
  maxMessageBytes?: number;
  memoryHighWatermarkBytes?: number;
  /** Per protocol server (AMQP; MQTT TCP and WebSocket together): connections beyond it are closed at once. */
  maxConnections?: number;
  /** Shared store: ready messages in a queue past which publishers wait for their confirms. */
  queueDepthSoftLimit?: number;
  logLevel: LogLevel;
  /** Accounts the protocol servers accept; default theirs: `guest`/`guest` from loopback only, as RabbitMQ. */
  users?: BrokerUser[];
  /** A RabbitMQ definitions file, applied at every start (idempotent): checked already, applied after the store opened. */
  definitions?: { path: string; document: Record<string, unknown> };
  /** The config file's `bridges:` list, checked by @conveyor/bridge when the broker starts them. */
  bridges?: unknown[];
  mqtt?: MqttConfig;
  http?: HttpConfig;
  /** Certificate files of the TLS listeners (amqps, mqtts, mqtt-wss, https); none: no TLS listener. */
  tls?: TlsConfig;
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** CA certificates client certificates are verified against. */
  caFile?: string;
  /** A client certificate is required (mutual TLS): AMQP offers SASL EXTERNAL. */
  verifyClient: boolean;
  /** Which part of a client certificate is its user name. */
  identityFrom: 'cn' | 'san';
}

/** The `mqtt:` keys: the server's protocol limits as the MQTT package defines them, and who may connect. */
export interface MqttConfig extends MqttLimits {
  /** The user a CONNECT without a user name logs in as (its permissions apply); none: refused. */
  anonymousUser?: string;
  /** Origins a browser page may open MQTT over WebSocket from (`*` for any). */
  wsAllowedOrigins?: string[];
  /** Over mutual TLS, the client certificate's identity is the user name (no password). */
  identityAsUsername?: boolean;
}

export interface HttpConfig {
  /** Host names the management API answers to, beyond IP addresses and localhost. */
  allowedHosts?: string[];
}

/** An account of the protocol servers (the shape `AmqpServer` and `MqttServer` take). */
/** An account for AMQP, MQTT and the HTTP API (`vhosts`: the only ones it may open). */
export type BrokerUser = UserAccount;

/** The raw option values as commander (or the environment) gives them: strings or booleans. */
export interface RawStartOptions {
  dataDir?: string;
  memory?: boolean;
  store?: string;
  amqpPort?: string;
  mqttPort?: string;
  mqttWsPort?: string;
  httpPort?: string;
  bind?: string;
  maxConnections?: string;
  queueDepthSoftLimit?: string;
  maxMessageBytes?: string;
  memoryHighWatermark?: string;
  logLevel?: string;
  /** A YAML or JSON config file (lowest precedence after the defaults). */
  config?: string;
  /** A YAML or JSON users file. */
  users?: string;
  /** A RabbitMQ definitions JSON file applied at start. */
  definitions?: string;
  amqpsPort?: string;
  mqttsPort?: string;
  mqttWssPort?: string;
  httpsPort?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsVerifyClient?: boolean | string;
  tlsIdentityFrom?: string;
  mqttAnonymousUser?: string;
  mqttIdentityAsUsername?: boolean | string;
  /** Comma-separated. */
  mqttWsAllowedOrigins?: string;
  mqttKeepAliveMax?: string;
  mqttReceiveMaximum?: string;
  mqttTopicAliasMaximum?: string;
  mqttMaxPacketSize?: string;
  mqttRetainAvailable?: boolean | string;
  mqttQos0BufferBytes?: string;
  /** Comma-separated. */
  httpAllowedHosts?: string;
}

export const DEFAULT_DATA_DIR = './data';

function invalid(message: string): StartError {
  return new StartError('INVALID_OPTIONS', message);
}

/** A TCP port, `0` for an ephemeral one, or `off` to not start that listener. */
export function parsePort(value: string, flag: string): number | false {
  if (value === 'off') return false;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw invalid(`${flag} must be a port number (0-65535, 0 = any free port) or "off", got "${value}"`);
  return port;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A byte size such as `1048576`, `128MiB` or `2GB`. */
export function parseBytes(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || unit === undefined)
    throw invalid(`${flag} must be a byte size such as 1048576, 128MiB or 2GB, got "${value}"`);
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 1) throw invalid(`${flag} must be at least 1 byte, got "${value}"`);
  return bytes;
}

function parseStore(raw: RawStartOptions): StoreConfig {
  const chosen = [
    raw.memory ? '--memory' : undefined,
    raw.dataDir !== undefined ? '--data-dir' : undefined,
    raw.store !== undefined ? '--store' : undefined,
  ].filter((flag): flag is string => flag !== undefined);
  if (chosen.length > 1)
    throw invalid(
      `${chosen.join(' and ')} cannot be used together: pick one store (--data-dir DIR, --memory or --store URL)`,
    );
  if (raw.memory) return { kind: 'memory' };
  if (raw.store !== undefined) return { kind: 'shared', url: raw.store };
  return { kind: 'lmdb', dataDir: raw.dataDir ?? DEFAULT_DATA_DIR };
}

/** A positive whole number such as a connection limit. */
export function parseCount(value: string, flag: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1)
    throw invalid(`${flag} must be a positive whole number, got "${value}"`);
  return count;
}

/** Validates raw option values into a config; throws StartError('INVALID_OPTIONS') with a one-line message. */
export function resolveConfig(raw: RawStartOptions, users?: BrokerUser[]): BrokerConfig {
  const logLevel = (raw.logLevel ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw invalid(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${raw.logLevel}"`);
  const config: BrokerConfig = {
    store: parseStore(raw),
    bind: raw.bind ?? '0.0.0.0',
    ports: {
      amqp: parsePort(raw.amqpPort ?? '5672', '--amqp-port'),
      mqtt: parsePort(raw.mqttPort ?? '1883', '--mqtt-port'),
      'mqtt-ws': parsePort(raw.mqttWsPort ?? '15675', '--mqtt-ws-port'),
      http: parsePort(raw.httpPort ?? '15672', '--http-port'),
      amqps: parsePort(raw.amqpsPort ?? '5671', '--amqps-port'),
      mqtts: parsePort(raw.mqttsPort ?? '8883', '--mqtts-port'),
      'mqtt-wss': parsePort(raw.mqttWssPort ?? '15676', '--mqtt-wss-port'),
      https: parsePort(raw.httpsPort ?? '15671', '--https-port'),
    },
    logLevel,
  };
  if (users !== undefined) config.users = users;
  if (raw.maxConnections !== undefined)
    config.maxConnections = parseCount(raw.maxConnections, '--max-connections');
  if (raw.queueDepthSoftLimit !== undefined)
    config.queueDepthSoftLimit = parseCount(raw.queueDepthSoftLimit, '--queue-depth-soft-limit');
  if (raw.maxMessageBytes !== undefined)
    config.maxMessageBytes = parseBytes(raw.maxMessageBytes, '--max-message-bytes');
  if (raw.memoryHighWatermark !== undefined)
    config.memoryHighWatermarkBytes = parseBytes(raw.memoryHighWatermark, '--memory-high-watermark');
  const tls = parseTls(raw);
  if (tls) config.tls = tls;
  const mqtt: MqttConfig = {};
  if (raw.mqttAnonymousUser !== undefined) mqtt.anonymousUser = raw.mqttAnonymousUser;
  if (raw.mqttWsAllowedOrigins !== undefined) mqtt.wsAllowedOrigins = list(raw.mqttWsAllowedOrigins);
  if (raw.mqttIdentityAsUsername !== undefined) mqtt.identityAsUsername = truthy(raw.mqttIdentityAsUsername);
  Object.assign(mqtt, mqttLimits(raw));
  if (Object.keys(mqtt).length > 0) config.mqtt = mqtt;
  if (raw.httpAllowedHosts !== undefined) config.http = { allowedHosts: list(raw.httpAllowedHosts) };
  return config;
}

/** A whole number in [min, max], named by its config key and variable when it is not. */
function parseRange(
  value: string,
  option: keyof RawStartOptions,
  key: string,
  min: number,
  max: number,
): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max)
    throw invalid(
      `${key} (${ENV_VARS[option]}) must be a whole number from ${min} to ${max}, got "${value}"`,
    );
  return n;
}

/** The MQTT server's protocol limits (the MQTT package checks them again). */
function mqttLimits(raw: RawStartOptions): Partial<MqttConfig> {
  const out: Partial<MqttConfig> = {};
  const counts: [
    keyof RawStartOptions,
    string,
    'keepAliveMaxSeconds' | 'receiveMaximum' | 'topicAliasMaximum',
  ][] = [
    ['mqttKeepAliveMax', 'mqtt.keepAliveMax', 'keepAliveMaxSeconds'],
    ['mqttReceiveMaximum', 'mqtt.receiveMaximum', 'receiveMaximum'],
    ['mqttTopicAliasMaximum', 'mqtt.topicAliasMaximum', 'topicAliasMaximum'],
  ];
  for (const [option, key, setting] of counts) {
    const value = raw[option];
    const [min, max] = MQTT_SETTING_RANGES[setting];
    if (typeof value === 'string') out[setting] = parseRange(value, option, key, min, max);
  }
  if (raw.mqttRetainAvailable !== undefined) out.retainAvailable = truthy(raw.mqttRetainAvailable);
  const sizes: [
    'mqttMaxPacketSize' | 'mqttQos0BufferBytes',
    string,
    'maxPacketBytes' | 'qos0BufferBytes',
    string,
  ][] = [
    ['mqttMaxPacketSize', 'mqtt.maxPacketSize', 'maxPacketBytes', 'from 16 bytes to 256MiB'],
    ['mqttQos0BufferBytes', 'mqtt.qos0BufferBytes', 'qos0BufferBytes', 'at least 2MiB'],
  ];
  for (const [option, name, setting, range] of sizes) {
    const value = raw[option];
    if (value === undefined) continue;
    const key = `${name} (${ENV_VARS[option]})`;
    const bytes = parseBytes(value, key);
    const [min, max] = MQTT_SETTING_RANGES[setting];
    if (bytes < min || bytes > max) throw invalid(`${key} must be ${range}, got "${value}"`);
    out[setting] = bytes;
  }
  return out;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A boolean flag, or its environment twin (`1`, `true`). */
function truthy(value: boolean | string): boolean {
  return value === true || value === '1' || (typeof value === 'string' && value.toLowerCase() === 'true');
}

function parseTls(raw: RawStartOptions): TlsConfig | undefined {
  const { tlsCert, tlsKey } = raw;
  if (tlsCert === undefined && tlsKey === undefined) {
    if (raw.tlsCa !== undefined || raw.tlsVerifyClient !== undefined)
      throw invalid('--tls-ca and --tls-verify-client need --tls-cert FILE and --tls-key FILE');
    return undefined;
  }
  if (tlsCert === undefined || tlsKey === undefined)
    throw invalid('TLS needs both --tls-cert FILE and --tls-key FILE');
  const identityFrom = raw.tlsIdentityFrom ?? 'cn';
  if (identityFrom !== 'cn' && identityFrom !== 'san')
    throw invalid(`tls.identityFrom must be cn or san, got "${identityFrom}"`);
  return {
    certFile: tlsCert,
    keyFile: tlsKey,
    ...(raw.tlsCa === undefined ? {} : { caFile: raw.tlsCa }),
    verifyClient: raw.tlsVerifyClient === undefined ? false : truthy(raw.tlsVerifyClient),
    identityFrom,
  };
}

/** `CONVEYOR_DATA_DIR`, `CONVEYOR_AMQP_PORT`, … : the environment twin of every flag. */
export const ENV_VARS: Readonly<Record<keyof RawStartOptions, string>> = {
  dataDir: 'CONVEYOR_DATA_DIR',
  memory: 'CONVEYOR_MEMORY',
  store: 'CONVEYOR_STORE',
  amqpPort: 'CONVEYOR_AMQP_PORT',
  mqttPort: 'CONVEYOR_MQTT_PORT',
  mqttWsPort: 'CONVEYOR_MQTT_WS_PORT',
  httpPort: 'CONVEYOR_HTTP_PORT',
  bind: 'CONVEYOR_BIND',
  maxConnections: 'CONVEYOR_MAX_CONNECTIONS',
  queueDepthSoftLimit: 'CONVEYOR_QUEUE_DEPTH_SOFT_LIMIT',
  maxMessageBytes: 'CONVEYOR_MAX_MESSAGE_BYTES',
  memoryHighWatermark: 'CONVEYOR_MEMORY_HIGH_WATERMARK',
  logLevel: 'CONVEYOR_LOG_LEVEL',
  config: 'CONVEYOR_CONFIG',
  users: 'CONVEYOR_USERS',
  definitions: 'CONVEYOR_DEFINITIONS',
  amqpsPort: 'CONVEYOR_AMQPS_PORT',
  mqttsPort: 'CONVEYOR_MQTTS_PORT',
  mqttWssPort: 'CONVEYOR_MQTT_WSS_PORT',
  httpsPort: 'CONVEYOR_HTTPS_PORT',
  tlsCert: 'CONVEYOR_TLS_CERT',
  tlsKey: 'CONVEYOR_TLS_KEY',
  tlsCa: 'CONVEYOR_TLS_CA',
  tlsVerifyClient: 'CONVEYOR_TLS_VERIFY_CLIENT',
  tlsIdentityFrom: 'CONVEYOR_TLS_IDENTITY_FROM',
  mqttAnonymousUser: 'CONVEYOR_MQTT_ANONYMOUS_USER',
  mqttIdentityAsUsername: 'CONVEYOR_MQTT_IDENTITY_AS_USERNAME',
  mqttWsAllowedOrigins: 'CONVEYOR_MQTT_WS_ALLOWED_ORIGINS',
  mqttKeepAliveMax: 'CONVEYOR_MQTT_KEEP_ALIVE_MAX',
  mqttReceiveMaximum: 'CONVEYOR_MQTT_RECEIVE_MAXIMUM',
  mqttTopicAliasMaximum: 'CONVEYOR_MQTT_TOPIC_ALIAS_MAXIMUM',
  mqttMaxPacketSize: 'CONVEYOR_MQTT_MAX_PACKET_SIZE',
  mqttRetainAvailable: 'CONVEYOR_MQTT_RETAIN_AVAILABLE',
  mqttQos0BufferBytes: 'CONVEYOR_MQTT_QOS0_BUFFER_BYTES',
  httpAllowedHosts: 'CONVEYOR_HTTP_ALLOWED_HOSTS',
};
