import type { UserAccount } from '@conveyor/core';
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
  logLevel: LogLevel;
  /** Accounts the protocol servers accept; default theirs: `guest`/`guest` from loopback only, as RabbitMQ. */
  users?: BrokerUser[];
  /** The config file's `bridges:` list, checked by @conveyor/bridge when the broker starts them. */
  bridges?: unknown[];
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
  maxMessageBytes?: string;
  memoryHighWatermark?: string;
  logLevel?: string;
  /** A YAML or JSON config file (lowest precedence after the defaults). */
  config?: string;
  /** A YAML or JSON users file. */
  users?: string;
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
    },
    logLevel,
  };
  if (users !== undefined) config.users = users;
  if (raw.maxConnections !== undefined)
    config.maxConnections = parseCount(raw.maxConnections, '--max-connections');
  if (raw.maxMessageBytes !== undefined)
    config.maxMessageBytes = parseBytes(raw.maxMessageBytes, '--max-message-bytes');
  if (raw.memoryHighWatermark !== undefined)
    config.memoryHighWatermarkBytes = parseBytes(raw.memoryHighWatermark, '--memory-high-watermark');
  return config;
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
  maxMessageBytes: 'CONVEYOR_MAX_MESSAGE_BYTES',
  memoryHighWatermark: 'CONVEYOR_MEMORY_HIGH_WATERMARK',
  logLevel: 'CONVEYOR_LOG_LEVEL',
  config: 'CONVEYOR_CONFIG',
  users: 'CONVEYOR_USERS',
};
